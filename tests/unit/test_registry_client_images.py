"""push_image / tags / referrers against the fake registry: only what is missing is sent, tags move last."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from ferry.registry.client import NotFound, RegistryClient, RegistryUnavailable, RetryPolicy, TagRefused
from ferry.registry.oci import (
    ARTIFACT_SBOM_CYCLONEDX,
    EMPTY_CONFIG,
    EMPTY_JSON,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    Descriptor,
    Manifest,
    canonical_json,
)
from tests.unit.registry_client_fake import FakeRegistry, serve

FAST = RetryPolicy(attempts=4, base_delay_seconds=0.001, max_delay_seconds=0.01)


@pytest.fixture
async def fake() -> AsyncIterator[FakeRegistry]:
    async for running in serve(FakeRegistry()):
        yield running


def image(*layers: bytes, os_name: str = "linux") -> tuple[Manifest, dict[str, bytes]]:
    config = canonical_json({"architecture": "amd64", "os": os_name})
    descriptors = [Descriptor.of(OCI_LAYER_GZIP, layer) for layer in layers]
    manifest = Manifest.build(Descriptor.of(OCI_CONFIG, config), descriptors)
    blobs = {Descriptor.of(OCI_CONFIG, config).digest: config} | {
        d.digest: b for d, b in zip(descriptors, layers, strict=True)
    }
    return manifest, blobs


def sbom_for(subject: Manifest) -> tuple[Manifest, dict[str, bytes]]:
    sbom = canonical_json({"bomFormat": "CycloneDX", "components": []})
    manifest = Manifest.build(
        Descriptor.of(EMPTY_CONFIG, EMPTY_JSON),
        [Descriptor.of(ARTIFACT_SBOM_CYCLONEDX, sbom)],
        subject=subject.descriptor(),
        artifact_type=ARTIFACT_SBOM_CYCLONEDX,
    )
    return manifest, {
        Descriptor.of(EMPTY_CONFIG, EMPTY_JSON).digest: EMPTY_JSON,
        Descriptor.of("x", sbom).digest: sbom,
    }


async def test_push_then_push_again_sends_nothing_the_second_time(fake: FakeRegistry) -> None:
    manifest, blobs = image(os.urandom(1000), os.urandom(2000))
    async with RegistryClient(fake.host, retry=FAST) as client:
        first = await client.push_image("demo/app", "1.0.0-abc1234", manifest, blobs)
        fake.requests.clear()
        second = await client.push_image("demo/app", "1.0.0-abc1234", manifest, blobs)
    assert (first.blobs_pushed, first.bytes_pushed, first.manifest_pushed) == (
        3,
        sum(map(len, blobs.values())),
        True,
    )
    assert first.digest == manifest.digest and fake.tags[("demo/app", "1.0.0-abc1234")] == manifest.digest
    assert (second.blobs_pushed, second.bytes_pushed, second.manifest_pushed) == (0, 0, False)
    assert fake.requests == [("HEAD", "/v2/demo/app/manifests/1.0.0-abc1234")]


async def test_a_new_version_uploads_only_the_changed_layer(fake: FakeRegistry) -> None:
    deps = os.urandom(5000)
    v1, blobs1 = image(deps, b"app v1")
    v2, blobs2 = image(deps, b"app v2")
    async with RegistryClient(fake.host, retry=FAST) as client:
        await client.push_image("demo/app", "1.0.0", v1, blobs1)
        result = await client.push_image("demo/app", "1.0.1", v2, blobs2)
    assert (result.blobs_pushed, result.blobs_skipped, result.bytes_pushed) == (1, 2, len(b"app v2"))


async def test_a_blob_neither_given_nor_in_the_registry_fails_before_anything_is_sent(
    fake: FakeRegistry,
) -> None:
    manifest, blobs = image(b"layer one", b"layer two")
    del blobs[manifest.layers[1].digest]
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(NotFound, match=manifest.layers[1].digest):
            await client.push_image("demo/app", "1.0.0", manifest, blobs)
    assert fake.count("POST") == 0 and fake.tags == {}


async def test_a_refused_tag_move_is_tag_refused_and_the_tag_stays(fake: FakeRegistry) -> None:
    fake.immutable_tags = True
    v1, blobs1 = image(b"one")
    v2, blobs2 = image(b"two")
    async with RegistryClient(fake.host, retry=FAST) as client:
        await client.push_image("demo-api", "1.0.0", v1, blobs1)
        with pytest.raises(TagRefused) as caught:
            await client.push_image("demo-api", "1.0.0", v2, blobs2)
    assert str(caught.value) == (
        f"registry {fake.host}: TAG_INVALID: tag demo-api:1.0.0 is immutable: it points to {v1.digest} and "
        f"cannot be moved to {v2.digest} (PUT /v2/demo-api/manifests/1.0.0)"
    )
    assert fake.tags[("demo-api", "1.0.0")] == v1.digest


async def test_tags_are_listed_across_link_pages(fake: FakeRegistry) -> None:
    manifest, blobs = image(b"x")
    names = [f"1.0.{i}" for i in range(7)]
    async with RegistryClient(fake.host, retry=FAST) as client:
        for name in names:
            await client.push_image("demo/app", name, manifest, blobs)
        fake.requests.clear()
        assert await client.list_tags("demo/app", page_size=3) == names
    assert fake.count("GET", "/tags/list") == 3


async def test_referrers_through_the_api(fake: FakeRegistry) -> None:
    manifest, blobs = image(b"x")
    sbom, sbom_blobs = sbom_for(manifest)
    async with RegistryClient(fake.host, retry=FAST) as client:
        result = await client.push_image("demo/app", "1.0.0", manifest, blobs, referrers=[(sbom, sbom_blobs)])
        found = await client.referrers("demo/app", manifest.digest, artifact_type=ARTIFACT_SBOM_CYCLONEDX)
        none = await client.referrers("demo/app", manifest.digest, artifact_type="application/x-other")
    assert result.blobs_pushed == 4  # config + layer, empty config + SBOM
    assert [d.digest for d in found] == [sbom.digest] and found[0].artifact_type == ARTIFACT_SBOM_CYCLONEDX
    assert none == []
    assert not any(tag.startswith("sha256-") for (_, tag) in fake.tags)


async def test_referrers_fall_back_to_the_tag_schema_without_the_api(fake: FakeRegistry) -> None:
    fake.referrers_api = False
    manifest, blobs = image(b"x")
    sbom, sbom_blobs = sbom_for(manifest)
    async with RegistryClient(fake.host, retry=FAST) as client:
        await client.push_image("demo/app", "1.0.0", manifest, blobs, referrers=[(sbom, sbom_blobs)])
        found = await client.referrers("demo/app", manifest.digest)
        assert await client.referrers("demo/app", sbom.digest) == []
    fallback = "sha256-" + manifest.digest.removeprefix("sha256:")
    assert ("demo/app", fallback) in fake.tags
    assert [(d.digest, d.artifact_type) for d in found] == [(sbom.digest, ARTIFACT_SBOM_CYCLONEDX)]


async def test_an_index_pushes_its_child_manifests_first(fake: FakeRegistry) -> None:
    amd, amd_blobs = image(b"amd64 layer")
    arm, arm_blobs = image(b"arm64 layer", os_name="linux-arm")
    index = Manifest.parse(
        canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [amd.descriptor().to_json(), arm.descriptor().to_json()],
            }
        )
    )
    blobs = amd_blobs | arm_blobs | {amd.digest: amd.raw, arm.digest: arm.raw}
    async with RegistryClient(fake.host, retry=FAST) as client:
        await client.push_image("demo/app", "1.0.0", index, blobs)
        pulled = await client.get_manifest("demo/app", "1.0.0")
        child = await client.get_manifest("demo/app", arm.digest)
    assert pulled.is_index and [d.digest for d in pulled.manifests] == [amd.digest, arm.digest]
    assert child.raw == arm.raw


async def test_head_and_delete_a_manifest(fake: FakeRegistry) -> None:
    manifest, blobs = image(b"x")
    async with RegistryClient(fake.host, retry=FAST) as client:
        await client.push_image("demo/app", "1.0.0", manifest, blobs)
        head = await client.head_manifest("demo/app", "1.0.0")
        await client.delete_manifest("demo/app", manifest.digest)
        gone = await client.head_manifest("demo/app", "1.0.0")
    assert head == manifest.descriptor()
    assert gone is None


async def test_a_failing_upload_is_the_registry_error_itself_and_no_tag_is_written(
    fake: FakeRegistry,
) -> None:
    manifest, blobs = image(os.urandom(1000), os.urandom(2000))
    fake.fail("PUT", "/blobs/uploads/", 503, times=100)
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(RegistryUnavailable, match="UNAVAILABLE: injected 503"):
            await client.push_image("demo/app", "1.0.0", manifest, blobs)
    assert fake.tags == {} and fake.count("PUT", "/manifests/") == 0
