"""Content-addressed storage on disk: blobs once per registry, links per repository, tags as small files.

Layout under `data_dir` (the same shape as Distribution's filesystem driver, simplified):

    blobs/sha256/ab/<hex>                                   content, shared by all repositories
    repositories/<name>/_layers/sha256/<hex>                link: this repository holds that blob
    repositories/<name>/_manifests/revisions/sha256/<hex>   link: this repository holds that manifest;
                                                            the file holds the manifest's media type
    repositories/<name>/_manifests/tags/<tag>               the digest the tag points at
    repositories/<name>/_manifests/referrers/sha256/<subject-hex>/sha256/<hex>
                                                            link: manifest <hex> has `subject` <subject-hex>
    uploads/<uuid>/{data,meta.json}                         upload sessions (see `uploads`)

A repository name may contain slashes (`shop/order-service`): it is a directory path, and no valid path
component starts with `_`, so `_layers`/`_manifests` never clash with a nested repository.

Invariants:
- a blob file's name is the digest of its content: `ingest_file`/`write_blob` verify before the rename;
- a blob is readable from repository R only through R's link (as in Distribution: pushing to A does not
  make the blob readable from B, a cross-repository mount does);
- a manifest's bytes are stored as a blob, exactly as pushed, so its digest never changes;
- every write goes through `durable` (temp + fsync + rename + directory fsync). Writes in a manifest push
  are ordered content → revision link → referrer link → tag, so a crash between two of them leaves an
  untagged manifest (collected by gc) and never a tag pointing at nothing.

Concurrency: the server serialises writes per repository (`app`); two uploads of the same blob may race
to rename identical content over the same name, which is harmless.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from ferry.registry.oci import parse_digest
from ferry.registry.server.durable import TMP_PREFIX, atomic_write, durable_move, durable_remove

__all__ = ["DigestMismatch", "Storage", "file_digest"]


class DigestMismatch(Exception):
    """Content whose digest is not the one claimed; nothing was stored."""


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return f"{algorithm}:{h.hexdigest()}"


def _digest_path(digest: str) -> Path:
    algorithm, hexpart = parse_digest(digest)
    return Path(algorithm) / hexpart


class Storage:
    """The registry's files. Methods are blocking; the server calls writers from a worker thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.repositories = root / "repositories"
        self.uploads = root / "uploads"

    # -- blobs (global) -------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        algorithm, hexpart = parse_digest(digest)
        return self.blobs / algorithm / hexpart[:2] / hexpart

    def blob_size(self, digest: str) -> int | None:
        try:
            return self.blob_path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def write_blob(self, digest: str, data: bytes) -> None:
        """Store bytes under their digest, after checking it."""
        algorithm, _ = parse_digest(digest)
        actual = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
        if actual != digest:
            raise DigestMismatch(f"content has digest {actual}, not {digest}")
        path = self.blob_path(digest)
        if not path.exists():
            atomic_write(path, data)

    def ingest_file(self, src: Path, digest: str, *, verified: str | None = None) -> None:
        """Move an fsynced file into the blob store as `digest`, after checking it.

        `verified` is a digest the caller already computed over exactly this file (e.g. while streaming);
        without it the file is hashed here. On a mismatch `src` is left in place and nothing is stored.
        """
        algorithm, _ = parse_digest(digest)
        actual = verified if verified is not None else file_digest(src, algorithm)
        if actual != digest:
            raise DigestMismatch(f"uploaded content has digest {actual}, not {digest}")
        path = self.blob_path(digest)
        if path.exists():
            src.unlink(missing_ok=True)
            return
        durable_move(src, path)

    def iter_blobs(self) -> Iterator[tuple[str, Path]]:
        if not self.blobs.is_dir():
            return
        for algo_dir in sorted(self.blobs.iterdir()):
            for shard in sorted(p for p in algo_dir.iterdir() if p.is_dir()):
                for f in sorted(shard.iterdir()):
                    if not f.name.startswith("."):
                        yield f"{algo_dir.name}:{f.name}", f

    # -- repositories -----------------------------------------------------------------------------------

    def repo_dir(self, name: str) -> Path:
        return self.repositories / name

    def repo_exists(self, name: str) -> bool:
        d = self.repo_dir(name)
        return (d / "_manifests").is_dir() or (d / "_layers").is_dir()

    def repository_names(self, *, with_blobs_only: bool = False) -> list[str]:
        """Every repository holding at least one manifest (or, `with_blobs_only`, just blobs), sorted."""
        out: list[str] = []
        if not self.repositories.is_dir():
            return out
        for dirpath, dirnames, _ in os.walk(self.repositories):
            if "_manifests" in dirnames or (with_blobs_only and "_layers" in dirnames):
                out.append(os.path.relpath(dirpath, self.repositories))
            dirnames[:] = [d for d in dirnames if not d.startswith("_") and not d.startswith(".")]
        return sorted(out)

    def _layer_link(self, name: str, digest: str) -> Path:
        return self.repo_dir(name) / "_layers" / _digest_path(digest)

    def has_blob_in(self, name: str, digest: str) -> bool:
        return self._layer_link(name, digest).exists() and self.blob_path(digest).exists()

    def link_blob(self, name: str, digest: str) -> None:
        link = self._layer_link(name, digest)
        if not link.exists():
            atomic_write(link, digest.encode())

    def unlink_blob(self, name: str, digest: str) -> bool:
        return durable_remove(self._layer_link(name, digest))

    def linked_blobs(self, name: str) -> list[str]:
        return self._digests_under(self.repo_dir(name) / "_layers")

    # -- manifests ----------------------------------------------------------------------------------------

    def _revision(self, name: str, digest: str) -> Path:
        return self.repo_dir(name) / "_manifests" / "revisions" / _digest_path(digest)

    def _tag_file(self, name: str, tag: str) -> Path:
        return self.repo_dir(name) / "_manifests" / "tags" / tag

    def _referrer_link(self, name: str, subject: str, digest: str) -> Path:
        return self.repo_dir(name) / "_manifests" / "referrers" / _digest_path(subject) / _digest_path(digest)

    def manifest_media_type(self, name: str, digest: str) -> str | None:
        """The media type a manifest was pushed with, or None if this repository does not hold it."""
        try:
            media_type = self._revision(name, digest).read_text()
        except FileNotFoundError:
            return None
        return media_type if self.blob_path(digest).exists() else None

    def read_manifest(self, name: str, digest: str) -> tuple[bytes, str] | None:
        media_type = self.manifest_media_type(name, digest)
        if media_type is None:
            return None
        try:
            return self.blob_path(digest).read_bytes(), media_type
        except FileNotFoundError:
            return None

    def put_manifest(self, name: str, raw: bytes, digest: str, media_type: str, subject: str | None) -> None:
        """Store a manifest's exact bytes and link it (the tag is set separately, last)."""
        self.write_blob(digest, raw)
        atomic_write(self._revision(name, digest), media_type.encode())
        if subject is not None:
            link = self._referrer_link(name, subject, digest)
            if not link.exists():
                atomic_write(link, digest.encode())

    def delete_manifest(self, name: str, digest: str, subject: str | None) -> bool:
        """Unlink a manifest from the repository, with its referrer link and every tag pointing at it."""
        for tag in self.tags_pointing_to(name, digest):
            durable_remove(self._tag_file(name, tag))
        if subject is not None:
            durable_remove(self._referrer_link(name, subject, digest))
        return durable_remove(self._revision(name, digest))

    def manifest_digests(self, name: str) -> list[str]:
        return self._digests_under(self.repo_dir(name) / "_manifests" / "revisions")

    def referrers(self, name: str, subject: str) -> list[str]:
        return self._digests_under(self.repo_dir(name) / "_manifests" / "referrers" / _digest_path(subject))

    # -- tags -----------------------------------------------------------------------------------------------

    def resolve_tag(self, name: str, tag: str) -> str | None:
        try:
            return self._tag_file(name, tag).read_text().strip() or None
        except (FileNotFoundError, NotADirectoryError):
            return None

    def set_tag(self, name: str, tag: str, digest: str) -> None:
        atomic_write(self._tag_file(name, tag), digest.encode())

    def delete_tag(self, name: str, tag: str) -> bool:
        return durable_remove(self._tag_file(name, tag))

    def tags(self, name: str) -> list[str]:
        d = self.repo_dir(name) / "_manifests" / "tags"
        if not d.is_dir():
            return []
        return sorted(p.name for p in d.iterdir() if not p.name.startswith(TMP_PREFIX[0]))

    def tags_pointing_to(self, name: str, digest: str) -> list[str]:
        return [t for t in self.tags(name) if self.resolve_tag(name, t) == digest]

    # -- helpers ----------------------------------------------------------------------------------------------

    @staticmethod
    def _digests_under(root: Path) -> list[str]:
        """Digests of `<root>/<algorithm>/<hex>` link files."""
        if not root.is_dir():
            return []
        out: list[str] = []
        for algo_dir in sorted(root.iterdir()):
            if algo_dir.is_dir():
                out.extend(
                    f"{algo_dir.name}:{p.name}"
                    for p in sorted(algo_dir.iterdir())
                    if not p.name.startswith(".")
                )
        return out
