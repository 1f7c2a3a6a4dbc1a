"""Authentication: the bearer challenge, the token endpoint, Basic on every request, scopes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from ferry.registry.server import hash_password
from tests.integration.registry_support import Registry, make_image, serving

ALICE = {"Authorization": aiohttp.encode_basic_auth("alice", "s3cret")}


@pytest.fixture
async def reg(tmp_path: Path) -> AsyncIterator[Registry]:
    users = {"alice": hash_password("s3cret", iterations=1000), "bob": "plain-pw"}
    async with serving(tmp_path / "data", users=users) as r:
        yield r


async def _token(reg: Registry, *scopes: str, auth: dict[str, str] = ALICE) -> str:
    params = [("service", "ferry-registry"), *(("scope", s) for s in scopes)]
    status, _, body = await reg.call("GET", "/token", params=params, headers=auth)
    assert status == 200, body
    doc = json.loads(body)
    assert doc["token"] == doc["access_token"] and doc["expires_in"] > 0
    token: str = doc["token"]
    return token


async def test_anonymous_requests_get_the_bearer_challenge(reg: Registry) -> None:
    status, headers, _ = await reg.call("GET", "/v2/")
    assert status == 401
    assert headers["WWW-Authenticate"] == f'Bearer realm="{reg.url}/token",service="ferry-registry"'
    status, headers, body = await reg.call("PUT", "/v2/shop/api/manifests/1.0.0", data=b"{}")
    assert status == 401 and json.loads(body)["errors"][0]["code"] == "UNAUTHORIZED"
    assert headers["WWW-Authenticate"] == (
        f'Bearer realm="{reg.url}/token",service="ferry-registry",scope="repository:shop/api:pull,push"'
    )


async def test_basic_auth_on_every_request(reg: Registry) -> None:
    image = make_image("a")
    for digest, data in image.blobs.items():
        status, _, _ = await reg.call(
            "POST", "/v2/a/blobs/uploads/", params={"digest": digest}, data=data, headers=ALICE
        )
        assert status == 201
    status, _, _ = await reg.call(
        "PUT",
        "/v2/a/manifests/1.0.0",
        data=image.manifest.raw,
        headers={"Content-Type": image.manifest.media_type, **ALICE},
    )
    assert status == 201
    assert (
        await reg.call(
            "GET", "/v2/a/tags/list", headers={"Authorization": aiohttp.encode_basic_auth("bob", "plain-pw")}
        )
    )[0] == 200
    assert (
        await reg.call(
            "GET", "/v2/a/tags/list", headers={"Authorization": aiohttp.encode_basic_auth("alice", "wrong")}
        )
    )[0] == 401


async def test_bearer_token_flow(reg: Registry) -> None:
    token = await _token(reg, "repository:shop/api:pull,push")
    image = make_image("a")
    bearer = {"Authorization": f"Bearer {token}"}
    for digest, data in image.blobs.items():
        status, _, _ = await reg.call(
            "POST", "/v2/shop/api/blobs/uploads/", params={"digest": digest}, data=data, headers=bearer
        )
        assert status == 201
    status, _, _ = await reg.call(
        "PUT",
        "/v2/shop/api/manifests/1.0.0",
        data=image.manifest.raw,
        headers={**bearer, "Content-Type": image.manifest.media_type},
    )
    assert status == 201


async def test_token_scope_is_enforced(reg: Registry) -> None:
    token = await _token(reg, "repository:shop/api:pull")
    bearer = {"Authorization": f"Bearer {token}"}
    status, headers, _ = await reg.call("POST", "/v2/shop/api/blobs/uploads/", headers=bearer)
    assert status == 401 and 'error="insufficient_scope"' in headers["WWW-Authenticate"]
    status, _, _ = await reg.call("GET", "/v2/other/tags/list", headers=bearer)
    assert status == 401
    catalog = await _token(reg, "registry:catalog:*")
    assert (await reg.call("GET", "/v2/_catalog", headers={"Authorization": f"Bearer {catalog}"}))[0] == 200


async def test_forged_token_is_rejected(reg: Registry) -> None:
    token = await _token(reg, "repository:shop/api:pull")
    status, headers, _ = await reg.call("GET", "/v2/", headers={"Authorization": f"Bearer {token[:-4]}AAAA"})
    assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]


async def test_token_endpoint_needs_valid_credentials(reg: Registry) -> None:
    status, headers, _ = await reg.call("GET", "/token", params={"scope": "repository:a:pull"})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    status, _, _ = await reg.call(
        "GET", "/token", headers={"Authorization": aiohttp.encode_basic_auth("alice", "nope")}
    )
    assert status == 401


async def test_password_grant(reg: Registry) -> None:
    form = {"grant_type": "password", "username": "bob", "password": "plain-pw", "scope": "repository:a:pull"}
    status, _, body = await reg.call("POST", "/token", data=form)
    assert status == 200
    token = json.loads(body)["access_token"]
    assert (await reg.call("GET", "/v2/", headers={"Authorization": f"Bearer {token}"}))[0] == 200


async def test_mount_needs_pull_on_the_source(reg: Registry) -> None:
    data = b"layer"
    from ferry.registry.oci import digest_of

    await reg.call(
        "POST", "/v2/private/blobs/uploads/", params={"digest": digest_of(data)}, data=data, headers=ALICE
    )
    token = await _token(reg, "repository:mine:pull,push")  # nothing on `private`
    status, _, _ = await reg.call(
        "POST",
        "/v2/mine/blobs/uploads/",
        params={"mount": digest_of(data), "from": "private"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert status == 202  # no mount: an ordinary upload starts
