"""Blob endpoints over HTTP: monolithic and chunked uploads, digest checks, ranges, mounts, visibility."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.registry.oci import digest_of
from tests.integration.registry_support import Registry, serving


@pytest.fixture
async def reg(tmp_path: Path) -> AsyncIterator[Registry]:
    async with serving(tmp_path / "data") as r:
        yield r


async def test_base_endpoint_announces_the_api(reg: Registry) -> None:
    status, headers, body = await reg.call("GET", "/v2/")
    assert status == 200 and body == b"{}"
    assert headers["Docker-Distribution-API-Version"] == "registry/2.0"


async def test_monolithic_upload_then_head_and_get(reg: Registry) -> None:
    data = os.urandom(5000)
    digest = digest_of(data)
    status, headers, _ = await reg.call(
        "POST", "/v2/shop/api/blobs/uploads/", params={"digest": digest}, data=data
    )
    assert status == 201
    assert headers["Docker-Content-Digest"] == digest
    assert headers["Location"] == f"{reg.url}/v2/shop/api/blobs/{digest}"
    status, headers, body = await reg.call("HEAD", f"/v2/shop/api/blobs/{digest}")
    assert (status, headers["Content-Length"], body) == (200, "5000", b"")
    assert headers["Docker-Content-Digest"] == digest
    status, _, body = await reg.call("GET", f"/v2/shop/api/blobs/{digest}")
    assert status == 200 and body == data


async def test_range_get(reg: Registry) -> None:
    data = bytes(range(256)) * 4
    await reg.call("POST", "/v2/a/blobs/uploads/", params={"digest": digest_of(data)}, data=data)
    status, headers, body = await reg.call(
        "GET", f"/v2/a/blobs/{digest_of(data)}", headers={"Range": "bytes=10-19"}
    )
    assert status == 206 and body == data[10:20]
    assert headers["Content-Range"] == f"bytes 10-19/{len(data)}"


async def test_digest_mismatch_stores_nothing(reg: Registry, tmp_path: Path) -> None:
    wrong = digest_of(b"something else")
    status, code = await reg.error_code(
        "POST", "/v2/a/blobs/uploads/", params={"digest": wrong}, data=b"payload"
    )
    assert (status, code) == (400, "DIGEST_INVALID")
    assert (await reg.call("HEAD", f"/v2/a/blobs/{wrong}"))[0] == 404
    assert not list((tmp_path / "data" / "blobs").rglob("*")) or all(
        p.is_dir() for p in (tmp_path / "data" / "blobs").rglob("*")
    )
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


async def test_chunked_upload_with_status_and_resume(reg: Registry) -> None:
    data = os.urandom(30000)
    status, headers, _ = await reg.call("POST", "/v2/shop/api/blobs/uploads/")
    assert status == 202 and headers["Range"] == "0-0" and headers["Docker-Upload-UUID"]
    location = headers["Location"]
    status, headers, _ = await reg.call(
        "PATCH",
        location,
        data=data[:10000],
        headers={"Content-Range": "0-9999", "Content-Type": "application/octet-stream"},
    )
    assert status == 202 and headers["Range"] == "0-9999"
    # a client that lost track asks where it is, and resumes from there
    status, headers, _ = await reg.call("GET", location)
    assert status == 204 and headers["Range"] == "0-9999"
    status, headers, _ = await reg.call(
        "PATCH", location, data=data[10000:20000], headers={"Content-Range": "10000-19999"}
    )
    assert status == 202 and headers["Range"] == "0-19999"
    status, headers, _ = await reg.call(
        "PUT", location, params={"digest": digest_of(data)}, data=data[20000:]
    )
    assert status == 201 and headers["Docker-Content-Digest"] == digest_of(data)
    assert (await reg.call("GET", f"/v2/shop/api/blobs/{digest_of(data)}"))[2] == data
    # the session is gone
    assert (await reg.error_code("GET", location)) == (404, "BLOB_UPLOAD_UNKNOWN")


async def test_out_of_order_chunk_is_416_and_appends_nothing(reg: Registry) -> None:
    _, headers, _ = await reg.call("POST", "/v2/a/blobs/uploads/")
    location = headers["Location"]
    await reg.call("PATCH", location, data=b"x" * 100, headers={"Content-Range": "0-99"})
    status, headers, _ = await reg.call(
        "PATCH", location, data=b"y" * 100, headers={"Content-Range": "200-299"}
    )
    assert status == 416 and headers["Range"] == "0-99"
    status, headers, _ = await reg.call("GET", location)
    assert headers["Range"] == "0-99"


async def test_patch_without_content_range_streams(reg: Registry) -> None:
    data = os.urandom(3 << 20)
    _, headers, _ = await reg.call("POST", "/v2/a/blobs/uploads/")

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 1 << 20):
            yield data[i : i + (1 << 20)]

    status, headers, _ = await reg.call("PATCH", headers["Location"], data=stream())
    assert status == 202 and headers["Range"] == f"0-{len(data) - 1}"
    status, _, _ = await reg.call("PUT", headers["Location"], params={"digest": digest_of(data)})
    assert status == 201
    assert (
        hashlib.sha256((await reg.call("GET", f"/v2/a/blobs/{digest_of(data)}"))[2]).hexdigest()
        == digest_of(data)[7:]
    )


async def test_chunked_upload_with_a_wrong_final_digest_stores_nothing(reg: Registry) -> None:
    _, headers, _ = await reg.call("POST", "/v2/a/blobs/uploads/")
    await reg.call("PATCH", headers["Location"], data=b"abc")
    wrong = digest_of(b"abd")
    assert (await reg.error_code("PUT", headers["Location"], params={"digest": wrong})) == (
        400,
        "DIGEST_INVALID",
    )
    assert (await reg.call("HEAD", f"/v2/a/blobs/{wrong}"))[0] == 404
    assert (await reg.call("HEAD", f"/v2/a/blobs/{digest_of(b'abc')}"))[0] == 404


async def test_cancel_upload(reg: Registry) -> None:
    _, headers, _ = await reg.call("POST", "/v2/a/blobs/uploads/")
    assert (await reg.call("DELETE", headers["Location"]))[0] == 204
    assert (await reg.error_code("PATCH", headers["Location"], data=b"x")) == (404, "BLOB_UPLOAD_UNKNOWN")


async def test_an_upload_belongs_to_its_repository(reg: Registry) -> None:
    _, headers, _ = await reg.call("POST", "/v2/a/blobs/uploads/")
    uuid = headers["Docker-Upload-UUID"]
    assert (await reg.error_code("GET", f"/v2/b/blobs/uploads/{uuid}")) == (404, "BLOB_UPLOAD_UNKNOWN")


async def test_blob_pushed_to_a_is_not_readable_from_b_until_mounted(reg: Registry) -> None:
    data = b"shared layer"
    digest = digest_of(data)
    await reg.call("POST", "/v2/shop/a/blobs/uploads/", params={"digest": digest}, data=data)
    assert (await reg.error_code("GET", f"/v2/shop/b/blobs/{digest}")) == (404, "BLOB_UNKNOWN")
    status, headers, _ = await reg.call(
        "POST", "/v2/shop/b/blobs/uploads/", params={"mount": digest, "from": "shop/a"}
    )
    assert status == 201 and headers["Docker-Content-Digest"] == digest
    assert (await reg.call("GET", f"/v2/shop/b/blobs/{digest}"))[2] == data


async def test_mount_of_an_unknown_blob_falls_back_to_an_upload(reg: Registry) -> None:
    digest = digest_of(b"nowhere")
    status, headers, _ = await reg.call(
        "POST", "/v2/shop/b/blobs/uploads/", params={"mount": digest, "from": "shop/a"}
    )
    assert status == 202 and "/v2/shop/b/blobs/uploads/" in headers["Location"]


async def test_delete_blob_unlinks_it_from_the_repository(reg: Registry) -> None:
    digest = digest_of(b"gone")
    await reg.call("POST", "/v2/a/blobs/uploads/", params={"digest": digest}, data=b"gone")
    assert (await reg.call("DELETE", f"/v2/a/blobs/{digest}"))[0] == 202
    assert (await reg.error_code("HEAD", f"/v2/a/blobs/{digest}"))[0] == 404
    assert (await reg.error_code("DELETE", f"/v2/a/blobs/{digest}")) == (404, "BLOB_UNKNOWN")


async def test_concurrent_uploads_of_the_same_blob(reg: Registry) -> None:
    data = os.urandom(1 << 20)
    digest = digest_of(data)
    results = await asyncio.gather(
        *(
            reg.call("POST", f"/v2/r{i}/blobs/uploads/", params={"digest": digest}, data=data)
            for i in range(6)
        )
    )
    assert [r[0] for r in results] == [201] * 6
    for i in range(6):
        assert (await reg.call("GET", f"/v2/r{i}/blobs/{digest}"))[2] == data


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v2/Shop/blobs/" + digest_of(b"x"), (400, "NAME_INVALID")),
        ("/v2/shop/blobs/sha256:xyz", (400, "DIGEST_INVALID")),
        ("/v2/shop/blobs/" + digest_of(b"x"), (404, "BLOB_UNKNOWN")),
    ],
)
async def test_errors_have_spec_bodies(reg: Registry, path: str, expected: tuple[int, str]) -> None:
    assert (await reg.error_code("GET", path)) == expected
