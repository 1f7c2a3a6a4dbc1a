"""The layer cache: dependency layers kept on disk, keyed by what they were built from.

A dependency layer (pip's or npm's output) depends only on its inputs: the requirements or lock file, the runtime
version, the platform and the installer's settings. The buildpacks hash those into a key; a cache hit returns the
stored layer without running pip or npm at all, which is what makes a warm build fast and, because the layer bytes
are the same, keeps the image digest the same.

Layout: `<cache_dir>/layers/<key>/layer.tar.gz` plus `meta.json` (digest, diff_id, size, created_by and the
buildpack's extra data such as SBOM components). An entry is written in a temporary directory and renamed into
place, so a crash leaves either a complete entry or none; the layer's digest is checked when it is read back, so a
damaged entry is rebuilt rather than used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ferry.build.layers import Layer
from ferry.registry.oci import canonical_json

__all__ = ["LayerCache", "cache_key"]


def cache_key(inputs: dict[str, Any]) -> str:
    """A stable key for these inputs (sha256 of their canonical JSON)."""
    return hashlib.sha256(canonical_json(inputs)).hexdigest()


class LayerCache:
    def __init__(self, root: Path) -> None:
        self.root = root / "layers"

    def get(self, key: str) -> tuple[Layer, dict[str, Any]] | None:
        entry = self.root / key
        try:
            meta = json.loads((entry / "meta.json").read_text())
            blob = entry / "layer.tar.gz"
            digest = "sha256:" + _sha256_file(blob)
        except (OSError, ValueError):
            return None
        if digest != meta.get("digest"):
            return None
        layer = Layer(digest, meta["diff_id"], int(meta["size"]), blob, str(meta["created_by"]))
        return layer, dict(meta.get("extra") or {})

    def put(self, key: str, layer: Layer, extra: dict[str, Any]) -> Layer:
        """Store `layer` (its blob must be bytes); returns the same layer with the cached file as its blob."""
        assert isinstance(layer.blob, bytes)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.", dir=self.root))
        try:
            (tmp / "layer.tar.gz").write_bytes(layer.blob)
            meta = {
                "digest": layer.digest,
                "diff_id": layer.diff_id,
                "size": layer.size,
                "created_by": layer.created_by,
                "extra": extra,
            }
            (tmp / "meta.json").write_bytes(canonical_json(meta))
            target = self.root / key
            try:
                os.rename(tmp, target)
            except OSError:  # another build stored it first, or a damaged entry is in the way
                shutil.rmtree(target, ignore_errors=True)
                os.rename(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return Layer(
            layer.digest, layer.diff_id, layer.size, self.root / key / "layer.tar.gz", layer.created_by
        )


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
