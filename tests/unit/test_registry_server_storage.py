"""Content-addressed storage: digests verified on every write, per-repository visibility, tags, layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.registry.oci import digest_of
from ferry.registry.server.durable import atomic_write
from ferry.registry.server.storage import DigestMismatch, Storage


def test_blob_is_stored_under_its_sharded_digest(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    digest = digest_of(b"hello")
    s.write_blob(digest, b"hello")
    hexpart = digest.split(":")[1]
    assert (tmp_path / "blobs" / "sha256" / hexpart[:2] / hexpart).read_bytes() == b"hello"
    assert s.blob_size(digest) == 5


def test_write_with_a_wrong_digest_stores_nothing(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    wrong = digest_of(b"other")
    with pytest.raises(DigestMismatch):
        s.write_blob(wrong, b"hello")
    assert s.blob_size(wrong) is None
    assert list(s.iter_blobs()) == []


def test_ingest_verifies_and_leaves_the_source_on_mismatch(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    src = tmp_path / "upload"
    src.write_bytes(b"payload")
    with pytest.raises(DigestMismatch):
        s.ingest_file(src, digest_of(b"not the payload"))
    assert src.exists() and list(s.iter_blobs()) == []
    s.ingest_file(src, digest_of(b"payload"))
    assert not src.exists()
    assert [d for d, _ in s.iter_blobs()] == [digest_of(b"payload")]


def test_a_blob_is_visible_only_in_repositories_that_link_it(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    digest = digest_of(b"x")
    s.write_blob(digest, b"x")
    s.link_blob("shop/a", digest)
    assert s.has_blob_in("shop/a", digest)
    assert not s.has_blob_in("shop/b", digest)
    assert s.unlink_blob("shop/a", digest)
    assert not s.has_blob_in("shop/a", digest)
    assert not s.unlink_blob("shop/a", digest)


def test_manifests_tags_and_referrers(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    subject, referrer = b'{"a":1}', b'{"b":2}'
    sd, rd = digest_of(subject), digest_of(referrer)
    s.put_manifest("shop/api", subject, sd, "application/vnd.oci.image.manifest.v1+json", None)
    s.put_manifest("shop/api", referrer, rd, "application/vnd.oci.image.manifest.v1+json", sd)
    s.set_tag("shop/api", "1.0.0", sd)
    s.set_tag("shop/api", "1.0.1", sd)
    assert s.read_manifest("shop/api", sd) == (subject, "application/vnd.oci.image.manifest.v1+json")
    assert s.read_manifest("shop/other", sd) is None
    assert s.tags("shop/api") == ["1.0.0", "1.0.1"]
    assert s.referrers("shop/api", sd) == [rd]
    assert s.delete_manifest("shop/api", rd, sd)
    assert s.referrers("shop/api", sd) == []
    assert s.delete_manifest("shop/api", sd, None)
    assert s.tags("shop/api") == []  # tags pointing at a deleted manifest go with it


def test_repository_names_include_nested_ones(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    raw = b"{}"
    for repo in ("shop", "shop/order-service", "a/b/c"):
        s.put_manifest(repo, raw, digest_of(raw), "application/vnd.oci.image.manifest.v1+json", None)
    s.link_blob("blobs-only", digest_of(raw))
    assert s.repository_names() == ["a/b/c", "shop", "shop/order-service"]
    assert "blobs-only" in s.repository_names(with_blobs_only=True)


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "file"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["file"]
