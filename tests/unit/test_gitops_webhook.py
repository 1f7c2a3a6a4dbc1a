"""POST /hooks/git on a real aiohttp server (127.0.0.1, an ephemeral port): push payloads, an empty POST,
GitHub's ping, a body that is not JSON, and HMAC signatures when a secret is set."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from ferry.delivery.gitops import Webhook, parse_listen

PUSH = {"ref": "refs/heads/main", "after": "3f2a1bc" + "0" * 33, "pusher": {"name": "alice"}}


@pytest.fixture
async def hook() -> AsyncIterator[Callable[..., Webhook]]:
    started: list[Webhook] = []

    def make(secret: str | None = None) -> Webhook:
        w = Webhook(calls.append, secret=secret)
        started.append(w)
        return w

    calls: list[str] = []
    make.calls = calls  # type: ignore[attr-defined]
    yield make
    for w in started:
        await w.close()


async def test_push_payloads_and_an_empty_post_trigger_a_refresh(hook: Callable[..., Webhook]) -> None:
    w = hook()
    url = await w.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=PUSH, headers={"X-GitHub-Event": "push"}) as resp:
            assert resp.status == 202
            assert await resp.json() == {"accepted": True, "after": PUSH["after"]}
        async with http.post(url, data=b"") as resp:
            assert resp.status == 202
        form = {"payload": json.dumps({**PUSH, "ref": "refs/heads/release"})}
        async with http.post(url, data=form) as resp:
            assert resp.status == 202
        async with http.post(url, json={"zen": "hi"}, headers={"X-GitHub-Event": "ping"}) as resp:
            assert resp.status == 200
        async with http.post(url, data=b"{broken", headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 400
            assert "not a JSON push payload" in (await resp.json())["error"]
    assert hook.calls == [  # type: ignore[attr-defined]
        "push to refs/heads/main after 3f2a1bc by alice",
        "empty POST",
        "push to refs/heads/release after 3f2a1bc by alice",
    ]


async def test_with_a_secret_only_signed_requests_are_accepted(hook: Callable[..., Webhook]) -> None:
    w = hook(secret="s3cret")
    url = await w.start("127.0.0.1", 0)
    body = json.dumps(PUSH).encode()
    good = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body) as resp:
            assert resp.status == 401
        async with http.post(url, data=body, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}) as resp:
            assert resp.status == 401
        async with http.post(url, data=body, headers={"X-Hub-Signature-256": f"sha256={good}"}) as resp:
            assert resp.status == 202
        async with http.post(url, data=body, headers={"X-Gitea-Signature": good}) as resp:
            assert resp.status == 202
    assert len(hook.calls) == 2  # type: ignore[attr-defined]


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:8089") == ("127.0.0.1", 8089)
    assert parse_listen(":9000") == ("127.0.0.1", 9000)
    with pytest.raises(ValueError, match=r"--webhook 'localhost': expected HOST:PORT"):
        parse_listen("localhost")
