"""Garbage collection over a storage built directly: what is kept, what is swept, dry runs, the lock."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ferry.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, Descriptor, Manifest, digest_of
from ferry.registry.server import RegistryLocked, collect_garbage
from ferry.registry.server.runner import data_lock
from ferry.registry.server.storage import Storage


def _image(
    s: Storage, repo: str, seed: bytes, *, tag: str | None, subject: Manifest | None = None
) -> Manifest:
    config, layer = b'{"c":"' + seed + b'"}', b"layer-" + seed
    for data in (config, layer):
        s.write_blob(digest_of(data), data)
        s.link_blob(repo, digest_of(data))
    m = Manifest.build(
        Descriptor.of(OCI_CONFIG, config),
        [Descriptor.of(OCI_LAYER_GZIP, layer)],
        subject=subject.descriptor() if subject else None,
    )
    s.put_manifest(repo, m.raw, m.digest, m.media_type, subject.digest if subject else None)
    if tag:
        s.set_tag(repo, tag, m.digest)
    return m


def _blobs(s: Storage) -> set[str]:
    return {d for d, _ in s.iter_blobs()}


def test_unreferenced_blobs_go_referenced_ones_stay(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    kept = _image(s, "shop/api", b"1", tag="1.0.0")
    orphan = b"uploaded but never used"
    s.write_blob(digest_of(orphan), orphan)
    s.link_blob("shop/api", digest_of(orphan))
    report = collect_garbage(tmp_path)
    assert (report.blobs_deleted, report.bytes_freed) == (1, len(orphan))
    assert digest_of(orphan) not in _blobs(s)
    assert not s.has_blob_in("shop/api", digest_of(orphan))
    assert {kept.digest, kept.config.digest if kept.config else "", kept.layers[0].digest} <= _blobs(s)


def test_untagged_manifests_are_kept_unless_asked(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    _image(s, "shop/api", b"1", tag="1.0.0")
    untagged = _image(s, "shop/api", b"2", tag=None)
    assert collect_garbage(tmp_path).manifests_deleted == 0
    assert s.read_manifest("shop/api", untagged.digest) is not None
    report = collect_garbage(tmp_path, delete_untagged=True)
    assert report.manifests_deleted == 1 and report.blobs_deleted == 3  # manifest, config, layer
    assert s.read_manifest("shop/api", untagged.digest) is None


def test_referrers_of_a_tagged_image_are_kept(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    image = _image(s, "shop/api", b"1", tag="1.0.0")
    sbom = _image(s, "shop/api", b"sbom", tag=None, subject=image)
    report = collect_garbage(tmp_path, delete_untagged=True)
    assert report.manifests_deleted == 0 and report.blobs_deleted == 0
    assert s.referrers("shop/api", image.digest) == [sbom.digest]


def test_a_blob_shared_with_another_repository_stays(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    image = _image(s, "shop/api", b"1", tag="1.0.0")
    _image(s, "shop/web", b"1", tag=None)  # same config and layer, untagged here
    collect_garbage(tmp_path, delete_untagged=True)
    assert image.layers[0].digest in _blobs(s)


def test_dry_run_counts_and_deletes_nothing(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    _image(s, "shop/api", b"1", tag=None)
    before = _blobs(s)
    report = collect_garbage(tmp_path, dry_run=True, delete_untagged=True)
    assert report.dry_run and report.manifests_deleted == 1 and report.blobs_deleted == 3
    assert _blobs(s) == before
    assert "would delete 1 manifests, 3 blobs" in report.summary()


def test_stale_uploads_are_removed_fresh_ones_kept(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    stale, fresh = s.uploads / ("a" * 32), s.uploads / ("b" * 32)
    for d in (stale, fresh):
        d.mkdir(parents=True)
        (d / "data").write_bytes(b"x")
    old = time.time() - 7200
    for path in (stale, stale / "data", fresh):  # `fresh` got a chunk recently: its data file is new
        os.utime(path, (old, old))
    assert collect_garbage(tmp_path).uploads_deleted == 1
    assert not stale.exists() and fresh.exists()


def test_refuses_to_run_under_a_live_registry(tmp_path: Path) -> None:
    holder = data_lock(tmp_path, "start the registry")
    try:
        with pytest.raises(RegistryLocked, match="cannot collect garbage"):
            collect_garbage(tmp_path)
    finally:
        holder.close()
