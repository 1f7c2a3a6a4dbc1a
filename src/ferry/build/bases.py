"""Where an image starts: `scratch`, the host base, or an image pulled from a registry.

- `scratch`: an empty rootfs and an empty config.
- the **host base** (`FROM host`, `FROM host:python3.11`, `FROM host:node20`, and what the buildpacks use): an
  empty rootfs whose config says which runtime it expects, with the labels `dev.ferry.image.base=host` and
  `dev.ferry.image.runtime=<runtime>` and a PATH covering the usual places of a host's python3/node. ferry's
  kubelet bind-mounts the host's runtime read-only into such containers; any other OCI runtime needs a real base
  (`FROM python:3.11-slim`). `FROM host` without a runtime picks node20 when the context has a package.json,
  else python3.11.
- a **registry image** (`FROM python:3.11-slim`, `FROM 127.0.0.1:5000/base/app@sha256:...`): its manifest is
  fetched (an index is resolved to the target platform), then its config and layers. The layers are reused as
  they are, by digest: nothing is unpacked or recompressed, so the image shares them with the base in every
  registry. With a `cache_dir`, layers are kept in `<cache_dir>/blobs/sha256/` and not fetched again.

The registry client is reached through `BaseRegistryClient`, the part of `ferry.registry.client.RegistryClient`
the builder needs, so tests can give a fake. The base is pinned: `BuiltImage.base` names it with its digest.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ferry.build.config import ImageConfig
from ferry.build.errors import BuildError
from ferry.build.model import BlobSource
from ferry.registry.oci import (
    DOCKER_LAYER_GZIP,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    Descriptor,
    InvalidReference,
    Manifest,
    OciError,
    parse_reference,
)

__all__ = ["HOST_PATH", "HOST_RUNTIMES", "Base", "BaseRegistryClient", "host_base", "resolve_base"]

HOST_RUNTIMES = ("python3.11", "node20")
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
_LAYER_TYPES = {DOCKER_LAYER_GZIP: OCI_LAYER_GZIP, _DOCKER_LAYER_TAR: OCI_LAYER}


class BaseRegistryClient(Protocol):
    """What the builder needs from a registry client (a subset of `ferry.registry.client.RegistryClient`)."""

    async def get_manifest(self, repo: str, reference: str) -> Manifest: ...

    async def pull_blob(self, repo: str, digest: str, dest: Path | None = None) -> bytes | None: ...

    async def close(self) -> None: ...


@dataclass
class Base:
    """The resolved base: its config (a copy to build on), its layers and their blobs."""

    name: str
    config: ImageConfig
    layers: list[Descriptor] = field(default_factory=list)
    blobs: dict[str, BlobSource] = field(default_factory=dict)
    runtime: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)


def host_base(runtime: str, platform: str) -> Base:
    config = ImageConfig.for_platform(platform)
    config.set_env("PATH", HOST_PATH)
    config.labels["dev.ferry.image.base"] = "host"
    config.labels["dev.ferry.image.runtime"] = runtime
    return Base(name=f"host:{runtime}", config=config, runtime=runtime)


async def resolve_base(
    name: str,
    *,
    platform: str,
    context: Path,
    cache_dir: Path | None,
    factory: Callable[[str], BaseRegistryClient] | None,
) -> Base:
    """The base image called `name` in a FROM line. Raises BuildError naming it when it cannot be had."""
    if name == "scratch":
        return Base(name="scratch", config=ImageConfig.for_platform(platform))
    if name == "host" or name.startswith("host:"):
        runtime = name.partition(":")[2] or (
            "node20" if (context / "package.json").is_file() else "python3.11"
        )
        if runtime not in HOST_RUNTIMES:
            raise BuildError(
                f"unknown host runtime {runtime!r} in {name!r} (known: {', '.join(HOST_RUNTIMES)})"
            )
        return host_base(runtime, platform)
    try:
        ref = parse_reference(name)
    except InvalidReference as exc:
        raise BuildError(f"unknown base image {name!r}: {exc}") from None
    client = (factory or _default_factory)(ref.registry)
    try:
        return await _pull(
            client, name, ref.repository, ref.identifier, platform=platform, cache_dir=cache_dir
        )
    except OciError as exc:
        what = "unknown base image" if type(exc).__name__ == "NotFound" else "cannot pull base image"
        raise BuildError(f"{what} {name!r}: {exc}") from None
    finally:
        await client.close()


def _default_factory(registry: str) -> BaseRegistryClient:
    from ferry.registry.client import RegistryClient  # the client is optional for scratch/host builds

    host = "registry-1.docker.io" if registry == "docker.io" else registry
    client: BaseRegistryClient = RegistryClient(host)
    return client


def _pick_platform(index: Manifest, platform: str, name: str) -> Descriptor:
    want = platform.split("/")
    for entry in index.manifests:
        p: dict[str, Any] = entry.platform or {}
        have = [str(p.get("os", "")), str(p.get("architecture", ""))]
        if p.get("variant"):
            have.append(str(p["variant"]))
        if have[:2] == want[:2] and (len(want) < 3 or have[2:] == want[2:]):
            return entry
    known = sorted(
        {f"{(e.platform or {}).get('os')}/{(e.platform or {}).get('architecture')}" for e in index.manifests}
    )
    raise BuildError(f"base image {name!r} has no {platform} image (it has: {', '.join(known) or 'none'})")


async def _pull(
    client: BaseRegistryClient, name: str, repo: str, reference: str, *, platform: str, cache_dir: Path | None
) -> Base:
    import json

    manifest = await client.get_manifest(repo, reference)
    if manifest.is_index:
        manifest = await client.get_manifest(repo, _pick_platform(manifest, platform, name).digest)
    if manifest.config is None or manifest.is_index:
        raise BuildError(f"base image {name!r} is not an image manifest")
    config_bytes = await _blob(client, repo, manifest.config.digest, cache_dir)
    try:
        config_doc = json.loads(config_bytes)
    except ValueError:
        raise BuildError(f"base image {name!r} has a config that is not JSON") from None
    config = ImageConfig.from_base(config_doc)
    layers: list[Descriptor] = []
    blobs: dict[str, BlobSource] = {}
    for layer in manifest.layers:
        layers.append(
            Descriptor(_LAYER_TYPES.get(layer.media_type, layer.media_type), layer.digest, layer.size)
        )
        blobs[layer.digest] = await _blob_source(client, repo, layer.digest, cache_dir, size=layer.size)
    if len(config.diff_ids) != len(layers):
        raise BuildError(
            f"base image {name!r} lists {len(config.diff_ids)} diff_ids for {len(layers)} layers"
        )
    pinned = f"{name.partition('@')[0]}@{manifest.digest}"
    return Base(
        name=pinned,
        config=config,
        layers=layers,
        blobs=blobs,
        annotations={
            "org.opencontainers.image.base.name": name.partition("@")[0],
            "org.opencontainers.image.base.digest": manifest.digest,
        },
    )


async def _blob(client: BaseRegistryClient, repo: str, digest: str, cache_dir: Path | None) -> bytes:
    source = await _blob_source(client, repo, digest, cache_dir)
    return source.read_bytes() if isinstance(source, Path) else source


async def _blob_source(
    client: BaseRegistryClient, repo: str, digest: str, cache_dir: Path | None, *, size: int | None = None
) -> BlobSource:
    """The blob's bytes, or its file in the cache (fetched first when missing or of the wrong size)."""
    if cache_dir is None:
        data = await client.pull_blob(repo, digest)
        if data is None:
            raise BuildError(f"registry returned no data for blob {digest}")
        return data
    algorithm, _, hex_digest = digest.partition(":")
    path = cache_dir / "blobs" / algorithm / hex_digest
    if path.is_file() and (size is None or path.stat().st_size == size):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{hex_digest}.{os.getpid()}.part")
    try:
        await client.pull_blob(repo, digest, tmp)  # the client verifies the digest
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
