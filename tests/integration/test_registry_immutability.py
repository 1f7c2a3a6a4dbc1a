"""Tag immutability and `latest` refusal, enforced by the registry, per repository."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.registry.server import RepositoryPolicy
from tests.integration.registry_support import Registry, make_image, serving


@pytest.fixture
async def reg(tmp_path: Path) -> AsyncIterator[Registry]:
    policies = {
        "dev/*": RepositoryPolicy(immutable_tags=False, allow_latest=True),
        "dev/strict": RepositoryPolicy(),
    }
    async with serving(tmp_path / "data", policies=policies) as r:
        yield r


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and p.name != "registry.lock"}


async def test_moving_a_tag_is_refused_with_a_clear_message_and_nothing_changes(
    reg: Registry, tmp_path: Path
) -> None:
    first, second = make_image("one"), make_image("two")
    assert (await reg.push("demo-api", first, "1.0.0"))[0] == 201
    for digest, data in second.blobs.items():  # the blobs of the new image may be there already
        await reg.call("POST", "/v2/demo-api/blobs/uploads/", params={"digest": digest}, data=data)
    before = _files(tmp_path / "data")
    status, _, body = await reg.call(
        "PUT",
        "/v2/demo-api/manifests/1.0.0",
        data=second.manifest.raw,
        headers={"Content-Type": second.manifest.media_type},
    )
    error = json.loads(body)["errors"][0]
    assert status == 400 and error["code"] == "TAG_INVALID"
    assert error["message"] == (
        f"tag demo-api:1.0.0 is immutable: it points to {first.digest} and cannot be moved to "
        f"{second.digest}; push a new tag"
    )
    assert _files(tmp_path / "data") == before  # not even the refused manifest's bytes
    _, headers, _ = await reg.call("HEAD", "/v2/demo-api/manifests/1.0.0")
    assert headers["Docker-Content-Digest"] == first.digest


async def test_pushing_the_same_digest_again_succeeds_and_changes_nothing(
    reg: Registry, tmp_path: Path
) -> None:
    image = make_image("one")
    await reg.push("demo-api", image, "1.0.0")
    tag_file = tmp_path / "data" / "repositories" / "demo-api" / "_manifests" / "tags" / "1.0.0"
    mtime = tag_file.stat().st_mtime_ns
    status, headers, _ = await reg.push("demo-api", image, "1.0.0")
    assert status == 201 and headers["Docker-Content-Digest"] == image.digest
    assert tag_file.stat().st_mtime_ns == mtime


async def test_latest_is_refused_by_default(reg: Registry) -> None:
    status, _, body = await reg.push("demo-api", make_image("one"), "latest")
    error = json.loads(body)["errors"][0]
    assert (status, error["code"]) == (400, "TAG_INVALID")
    assert (
        error["message"]
        == 'tag "latest" is refused by this registry: tags must be immutable (use <version>-<sha7>)'
    )
    assert (await reg.call("GET", "/v2/demo-api/manifests/latest"))[0] == 404


async def test_per_repository_policies(reg: Registry) -> None:
    one, two = make_image("one"), make_image("two")
    assert (await reg.push("dev/sandbox", one, "latest"))[0] == 201
    assert (await reg.push("dev/sandbox", two, "latest"))[0] == 201
    _, headers, _ = await reg.call("HEAD", "/v2/dev/sandbox/manifests/latest")
    assert headers["Docker-Content-Digest"] == two.digest
    # the exact entry beats the dev/* pattern
    assert (await reg.push("dev/strict", one, "latest"))[0] == 400


async def test_concurrent_pushes_of_one_tag_cannot_both_win(reg: Registry) -> None:
    import asyncio

    images = [make_image(f"racer{i}") for i in range(5)]
    for image in images:
        for digest, data in image.blobs.items():
            await reg.call("POST", "/v2/race/blobs/uploads/", params={"digest": digest}, data=data)
    results = await asyncio.gather(
        *(
            reg.call(
                "PUT",
                "/v2/race/manifests/1.0.0",
                data=i.manifest.raw,
                headers={"Content-Type": i.manifest.media_type},
            )
            for i in images
        )
    )
    winners = [image for image, r in zip(images, results, strict=True) if r[0] == 201]
    assert len(winners) == 1
    _, headers, _ = await reg.call("HEAD", "/v2/race/manifests/1.0.0")
    assert headers["Docker-Content-Digest"] == winners[0].digest
