"""The node's image store: pull an image from an OCI registry, verify it, unpack it into a root filesystem.

What a kubelet's container runtime does before it can start a container, for the process runtime of the next
issue (``ferry cluster up`` without ``--runtime sim``):

1. **Resolve** ``image`` (``registry/repo:tag`` or ``...@sha256:...``, kubelet's parsing: Docker Hub when no
   registry is named) to a manifest digest. An index (multi-platform image) is resolved to this node's
   ``linux/<arch>`` entry, as containerd does.
2. **Fetch** the config and layer blobs into a content-addressed cache (``blobs/sha256/<hex>``). The client
   verifies every blob against its digest while it streams; a blob already in the cache is re-hashed before it
   is trusted, so a corrupted cache is healed, not used.
3. **Unpack** the layers in order (``layers.apply_layer``: whiteouts, opaque directories, traversal refused)
   into ``rootfs/<manifest hex>/``. The root is built in a temporary directory and renamed into place when
   complete, so a crash mid-unpack never leaves a half root that looks finished; an image is unpacked once and
   shared read-only by every container that uses it.
4. Return a ``PulledImage``: the manifest digest (what kubelet reports as ``imageID``), the parsed image config
   (entrypoint, cmd, env, working dir, user, labels) and the root.

Pulls of the same image are serialised (one lock per reference), different images proceed in parallel.
Errors are ``ImagePullError`` with kubelet's wording (``failed to pull and unpack image "<image>": <cause>``),
which the runtime turns into ``ErrImagePull``/``ImagePullBackOff``.

Host-base images (label ``dev.ferry.image.base=host``, built by ``ferry.build`` for the embedded default) carry
only the application's layers; the runtime bind-mounts the host's runtime read-only. Nothing here differs for
them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.cluster.kubelet.layers import LayerError, apply_layer
from ferry.registry.client import RegistryClient, RegistryError
from ferry.registry.oci import Manifest, OciError, Reference, parse_digest, parse_reference

__all__ = ["ImagePullError", "ImageStore", "PulledImage", "node_architecture"]

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}
HOST_BASE_LABEL = "dev.ferry.image.base"


def node_architecture() -> str:
    machine = platform.machine()
    return _ARCH.get(machine, machine)


class ImagePullError(Exception):
    """The image could not be pulled or unpacked; ``str()`` is kubelet's one-line message."""


@dataclass(frozen=True)
class PulledImage:
    image: str  # as the pod spec says it
    reference: Reference
    digest: str  # the manifest digest: kubelet's imageID is <repository>@<digest>
    config: dict[str, Any]
    rootfs: Path
    layers: tuple[str, ...] = field(default=())  # layer digests, bottom first

    @property
    def image_id(self) -> str:
        return f"{self.reference.registry}/{self.reference.repository}@{self.digest}"

    def _cfg(self) -> dict[str, Any]:
        value = self.config.get("config")
        return value if isinstance(value, dict) else {}

    @property
    def entrypoint(self) -> list[str]:
        return list(self._cfg().get("Entrypoint") or [])

    @property
    def cmd(self) -> list[str]:
        return list(self._cfg().get("Cmd") or [])

    @property
    def env(self) -> list[str]:
        return list(self._cfg().get("Env") or [])

    @property
    def working_dir(self) -> str:
        return str(self._cfg().get("WorkingDir") or "/")

    @property
    def user(self) -> str:
        return str(self._cfg().get("User") or "")

    @property
    def labels(self) -> dict[str, str]:
        return dict(self._cfg().get("Labels") or {})

    @property
    def host_base(self) -> bool:
        return self.labels.get(HOST_BASE_LABEL) == "host"


ClientFactory = Callable[[str], RegistryClient]


