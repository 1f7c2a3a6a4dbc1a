"""`write_oci_layout`: an image on disk in the OCI image layout, the format of skopeo's `oci:` transport.

    <dest>/oci-layout          {"imageLayoutVersion": "1.0.0"}
    <dest>/index.json          the manifests, the image tagged with `org.opencontainers.image.ref.name`
    <dest>/blobs/sha256/<hex>  every blob, manifests included

Writing into an existing layout adds to it: blobs are shared, and an index entry with the same tag is replaced
(as `skopeo copy` does). The SBOM artifact manifest is listed too, without a tag, as image-spec 1.1 allows for
referrers. Crash safety: blobs are written to a temporary name and renamed, and index.json is replaced last and
atomically, so an interrupted write leaves the previous layout as it was (plus some unreferenced blobs at most).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ferry.build.errors import BuildError
from ferry.build.model import BlobSource, BuiltImage
from ferry.registry.oci import OCI_INDEX, canonical_json, valid_tag

__all__ = ["REF_NAME", "write_oci_layout"]

REF_NAME = "org.opencontainers.image.ref.name"


def _write_atomic(path: Path, data: BlobSource) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:16]}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, bytes):
                out.write(data)
            else:
                with data.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_index(dest: Path) -> dict[str, Any]:
    path = dest / "index.json"
    if not path.exists():
        return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        raise BuildError(f"{path} is not valid JSON: not overwriting an existing layout") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
        raise BuildError(f"{path} is not an OCI image index: not overwriting it")
    return doc


def write_oci_layout(image: BuiltImage, dest: Path, *, tag: str) -> None:
    """Write `image` into the OCI layout directory `dest` under `tag` (creating the layout if needed)."""
    if not valid_tag(tag):
        raise BuildError(f"invalid tag {tag!r}: letters, digits, '_', '.', '-' only, at most 128 characters")
    if dest.exists() and not dest.is_dir():
        raise BuildError(f"{dest} exists and is not a directory")
    layout_file = dest / "oci-layout"
    if dest.is_dir() and any(dest.iterdir()) and not layout_file.is_file():
        raise BuildError(f"{dest} is a non-empty directory that is not an OCI layout")
    index = _read_index(dest)
    blob_dir = dest / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    blobs: dict[str, BlobSource] = dict(image.blobs)
    blobs[image.manifest.digest] = image.manifest.raw
    if image.sbom is not None:
        sbom_manifest, sbom_blobs = image.sbom
        blobs.update(sbom_blobs)
        blobs[sbom_manifest.digest] = sbom_manifest.raw
    for digest, data in sorted(blobs.items(), key=lambda kv: kv[0]):
        algorithm, _, hex_digest = digest.partition(":")
        path = dest / "blobs" / algorithm / hex_digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, data)
    if not layout_file.is_file():
        _write_atomic(layout_file, canonical_json({"imageLayoutVersion": "1.0.0"}))
    ours = {image.manifest.digest, image.sbom[0].digest if image.sbom else ""}

    def keep(entry: dict[str, Any]) -> bool:
        ref = (entry.get("annotations") or {}).get(REF_NAME)
        if ref is not None:
            return bool(ref != tag)  # other tags stay, even on the same image
        return entry.get("digest") not in ours  # untagged entries of this image are re-added below

    entries = [m for m in index["manifests"] if keep(m)]
    entries.append(image.manifest.descriptor(annotations={REF_NAME: tag}).to_json())
    if image.sbom is not None:
        entries.append(image.sbom[0].descriptor(artifact_type=image.sbom[0].artifact_type).to_json())
    index["manifests"] = entries
    _write_atomic(dest / "index.json", canonical_json(index))
