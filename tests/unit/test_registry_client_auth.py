"""Authentication: the Bearer token flow (realm/service/scope), tokens cached per scope, Basic, refusals."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from ferry.registry._auth import parse_challenge
from ferry.registry.client import RegistryClient, RetryPolicy, Unauthorized
from tests.unit.registry_client_fake import FakeRegistry, serve

FAST = RetryPolicy(attempts=2, base_delay_seconds=0.001, max_delay_seconds=0.01)


@pytest.fixture
async def fake() -> AsyncIterator[FakeRegistry]:
    async for running in serve(FakeRegistry()):
        yield running


def test_parse_a_bearer_challenge() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/app:pull,push"'
    )
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://ghcr.io/token",
        "service": "ghcr.io",
        "scope": "repository:org/app:pull,push",
    }


def test_parse_a_basic_challenge_and_escapes() -> None:
    challenge = parse_challenge('Basic realm="say \\"hi\\""')
    assert challenge is not None and challenge.scheme == "basic" and challenge.params == {"realm": 'say "hi"'}
    assert parse_challenge("") is None


async def test_bearer_challenge_then_token_then_success(fake: FakeRegistry) -> None:
    fake.auth, fake.credentials = "bearer", ("ci", "s3cret")
    digest = fake.add_blob("demo/app", b"layer")
    async with RegistryClient(fake.host, username="ci", password="s3cret", retry=FAST) as client:
        assert await client.pull_blob("demo/app", digest) == b"layer"
        assert await client.blob_size("demo/app", digest) == 5
    assert [m for m, _ in fake.requests] == ["GET", "GET", "HEAD"]  # 401, then with the token; HEAD reuses it
    assert len(fake.token_requests) == 1
    request = fake.token_requests[0]
    assert ("service", "fake") in request["query"]
    assert ("scope", "repository:demo/app:pull") in request["query"]
    assert request["auth"] == "Basic " + base64.b64encode(b"ci:s3cret").decode()


async def test_anonymous_bearer_token_for_public_pulls(fake: FakeRegistry) -> None:
    fake.auth = "bearer"
    digest = fake.add_blob("library/busybox", b"public")
    async with RegistryClient(fake.host, retry=FAST) as client:
        assert await client.pull_blob("library/busybox", digest) == b"public"
    assert fake.token_requests[0]["auth"] is None


async def test_tokens_are_cached_per_scope(fake: FakeRegistry) -> None:
    fake.auth = "bearer"
    a = fake.add_blob("team/a", b"a")
    b = fake.add_blob("team/b", b"b")
    async with RegistryClient(fake.host, retry=FAST) as client:
        for _ in range(3):
            await client.pull_blob("team/a", a)
            await client.pull_blob("team/b", b)
    assert len(fake.token_requests) == 2


async def test_an_expired_token_is_replaced_once(fake: FakeRegistry) -> None:
    fake.auth = "bearer"
    digest = fake.add_blob("demo/app", b"layer")
    async with RegistryClient(fake.host, retry=FAST) as client:
        await client.pull_blob("demo/app", digest)
        fake.revoke_tokens()
        assert await client.pull_blob("demo/app", digest) == b"layer"
    assert len(fake.token_requests) == 2


async def test_refused_credentials_are_unauthorized_naming_the_registry(fake: FakeRegistry) -> None:
    fake.auth, fake.credentials = "bearer", ("ci", "s3cret")
    async with RegistryClient(fake.host, username="ci", password="wrong", retry=FAST) as client:
        with pytest.raises(Unauthorized) as caught:
            await client.ping()
    message = str(caught.value)
    assert message.startswith(f"registry {fake.host}: token request to http://{fake.host}/token was refused")
    assert "'ci'" in message and "wrong" not in message


async def test_basic_auth(fake: FakeRegistry) -> None:
    fake.auth, fake.credentials = "basic", ("ci", "s3cret")
    async with RegistryClient(fake.host, username="ci", password="s3cret", retry=FAST) as client:
        await client.ping()
        await client.ping()
    assert [m for m, _ in fake.requests] == ["GET", "GET", "GET"]  # one 401, then Basic sent up front


async def test_basic_auth_without_credentials_is_unauthorized(fake: FakeRegistry) -> None:
    fake.auth, fake.credentials = "basic", ("ci", "s3cret")
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(Unauthorized) as caught:
            await client.ping()
    assert caught.value.status == 401
    assert str(caught.value) == f"registry {fake.host}: UNAUTHORIZED: authentication required (GET /v2/)"
