"""What a build takes and what it gives: `BuildRequest` in, `BuiltImage` out.

A request names everything that may influence the image's bytes, so that the same request over the same context
gives the same manifest digest on any machine: the version, the git revision and the commit time (`created`, used
instead of the wall clock), build args and labels. `cache_dir` only speeds builds up; it never changes a digest.

A built image is still in memory (or in the cache): nothing is written or pushed until the caller hands it to
`write_oci_layout` or to `RegistryClient.push_image`, so a failed build leaves nothing half-written behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Union

from ferry.registry.oci import Manifest

if TYPE_CHECKING:
    from ferry.build.bases import BaseRegistryClient

__all__ = ["BlobSource", "BuildRequest", "BuiltImage"]

BlobSource = Union[bytes, Path]  # noqa: UP007 - a runtime alias, used in isinstance-free annotations


@dataclass(frozen=True)
class BuildRequest:
    """One image to build. `created` is the commit time (RFC 3339), never the wall clock."""

    context: Path
    version: str
    revision: str
    created: str
    source: str | None = None
    dockerfile: Path | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    cache_dir: Path | None = None
    registry_client_factory: Callable[[str], BaseRegistryClient] | None = None
    # "linux/amd64"-style target platform; None = this machine's architecture (what pip/npm install for).
    platform: str | None = None


@dataclass(frozen=True)
class BuiltImage:
    """An image ready to write or push: the manifest, its config, and every blob it references."""

    manifest: Manifest
    config: bytes
    blobs: Mapping[str, BlobSource]
    sbom: tuple[Manifest, Mapping[str, BlobSource]] | None
    warnings: tuple[str, ...]
    base: str

    @property
    def digest(self) -> str:
        return self.manifest.digest
