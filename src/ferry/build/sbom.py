"""The SBOM: a CycloneDX 1.5 JSON document listing what the image installed, attached as an OCI artifact.

Components come from what was actually installed, not from what was asked for: the `*.dist-info/METADATA` files
pip wrote (Python), and the `packages` of `package-lock.json` minus dev dependencies (Node.js), each with name,
version and package URL (`pkg:pypi/<normalised name>@<version>`, `pkg:npm/<name>@<version>`).

Deterministic: components sorted by purl; no wall-clock timestamp (metadata.timestamp is the commit time of the
request) and a serialNumber derived from the image digest, so the same image always has the same SBOM digest.

Attached with the image-spec 1.1 artifact layout that the referrers API indexes: a manifest with
`artifactType: application/vnd.cyclonedx+json`, the empty config descriptor (`application/vnd.oci.empty.v1+json`,
blob `{}`), one layer holding the SBOM, and `subject` pointing at the image manifest.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ferry import __version__
from ferry.build.model import BlobSource
from ferry.registry.oci import (
    ARTIFACT_SBOM_CYCLONEDX,
    EMPTY_CONFIG,
    EMPTY_JSON,
    Descriptor,
    Manifest,
    canonical_json,
)

__all__ = [
    "Component",
    "components_from_dist_info",
    "components_from_package_lock",
    "cyclonedx",
    "sbom_artifact",
]


@dataclass(frozen=True, order=True)
class Component:
    purl: str
    name: str
    version: str


def pypi_component(name: str, version: str) -> Component:
    normal = re.sub(r"[-_.]+", "-", name).lower()
    return Component(f"pkg:pypi/{normal}@{quote(version, safe='')}", name, version)


def npm_component(name: str, version: str) -> Component:
    encoded = quote(name, safe="/")  # "@scope/name" -> "%40scope/name"
    return Component(f"pkg:npm/{encoded}@{quote(version, safe='')}", name, version)


def metadata_component(text: str) -> Component | None:
    """The component of one dist-info METADATA file (None when it lacks a name or version)."""
    headers = HeaderParser().parsestr(text, headersonly=True)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        return None
    return pypi_component(str(name).strip(), str(version).strip())


def components_from_dist_info(site: Path) -> list[Component]:
    """Every distribution installed in `site` (a pip --target directory)."""
    out = []
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        comp = metadata_component(meta.read_text(encoding="utf-8", errors="replace"))
        if comp is not None:
            out.append(comp)
    return out


def components_from_package_lock(lock: dict[str, Any]) -> list[Component]:
    """The production packages of a package-lock.json (lockfileVersion 2 or 3; v1 `dependencies` as fallback)."""
    out: set[Component] = set()
    packages = lock.get("packages")
    if isinstance(packages, dict):
        for key, info in packages.items():
            if not key or not isinstance(info, dict) or info.get("dev") or "node_modules/" not in key:
                continue
            name = info.get("name") or key.rsplit("node_modules/", 1)[1]
            version = info.get("version")
            if isinstance(version, str) and not info.get("link"):
                out.add(npm_component(str(name), version))
            elif info.get("link") and isinstance(info.get("resolved"), str):
                target = packages.get(info["resolved"], {})
                if isinstance(target, dict) and isinstance(target.get("version"), str):
                    out.add(npm_component(str(name), target["version"]))
    else:
        for name, info in (lock.get("dependencies") or {}).items():
            if isinstance(info, dict) and not info.get("dev") and isinstance(info.get("version"), str):
                out.add(npm_component(name, info["version"]))
    return sorted(out)


def cyclonedx(
    components: list[Component], *, image_digest: str, name: str, version: str, created: str
) -> bytes:
    """The CycloneDX 1.5 JSON document (canonical JSON bytes)."""
    hex_digest = image_digest.partition(":")[2]
    serial = uuid.UUID(bytes=bytes.fromhex(hex_digest[:32]), version=4) if hex_digest else uuid.UUID(int=0)
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": created,
            "tools": {"components": [{"type": "application", "name": "ferry", "version": __version__}]},
            "component": {
                "type": "container",
                "bom-ref": image_digest,
                "name": name,
                "version": version,
                "hashes": [{"alg": "SHA-256", "content": hex_digest}],
            },
        },
        "components": [
            {"type": "library", "bom-ref": c.purl, "name": c.name, "version": c.version, "purl": c.purl}
            for c in sorted(set(components))
        ],
    }
    return canonical_json(doc)


def sbom_artifact(sbom: bytes, subject: Manifest, *, created: str) -> tuple[Manifest, dict[str, BlobSource]]:
    """The artifact manifest that attaches `sbom` to `subject`, and its blobs."""
    empty = Descriptor.of(EMPTY_CONFIG, EMPTY_JSON)
    layer = Descriptor.of(ARTIFACT_SBOM_CYCLONEDX, sbom)
    manifest = Manifest.build(
        empty,
        [layer],
        subject=subject.descriptor(),
        artifact_type=ARTIFACT_SBOM_CYCLONEDX,
        annotations={"org.opencontainers.image.created": created},
    )
    return manifest, {empty.digest: EMPTY_JSON, layer.digest: sbom}


def parse_sbom(data: bytes) -> dict[str, Any]:
    """The SBOM document (for tests and `ferry build --output-format json`)."""
    doc: dict[str, Any] = json.loads(data)
    return doc