class ImageStore:
    """Images of one node, under ``root`` (``blobs/``, ``rootfs/``, ``tmp/``)."""

    def __init__(self, root: Path, client_factory: ClientFactory, *, architecture: str | None = None) -> None:
        self.root = root
        self.client_factory = client_factory
        self.architecture = architecture or node_architecture()
        self._locks: dict[str, asyncio.Lock] = {}
        for sub in ("blobs/sha256", "rootfs", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def _blob(self, digest: str) -> Path:
        algorithm, hexpart = parse_digest(digest)
        return self.root / "blobs" / algorithm / hexpart

    async def pull(self, image: str) -> PulledImage:
        """Resolve, fetch and unpack ``image`` (see the module docstring); idempotent."""
        try:
            ref = parse_reference(image)
        except OciError as e:
            raise ImagePullError(f'failed to pull and unpack image "{image}": {e}') from None
        lock = self._locks.setdefault(str(ref), asyncio.Lock())
        async with lock:
            try:
                async with self.client_factory(ref.registry) as client:
                    manifest = await self._resolve(client, ref)
                    assert manifest.config is not None  # _resolve checked
                    for blob in (manifest.config, *manifest.layers):
                        await self._fetch(client, ref, blob.digest)
                config = json.loads(self._blob(manifest.config.digest).read_bytes())
                if not isinstance(config, dict):
                    raise ValueError("the image config is not a JSON object")
            except (RegistryError, OciError, OSError, ValueError) as e:
                raise ImagePullError(f'failed to pull and unpack image "{image}": {e}') from None
            rootfs = await asyncio.to_thread(self._unpack, image, manifest)
            return PulledImage(
                image=image,
                reference=ref,
                digest=manifest.digest,
                config=config,
                rootfs=rootfs,
                layers=tuple(d.digest for d in manifest.layers),
            )

    async def _resolve(self, client: RegistryClient, ref: Reference) -> Manifest:
        manifest = await client.get_manifest(ref.repository, ref.identifier)
        if manifest.is_index:
            want = ("linux", self.architecture)
            for child in manifest.manifests:
                p = child.platform or {}
                if (p.get("os"), p.get("architecture")) == want:
                    manifest = await client.get_manifest(ref.repository, child.digest)
                    break
            else:
                raise ValueError(f"no matching manifest for linux/{self.architecture} in the manifest list")
        if manifest.config is None:
            raise ValueError(f"manifest {manifest.digest} has no config")
        return manifest

    async def _fetch(self, client: RegistryClient, ref: Reference, digest: str) -> Path:
        """The blob in the cache, verified (a cached copy is re-hashed before it is trusted)."""
        path = self._blob(digest)
        if path.exists() and await asyncio.to_thread(_file_digest, path, digest) == digest:
            return path
        path.unlink(missing_ok=True)
        # Two images sharing a layer may fetch it at once (the locks are per image): each into its own file.
        tmp = self.root / "tmp" / f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
        await client.pull_blob(ref.repository, digest, tmp)  # streamed and verified by the client
        os.replace(tmp, path)
        return path

    def _unpack(self, image: str, manifest: Manifest) -> Path:
        _, hexpart = parse_digest(manifest.digest)
        final = self.root / "rootfs" / hexpart
        if final.is_dir():
            return final
        work = self.root / "tmp" / f"rootfs-{hexpart}-{os.getpid()}-{secrets.token_hex(4)}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            for layer in manifest.layers:
                apply_layer(work, self._blob(layer.digest), label=layer.digest)
        except LayerError as e:
            shutil.rmtree(work, ignore_errors=True)
            raise ImagePullError(f'failed to pull and unpack image "{image}": {e}') from None
        try:
            os.replace(work, final)
        except OSError:  # another pull of the same manifest (by another reference) finished first
            shutil.rmtree(work, ignore_errors=True)
            if not final.is_dir():
                raise
        return final

    def remove(self, digest: str) -> None:
        """Forget an unpacked image (its blobs stay until a garbage collection)."""
        _, hexpart = parse_digest(digest)
        shutil.rmtree(self.root / "rootfs" / hexpart, ignore_errors=True)


def _file_digest(path: Path, digest: str) -> str:
    algorithm, _ = parse_digest(digest)
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return f"{algorithm}:{h.hexdigest()}"
