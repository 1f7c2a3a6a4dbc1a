"""The node's image store against the embedded registry: an image built by ferry.build is pulled by tag,
verified, unpacked once and described by its config; an index resolves to this node's platform; a tampered
blob, a missing tag and a bad reference are kubelet-style one-line pull errors that leave no root behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.build import BuildRequest, build_image
from ferry.cluster.kubelet.images import ImagePullError, ImageStore, node_architecture
from ferry.registry.client import RegistryClient
from ferry.registry.oci import OCI_INDEX, Manifest, canonical_json
from ferry.registry.server import RegistrySettings, RunningRegistry, start_registry

REVISION = "0123456789abcdef0123456789abcdef01234567"
CREATED = "2026-11-27T00:00:00Z"


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[RunningRegistry]:
    running = await start_registry(RegistrySettings(data_dir=tmp_path / "registry", port=0))
    try:
        yield running
    finally:
        await running.stop()


async def _push_app(registry: RunningRegistry, tmp: Path, tag: str) -> Manifest:
    ctx = tmp / f"ctx-{tag}"
    (ctx / "app").mkdir(parents=True)
    (ctx / "app" / "main.txt").write_text(f"hello {tag}\n")
    (ctx / "Dockerfile").write_text(
        'FROM scratch\nCOPY app /srv/app\nENV GREETING=ferry\nWORKDIR /srv\nENTRYPOINT ["/bin/app"]\nCMD ["--serve"]\n'
    )
    built = await build_image(BuildRequest(context=ctx, version="1.0.0", revision=REVISION, created=CREATED))
    async with RegistryClient(registry.host_port) as client:
        await client.push_image("shop/web", tag, built.manifest, built.blobs)
    return built.manifest


def _store(tmp: Path) -> ImageStore:
    return ImageStore(tmp / "images", lambda host: RegistryClient(host))


async def test_pull_by_tag_unpacks_once_and_reads_the_config(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    manifest = await _push_app(registry, tmp_path, "1.0.0-0123456")
    store = _store(tmp_path)
    image = f"{registry.host_port}/shop/web:1.0.0-0123456"
    pulled = await store.pull(image)
    assert pulled.digest == manifest.digest
    assert pulled.image_id == f"{registry.host_port}/shop/web@{manifest.digest}"
    assert (pulled.rootfs / "srv" / "app" / "main.txt").read_text() == "hello 1.0.0-0123456\n"
    assert pulled.entrypoint == ["/bin/app"] and pulled.cmd == ["--serve"]
    assert "GREETING=ferry" in pulled.env and pulled.working_dir == "/srv"
    assert pulled.labels["org.opencontainers.image.revision"] == REVISION
    marker = pulled.rootfs / "srv" / "marker"
    marker.write_text("unpacked once")
    again = await store.pull(f"{registry.host_port}/shop/web@{manifest.digest}")  # by digest: same root
    assert again.rootfs == pulled.rootfs and marker.exists()


async def test_an_index_resolves_to_this_nodes_platform(registry: RunningRegistry, tmp_path: Path) -> None:
    manifest = await _push_app(registry, tmp_path, "single")
    mine = manifest.descriptor(platform={"os": "linux", "architecture": node_architecture()})
    index = Manifest.parse(
        canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [mine.to_json()]})
    )
    async with RegistryClient(registry.host_port) as client:
        await client.push_manifest("shop/web", "multi", index)
    pulled = await _store(tmp_path).pull(f"{registry.host_port}/shop/web:multi")
    assert pulled.digest == manifest.digest
    lonely = Manifest.parse(canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}))
    async with RegistryClient(registry.host_port) as client:
        await client.push_manifest("shop/web", "nothing-for-us", lonely)
    with pytest.raises(ImagePullError, match=r"no matching manifest for linux/"):
        await _store(tmp_path).pull(f"{registry.host_port}/shop/web:nothing-for-us")


async def test_pull_errors_are_one_line_and_leave_nothing(registry: RunningRegistry, tmp_path: Path) -> None:
    manifest = await _push_app(registry, tmp_path, "1.0.0")
    store = _store(tmp_path)
    with pytest.raises(ImagePullError) as err:
        await store.pull(f"{registry.host_port}/shop/web:9.9.9")
    assert str(err.value).startswith(
        f'failed to pull and unpack image "{registry.host_port}/shop/web:9.9.9": '
    )
    assert "\n" not in str(err.value)
    with pytest.raises(ImagePullError, match=r"invalid image reference"):
        await store.pull("Shop/WEB:x")
    # Tamper with a layer in the registry's blob store: the client's digest check refuses it.
    layer = manifest.layers[0].digest.split(":")[1]
    blob = tmp_path / "registry" / "blobs" / "sha256" / layer[:2] / layer
    blob.write_bytes(b"not the layer")
    with pytest.raises(ImagePullError, match=r"(?i)digest"):
        await store.pull(f"{registry.host_port}/shop/web:1.0.0")
    assert list((tmp_path / "images" / "rootfs").iterdir()) == []


async def test_two_references_to_one_image_pulled_at_once(registry: RunningRegistry, tmp_path: Path) -> None:
    manifest = await _push_app(registry, tmp_path, "a")
    async with RegistryClient(registry.host_port) as client:
        await client.push_manifest("shop/web", "b", manifest)
    store = _store(tmp_path)
    first, second = await asyncio.gather(
        store.pull(f"{registry.host_port}/shop/web:a"), store.pull(f"{registry.host_port}/shop/web:b")
    )
    assert first.rootfs == second.rootfs and (first.rootfs / "srv" / "app" / "main.txt").exists()
    assert list((tmp_path / "images" / "tmp").iterdir()) == []  # no half-written blob or root left
