"""The kubelet API serving /containerLogs over TLS from CRI files the test writes, option by option."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from ferry.cluster.kubelet.server import RunningServer, start_kubelet_server
from tests.unit.kubelet_server_support import (
    SECOND,
    T0,
    FakeNode,
    client_context,
    make_pki,
    pod,
    running,
    serving_pair,
    terminated,
    waiting,
)


@dataclass
class Kubelet:
    node: FakeNode
    server: RunningServer
    session: aiohttp.ClientSession
    ssl: ssl.SSLContext

    async def get(self, path: str, **query: str) -> tuple[int, str]:
        async with self.session.get(self.server.url + path, params=query, ssl=self.ssl) as r:
            return r.status, await r.text()


@pytest.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[Kubelet]:
    pki = make_pki(tmp_path / "pki")
    node = FakeNode(tmp_path / "logs")
    server = await start_kubelet_server(
        "127.0.0.1", 0, node.log_file_for, pods=node.lookup, tls=serving_pair(pki), poll_seconds=0.02
    )
    try:
        async with aiohttp.ClientSession() as session:
            yield Kubelet(node, server, session, client_context(pki))
    finally:
        await server.close()


LINES = ["one", "two", "three", "four"]


def _web(k: Kubelet) -> dict[str, object]:
    p = k.node.add(pod("shop", "web", [running("app", 1, crashed_before=True)]))
    k.node.write(p, "app", 0, ["before the crash"])
    k.node.write(p, "app", 1, LINES)
    return p


async def test_whole_log_of_the_current_run(kubelet: Kubelet) -> None:
    _web(kubelet)
    assert await kubelet.get("/containerLogs/shop/web/app") == (200, "one\ntwo\nthree\nfour\n")


async def test_previous_run(kubelet: Kubelet) -> None:
    _web(kubelet)
    assert await kubelet.get("/containerLogs/shop/web/app", previous="true") == (200, "before the crash\n")


async def test_tail_lines_and_timestamps(kubelet: Kubelet) -> None:
    _web(kubelet)
    status, body = await kubelet.get("/containerLogs/shop/web/app", tailLines="2", timestamps="true")
    assert status == 200
    assert body == "2026-09-21T14:13:22.000000000Z three\n2026-09-21T14:13:23.000000000Z four\n"
    assert await kubelet.get("/containerLogs/shop/web/app", tailLines="0") == (200, "")


async def test_since_time_and_limit_bytes(kubelet: Kubelet) -> None:
    _web(kubelet)
    assert await kubelet.get("/containerLogs/shop/web/app", sinceTime="2026-09-21T14:13:22Z") == (
        200,
        "three\nfour\n",
    )
    assert await kubelet.get("/containerLogs/shop/web/app", limitBytes="6") == (200, "one\ntw")


async def test_since_seconds(kubelet: Kubelet) -> None:
    p = kubelet.node.add(pod("shop", "api", [running("app")]))
    now = time.time_ns()
    kubelet.node.write(p, "app", 0, ["old", "recent"], start_ns=now - 3600 * SECOND, step_ns=3590 * SECOND)
    assert await kubelet.get("/containerLogs/shop/api/app", sinceSeconds="60") == (200, "recent\n")


async def test_stderr_is_served_with_stdout(kubelet: Kubelet) -> None:
    p = kubelet.node.add(pod("shop", "api", [running("app")]))
    kubelet.node.write(p, "app", 0, ["out"], start_ns=T0)
    kubelet.node.write(p, "app", 0, ["err"], start_ns=T0 + SECOND, stream="stderr")
    assert await kubelet.get("/containerLogs/shop/api/app") == (200, "out\nerr\n")


async def test_errors_are_the_kubelets_plain_text(kubelet: Kubelet) -> None:
    kubelet.node.add(pod("shop", "new", [waiting("app", "ContainerCreating")]))
    kubelet.node.add(pod("shop", "fresh", [running("app")]))
    assert await kubelet.get("/containerLogs/shop/new/app") == (
        400,
        'container "app" in pod "new" is waiting to start: ContainerCreating\n',
    )
    assert await kubelet.get("/containerLogs/shop/fresh/app", previous="true") == (
        400,
        'previous terminated container "app" in pod "fresh" not found\n',
    )
    assert await kubelet.get("/containerLogs/shop/gone/app") == (404, 'pod "gone" does not exist\n')
    assert await kubelet.get("/containerLogs/shop/fresh/nope") == (
        404,
        'container "nope" not found in pod "fresh"\n',
    )
    assert await kubelet.get("/containerLogs/shop/fresh/app", tailLines="-1") == (422, "Invalid request.\n")
    assert await kubelet.get("/containerLogs/shop/fresh/app", tailLines="x") == (
        400,
        "Unable to decode query.\n",
    )


async def test_follow_streams_until_the_container_exits(kubelet: Kubelet) -> None:
    p = kubelet.node.add(pod("shop", "tail", [running("app")]))
    kubelet.node.write(p, "app", 0, ["first"])
    url = kubelet.server.url + "/containerLogs/shop/tail/app"
    async with kubelet.session.get(url, params={"follow": "true"}, ssl=kubelet.ssl) as r:
        assert r.status == 200
        assert await asyncio.wait_for(r.content.readline(), 5) == b"first\n"
        kubelet.node.append_now(p, "app", 0, "second")
        assert await asyncio.wait_for(r.content.readline(), 5) == b"second\n"
        kubelet.node.append_now(p, "app", 0, "last words")
        kubelet.node.set_status(p, [terminated("app")])
        rest = await asyncio.wait_for(r.content.read(), 5)  # ends: the body is finished
    assert rest == b"last words\n"


async def test_follow_of_a_finished_container_returns_at_once(kubelet: Kubelet) -> None:
    p = kubelet.node.add(pod("shop", "done", [terminated("app")]))
    kubelet.node.write(p, "app", 0, ["bye"])
    status, body = await asyncio.wait_for(kubelet.get("/containerLogs/shop/done/app", follow="true"), 5)
    assert (status, body) == (200, "bye\n")


async def test_follow_stops_when_the_client_goes(kubelet: Kubelet) -> None:
    p = kubelet.node.add(pod("shop", "idle", [running("app")]))
    kubelet.node.write(p, "app", 0, ["hello"])
    url = kubelet.server.url + "/containerLogs/shop/idle/app"
    async with kubelet.session.get(url, params={"follow": "true"}, ssl=kubelet.ssl) as r:
        assert await asyncio.wait_for(r.content.readline(), 5) == b"hello\n"
        await asyncio.sleep(0.1)
        assert kubelet.node.lookups > 2  # the server is polling: the stream is open
        r.close()  # the client goes away without reading to the end
    await asyncio.sleep(0.3)
    settled = kubelet.node.lookups
    await asyncio.sleep(0.3)
    assert kubelet.node.lookups == settled  # the handler has ended: no more polls
