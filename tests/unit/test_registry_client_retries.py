"""What the client retries (connection errors, 429, 502/503/504) and what it never retries (other 4xx)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from ferry.registry._retry import retry_delay
from ferry.registry.client import NotFound, RegistryClient, RegistryError, RegistryUnavailable, RetryPolicy
from tests.unit.registry_client_fake import FakeRegistry, serve

FAST = RetryPolicy(attempts=4, base_delay_seconds=0.001, max_delay_seconds=0.01)


@pytest.fixture
async def fake() -> AsyncIterator[FakeRegistry]:
    async for running in serve(FakeRegistry()):
        yield running


def test_delays_double_and_are_capped() -> None:
    policy = RetryPolicy(attempts=6, base_delay_seconds=0.5, max_delay_seconds=3.0)
    assert [retry_delay(policy, n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0, None]


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=4, base_delay_seconds=0.1, max_delay_seconds=5.0)
    assert retry_delay(policy, 1, status=429, retry_after="2") == 2.0
    assert retry_delay(policy, 1, status=503, retry_after="60") == 5.0
    assert retry_delay(policy, 1, status=503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT") == 0.1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 416, 500])
def test_statuses_that_are_never_retried(status: int) -> None:
    assert retry_delay(RetryPolicy(), 1, status=status) is None


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_statuses_that_are_retried(status: int) -> None:
    assert retry_delay(RetryPolicy(), 1, status=status) == 0.2


def test_tls_errors_are_not_retried_but_connection_errors_are() -> None:
    refused = aiohttp.ClientConnectionError("refused")
    assert retry_delay(RetryPolicy(), 1, error=refused) == 0.2
    assert retry_delay(RetryPolicy(), 1, error=TimeoutError()) == 0.2
    assert retry_delay(RetryPolicy(), 1, error=aiohttp.ClientSSLError(None, OSError("x"))) is None  # type: ignore[arg-type]


async def test_503_then_success_is_retried(fake: FakeRegistry) -> None:
    digest = fake.add_blob("demo/app", b"layer")
    fake.fail("GET", "/blobs/", 503, times=2)
    async with RegistryClient(fake.host, retry=FAST) as client:
        assert await client.pull_blob("demo/app", digest) == b"layer"
    assert fake.count("GET", "/blobs/") == 3


async def test_503_until_the_attempts_run_out_is_registry_unavailable(fake: FakeRegistry) -> None:
    fake.fail("GET", "/tags/list", 503, times=10)
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(RegistryUnavailable) as caught:
            await client.list_tags("demo/app")
    assert fake.count("GET", "/tags/list") == 4
    assert caught.value.status == 503
    assert (
        str(caught.value) == f"registry {fake.host}: UNAVAILABLE: injected 503 (GET /v2/demo/app/tags/list)"
    )


async def test_a_4xx_is_not_retried(fake: FakeRegistry) -> None:
    fake.fail("GET", "/tags/list", 400, code="NAME_INVALID")
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(RegistryError) as caught:
            await client.list_tags("demo/app")
    assert fake.count("GET", "/tags/list") == 1
    assert caught.value.code == "NAME_INVALID" and caught.value.status == 400


async def test_a_404_is_not_found_and_not_retried(fake: FakeRegistry) -> None:
    async with RegistryClient(fake.host, retry=FAST) as client:
        with pytest.raises(NotFound):
            await client.get_manifest("demo/app", "1.0.0")
    assert fake.count("GET") == 1


async def test_a_registry_that_is_down_is_one_line_naming_it() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with RegistryClient(f"127.0.0.1:{port}", retry=FAST) as client:
        with pytest.raises(RegistryUnavailable) as caught:
            await client.ping()
    message = str(caught.value)
    assert message.startswith(f"registry 127.0.0.1:{port} is unavailable: ")
    assert message.endswith("after 4 attempts (GET /v2/)")
    assert "\n" not in message


async def test_https_to_a_plain_http_registry_fails_at_once_with_a_hint(fake: FakeRegistry) -> None:
    async with RegistryClient(f"https://{fake.host}", retry=FAST) as client:
        with pytest.raises(RegistryError) as caught:
            await client.ping()
    assert not isinstance(caught.value, RegistryUnavailable)
    assert str(caught.value).startswith(f"registry {fake.host}: TLS failed: ")
    assert f"use http://{fake.host} or insecure=True" in str(caught.value)
    assert fake.requests == []
