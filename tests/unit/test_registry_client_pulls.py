"""Blob and image pulls: digest verification, nothing left behind on a mismatch, resumed downloads, OCI layout."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.registry.client import DigestMismatch, NotFound, RegistryClient, RetryPolicy
from ferry.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, Descriptor, Manifest, canonical_json
from tests.unit.registry_client_fake import FakeRegistry, serve

FAST = RetryPolicy(attempts=4, base_delay_seconds=0.001, max_delay_seconds=0.01)


@pytest.fixture
async def fake() -> AsyncIterator[FakeRegistry]:
    async for running in serve(FakeRegistry()):
        yield running


async def test_a_blob_served_with_wrong_bytes_is_a_digest_mismatch_and_no_file_is_left(
    fake: FakeRegistry, tmp_path: Path
) -> None:
    digest = fake.add_blob("demo/app", os.urandom(3 << 20))
    fake.corrupt.add(digest)
    dest = tmp_path / "pulled" / "layer.tar.gz"
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(DigestMismatch) as caught:
            await client.pull_blob("demo/app", digest, dest)
    assert digest in str(caught.value) and "\n" not in str(caught.value)
    assert list((tmp_path / "pulled").iterdir()) == []


async def test_a_wrong_blob_in_memory_is_a_digest_mismatch(fake: FakeRegistry) -> None:
    digest = fake.add_blob("demo/app", b"config")
    fake.corrupt.add(digest)
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(DigestMismatch):
            await client.pull_blob("demo/app", digest)


async def test_a_download_broken_mid_body_resumes_with_a_range(fake: FakeRegistry, tmp_path: Path) -> None:
    data = os.urandom(2 << 20)
    digest = fake.add_blob("demo/app", data)
    fake.truncate_get_after = 700_000
    async with RegistryClient(fake.host, retry=FAST) as client:
        assert await client.pull_blob("demo/app", digest, tmp_path / "blob") is None
    assert (tmp_path / "blob").read_bytes() == data
    assert fake.count("GET", "/blobs/") == 2
    assert [p.name for p in tmp_path.iterdir()] == ["blob"]


async def test_a_missing_blob_is_not_found_and_no_file_is_left(fake: FakeRegistry, tmp_path: Path) -> None:
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(NotFound):
            await client.pull_blob("demo/app", "sha256:" + "0" * 64, tmp_path / "blob")
    assert list(tmp_path.iterdir()) == []


async def test_pull_image_writes_an_oci_layout(fake: FakeRegistry, tmp_path: Path) -> None:
    config = canonical_json({"architecture": "amd64", "os": "linux"})
    layer = os.urandom(10_000)
    manifest = Manifest.build(Descriptor.of(OCI_CONFIG, config), [Descriptor.of(OCI_LAYER_GZIP, layer)])
    async with RegistryClient(fake.host, retry=FAST) as client:
        await client.push_image(
            "demo/app",
            "1.0.0",
            manifest,
            {d.digest: b for d, b in [(manifest.config, config), (manifest.layers[0], layer)] if d},
        )
        pulled = await client.pull_image("demo/app", "1.0.0", tmp_path / "layout")
    assert pulled.raw == manifest.raw
    blobs = tmp_path / "layout" / "blobs" / "sha256"
    assert sorted(p.name for p in blobs.iterdir()) == sorted(
        d.removeprefix("sha256:")
        for d in (manifest.digest, manifest.layers[0].digest, manifest.config.digest)  # type: ignore[union-attr]
    )
    assert (blobs / manifest.layers[0].digest.removeprefix("sha256:")).read_bytes() == layer
    index = json.loads((tmp_path / "layout" / "index.json").read_bytes())
    assert index["manifests"] == [
        {
            "mediaType": manifest.media_type,
            "digest": manifest.digest,
            "size": len(manifest.raw),
            "annotations": {"org.opencontainers.image.ref.name": "1.0.0"},
        }
    ]
    assert json.loads((tmp_path / "layout" / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}


async def test_a_manifest_served_with_other_bytes_than_its_digest_is_refused(fake: FakeRegistry) -> None:
    config = canonical_json({"os": "linux"})
    manifest = Manifest.build(Descriptor.of(OCI_CONFIG, config), [])
    fake.add_blob("demo/app", config)
    fake.manifests[("demo/app", manifest.digest)] = (manifest.media_type, manifest.raw + b" ")
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(DigestMismatch, match="arrived with digest"):
            await client.get_manifest("demo/app", manifest.digest)
