"""Blob uploads against the fake registry: monolithic, chunked, resumed after a dropped PATCH, mounted, refused."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.registry.client import DigestMismatch, RegistryClient, RegistryUnavailable, RetryPolicy
from tests.unit.registry_client_fake import FakeRegistry, serve

FAST = RetryPolicy(attempts=4, base_delay_seconds=0.001, max_delay_seconds=0.01)


@pytest.fixture
async def fake() -> AsyncIterator[FakeRegistry]:
    async for running in serve(FakeRegistry()):
        yield running


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def test_small_blob_goes_in_one_post_and_one_put(fake: FakeRegistry) -> None:
    data = b"hello layer"
    async with RegistryClient(fake.host, retry=FAST) as client:
        digest, size, pushed = await client.push_blob("demo/app", data)
    assert (digest, size, pushed) == (sha(data), len(data), True)
    assert fake.blobs[digest] == data
    assert fake.count("POST") == 1 and fake.count("PUT") == 1 and fake.count("PATCH") == 0


async def test_a_blob_the_registry_has_is_not_sent_again(fake: FakeRegistry) -> None:
    digest = fake.add_blob("demo/app", b"already there")
    async with RegistryClient(fake.host, retry=FAST) as client:
        assert await client.push_blob("demo/app", b"already there") == (digest, 13, False)
        assert await client.blob_size("demo/app", digest) == 13
    assert fake.count("POST") == 0


async def test_large_file_goes_in_chunks_with_content_range(fake: FakeRegistry, tmp_path: Path) -> None:
    data = os.urandom(250_000)
    path = tmp_path / "layer"
    path.write_bytes(data)
    async with RegistryClient(fake.host, retry=FAST, chunk_size=100_000) as client:
        digest, size, pushed = await client.push_blob("demo/app", path)
    assert (digest, size, pushed) == (sha(data), 250_000, True)
    assert fake.blobs[digest] == data
    assert fake.count("PATCH") == 3
    # the Location's opaque state query string was carried over unchanged
    assert all("_state=" in p for m, p in fake.requests if m in ("PATCH", "PUT"))


async def test_a_patch_dropped_mid_body_resumes_from_the_registrys_range(
    fake: FakeRegistry, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "layer"
    path.write_bytes(data)
    fake.drop_patch_after = 15_000  # the first PATCH keeps 15,000 bytes, then the connection drops
    async with RegistryClient(fake.host, retry=FAST, chunk_size=100_000) as client:
        digest, _, pushed = await client.push_blob("demo/app", path, digest=sha(data))
    assert pushed and digest == sha(data)
    assert fake.blobs[digest] == data
    methods = [m for m, _ in fake.requests]
    # the broken PATCH is followed by a status GET, and the upload goes on in the same session from 15,000
    assert methods == ["HEAD", "POST", "PATCH", "GET", "PATCH", "PATCH", "PATCH", "PUT"]
    offsets = [p.split("_state=s")[1].split("%")[0] for m, p in fake.requests if m == "PATCH"]
    assert offsets == ["0", "15000", "115000", "215000"]


async def test_a_file_whose_content_does_not_match_the_digest_is_not_stored(
    fake: FakeRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "layer"
    path.write_bytes(os.urandom(250_000))
    wrong = sha(b"something else")
    async with RegistryClient(fake.host, retry=FAST, chunk_size=100_000) as client:
        with pytest.raises(DigestMismatch) as caught:
            await client.push_blob("demo/app", path, digest=wrong)
    assert wrong in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert fake.blobs == {} and fake.uploads == {}  # the session was cancelled
    assert fake.count("DELETE") == 1


async def test_bytes_that_do_not_match_the_digest_are_refused_before_any_request(fake: FakeRegistry) -> None:
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(DigestMismatch):
            await client.push_blob("demo/app", b"abc", digest=sha(b"abd"))
    assert fake.requests == []


async def test_mount_from_another_repository_sends_no_bytes(fake: FakeRegistry) -> None:
    digest = fake.add_blob("base/python", b"base layer")
    async with RegistryClient(fake.host, retry=FAST) as client:
        result = await client.push_blob("demo/app", b"base layer", mount_from="base/python")
    assert result == (digest, 10, False)
    assert digest in fake.repo_blobs["demo/app"]
    assert fake.count("PUT") == 0 and fake.count("PATCH") == 0


async def test_mount_refused_falls_back_to_an_upload(fake: FakeRegistry) -> None:
    async with RegistryClient(fake.host, retry=FAST) as client:
        digest, _, pushed = await client.push_blob("demo/app", b"not in base", mount_from="base/python")
    assert pushed and fake.blobs[digest] == b"not in base"


async def test_a_registry_that_will_not_resume_gets_the_blob_again_in_a_new_session(
    fake: FakeRegistry, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "layer"
    path.write_bytes(data)
    fake.drop_patch_after = 70_000  # the first PATCH keeps 70,000 bytes, then the connection drops
    fake.refuse_resume = True
    async with RegistryClient(fake.host, retry=FAST, chunk_size=100_000) as client:
        digest, _, pushed = await client.push_blob("demo/app", path, digest=sha(data))
    assert pushed and fake.blobs[digest] == data
    assert [m for m, _ in fake.requests] == [
        "HEAD",
        "POST",
        "PATCH",
        "GET",
        "POST",
        "PATCH",
        "PATCH",
        "PATCH",
        "PUT",
    ]


async def test_patches_failing_until_the_attempts_run_out_raise_and_store_nothing(
    fake: FakeRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "layer"
    path.write_bytes(os.urandom(250_000))
    fake.fail("PATCH", "/blobs/uploads/", 503, times=100)
    async with RegistryClient(fake.host, retry=FAST, chunk_size=100_000) as client:
        with pytest.raises(RegistryUnavailable, match="UNAVAILABLE: injected 503"):
            await client.push_blob("demo/app", path)
    assert fake.count("PATCH") == 4 and fake.blobs == {}
    assert fake.uploads == {}  # the session was cancelled when the client gave up
