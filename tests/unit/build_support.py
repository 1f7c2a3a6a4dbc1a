"""Helpers for the builder's tests: build contexts on disk, a hand-made wheel, a fake registry client.

The wheel is written with the zipfile module (fixed timestamps), so the Python buildpack can be exercised with
`pip --no-index --find-links` and no network. `FakeBaseRegistry` implements the two calls the builder makes
(`get_manifest`, `pull_blob`) and records them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.build import BuildRequest
from ferry.registry.oci import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST_V2,
    OCI_INDEX,
    Manifest,
    OciError,
    canonical_json,
    digest_of,
)

REVISION = "0123456789abcdef0123456789abcdef01234567"
CREATED = "2026-01-31T12:00:00Z"


def request(context: Path, **kwargs: Any) -> BuildRequest:
    values: dict[str, Any] = {
        "context": context,
        "version": "1.2.3",
        "revision": REVISION,
        "created": CREATED,
        "source": "https://example.com/shop.git",
    }
    values.update(kwargs)
    return BuildRequest(**values)


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def touch_all(root: Path, mtime: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(Path(dirpath) / name, (mtime, mtime), follow_symlinks=False)


def make_wheel(dest: Path, name: str = "tinypkg", version: str = "1.0", *, script: bool = True) -> Path:
    """A pure-Python wheel with one module (and a console script), deterministic bytes."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"def hello() -> int:\n    print('hello from {name}')\n    return 0\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: ferry-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if script:
        files[f"{dist}/entry_points.txt"] = f"[console_scripts]\n{name}-hello = {name}:hello\n"
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            zf.writestr(info, text)
    return wheel


def tar_members(blob: bytes | Path) -> dict[str, tarfile.TarInfo]:
    data = blob.read_bytes() if isinstance(blob, Path) else blob
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def tar_file(blob: bytes | Path, name: str) -> bytes:
    data = blob.read_bytes() if isinstance(blob, Path) else blob
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()


def blob_bytes(blob: bytes | Path) -> bytes:
    return blob.read_bytes() if isinstance(blob, Path) else blob


class FakeNotFound(OciError):
    pass


FakeNotFound.__name__ = "NotFound"


@dataclass
class FakeBaseRegistry:
    """A registry holding one Docker-schema image (optionally behind an index) for `FROM <image>` tests."""

    repo: str = "library/python"
    tag: str = "3.11-slim"
    with_index: bool = True
    calls: list[tuple[str, str]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)
    closed: int = 0

    def __post_init__(self) -> None:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            data = b"#!/bin/sh\necho base\n"
            info = tarfile.TarInfo("usr/local/bin/base")
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
        import gzip

        layer = gzip.compress(raw.getvalue(), mtime=0)
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"], "Cmd": ["python3"]},
            "rootfs": {"type": "layers", "diff_ids": [digest_of(raw.getvalue())]},
            "history": [{"created_by": "base layer"}],
        }
        config_bytes = canonical_json(config)
        self.blobs = {digest_of(layer): layer, digest_of(config_bytes): config_bytes}
        manifest = canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST_V2,
                "config": {
                    "mediaType": DOCKER_CONFIG,
                    "digest": digest_of(config_bytes),
                    "size": len(config_bytes),
                },
                "layers": [{"mediaType": DOCKER_LAYER_GZIP, "digest": digest_of(layer), "size": len(layer)}],
            }
        )
        self.image_digest = digest_of(manifest)
        self.layer_digest = digest_of(layer)
        self.manifests[self.image_digest] = manifest
        top = manifest
        if self.with_index:
            entries = [
                {"mediaType": DOCKER_MANIFEST_V2, "digest": digest_of(b"arm"), "size": 3,
                 "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"mediaType": DOCKER_MANIFEST_V2, "digest": self.image_digest, "size": len(manifest),
                 "platform": {"os": "linux", "architecture": "amd64"}},
            ]  # fmt: skip
            top = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        self.manifests[self.tag] = top

    async def get_manifest(self, repo: str, reference: str) -> Manifest:
        self.calls.append(("get_manifest", reference))
        if repo != self.repo or reference not in self.manifests:
            raise FakeNotFound(f"manifest {repo}:{reference} not found")
        return Manifest.parse(self.manifests[reference])

    async def pull_blob(self, repo: str, digest: str, dest: Path | None = None) -> bytes | None:
        self.calls.append(("pull_blob", digest))
        data = self.blobs[digest]
        if dest is not None:
            dest.write_bytes(data)
            return None
        return data

    async def close(self) -> None:
        self.closed += 1


def config_of(image: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(image.config)
    return doc
