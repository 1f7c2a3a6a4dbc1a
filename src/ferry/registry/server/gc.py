"""Garbage collection: mark what tags (and, by default, every manifest) still need, sweep the rest.

Mark, per repository:
- roots: every manifest the repository holds, or with `delete_untagged` only the tagged ones;
- from each kept manifest: the children of an index, and the manifests whose `subject` it is (referrers:
  an SBOM lives as long as its image), transitively;
- the blobs of each kept manifest: its own bytes, its config and its layers.
Sweep: untagged manifests not reached (only with `delete_untagged`), every blob no kept manifest in any
repository references (with the repositories' links to it), upload sessions and stray temp files older
than `upload_max_age_seconds` (an hour by default).

Like Distribution's `garbage-collect`, this must not run under a live registry: a blob uploaded for a
manifest not pushed yet looks unreferenced. `collect_garbage` therefore takes the data directory's lock
(`runner.data_lock`) and refuses to run while a registry serves it. `dry_run` counts without deleting.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ferry.registry.oci import Manifest, OciError
from ferry.registry.server.durable import TMP_PREFIX, durable_remove
from ferry.registry.server.runner import data_lock
from ferry.registry.server.storage import Storage

__all__ = ["GcReport", "collect_garbage"]


@dataclass(frozen=True)
class GcReport:
    dry_run: bool
    manifests_kept: int
    manifests_deleted: int
    blobs_kept: int
    blobs_deleted: int
    bytes_freed: int
    uploads_deleted: int

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"{verb} {self.manifests_deleted} manifests, {self.blobs_deleted} blobs ({self.bytes_freed} bytes), "
            f"{self.uploads_deleted} stale uploads; kept {self.manifests_kept} manifests, {self.blobs_kept} blobs"
        )


def _parse(storage: Storage, repo: str, digest: str) -> Manifest | None:
    found = storage.read_manifest(repo, digest)
    if found is None:
        return None
    try:
        return Manifest.parse(*found)
    except OciError:
        return None


def _mark_repository(
    storage: Storage, repo: str, delete_untagged: bool, marked: set[str]
) -> tuple[set[str], set[str]]:
    """(kept, unreached) manifests of `repo`; adds the kept ones' blobs to `marked`."""
    held = set(storage.manifest_digests(repo))
    if delete_untagged:
        roots = {d for t in storage.tags(repo) if (d := storage.resolve_tag(repo, t)) in held}
    else:
        roots = set(held)
    kept: set[str] = set()
    queue = list(roots)
    while queue:
        digest = queue.pop()
        if digest in kept or digest not in held:
            continue
        kept.add(digest)
        marked.add(digest)
        queue.extend(storage.referrers(repo, digest))
        manifest = _parse(storage, repo, digest)
        if manifest is None:
            continue
        queue.extend(d.digest for d in manifest.manifests)
        marked.update(
            d.digest for d in ([manifest.config] if manifest.config else []) + list(manifest.layers)
        )
    return kept, held - kept


def _stale_uploads(storage: Storage, now: float, max_age: float) -> list[Path]:
    if not storage.uploads.is_dir():
        return []

    # An upload's age is its last activity: appending to `data` does not touch the directory's mtime.
    def last_activity(d: Path) -> float:
        return max((p.stat().st_mtime for p in (d, *d.iterdir())), default=0.0)

    return [d for d in storage.uploads.iterdir() if d.is_dir() and now - last_activity(d) > max_age]


def collect_garbage(
    data_dir: Path,
    *,
    dry_run: bool = False,
    delete_untagged: bool = False,
    upload_max_age_seconds: float = 3600.0,
) -> GcReport:
    """Collect garbage in a registry data directory that no registry is serving (raises RegistryLocked)."""
    lock = data_lock(data_dir, "collect garbage")
    try:
        storage = Storage(data_dir)
        marked: set[str] = set()
        kept_count = 0
        unreached: list[tuple[str, str]] = []
        for repo in storage.repository_names():
            kept, gone = _mark_repository(storage, repo, delete_untagged, marked)
            kept_count += len(kept)
            unreached.extend((repo, d) for d in sorted(gone))
        blobs = list(storage.iter_blobs())
        doomed = [(d, p) for d, p in blobs if d not in marked]
        freed = sum(p.stat().st_size for _, p in doomed)
        now = time.time()
        uploads = _stale_uploads(storage, now, upload_max_age_seconds)
        if not dry_run:
            for repo, digest in unreached:
                manifest = _parse(storage, repo, digest)
                subject = manifest.subject.digest if manifest and manifest.subject else None
                storage.delete_manifest(repo, digest, subject)
            doomed_digests = {d for d, _ in doomed}
            for repo in storage.repository_names(with_blobs_only=True):
                for digest in storage.linked_blobs(repo):
                    if digest in doomed_digests:
                        storage.unlink_blob(repo, digest)
            for _, path in doomed:
                durable_remove(path)
            for d in uploads:
                shutil.rmtree(d, ignore_errors=True)
            for tmp in data_dir.rglob(f"{TMP_PREFIX}*"):
                if now - tmp.stat().st_mtime > upload_max_age_seconds:
                    tmp.unlink(missing_ok=True)
        return GcReport(
            dry_run=dry_run,
            manifests_kept=kept_count,
            manifests_deleted=len(unreached),
            blobs_kept=len(blobs) - len(doomed),
            blobs_deleted=len(doomed),
            bytes_freed=freed,
            uploads_deleted=len(uploads),
        )
    finally:
        lock.close()
