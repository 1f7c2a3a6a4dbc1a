"""pods/log?follow=true through the API server: lines arrive as written; the body ends when the container does."""

from __future__ import annotations

import asyncio

from tests.integration.pod_logs_support import LogWorld, world_fixture  # noqa: F401 - fixture
from tests.unit.kubelet_server_support import running, terminated


async def test_follow_streams_and_ends_with_the_container(world: LogWorld) -> None:
    p = await world.run_pod("tail", [running("app")])
    world.node.write(p, "app", 0, ["first"])
    api = world.api
    headers = {"Authorization": f"Bearer {api.token}", "Accept": "application/json, */*"}
    url = api.server + world.log_path("tail", follow="true", timestamps="true")
    async with api.session.get(url, headers=headers, ssl=api.ssl) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        assert await asyncio.wait_for(r.content.readline(), 5) == b"2026-09-21T14:13:20.000000000Z first\n"
        world.node.append_now(p, "app", 0, "second")
        line = await asyncio.wait_for(r.content.readline(), 5)
        assert line.endswith(b"Z second\n")
        world.node.set_status(p, [terminated("app")])
        assert await asyncio.wait_for(r.content.read(), 5) == b""  # the body ends: kubectl -f exits


async def test_client_leaving_ends_the_kubelet_stream(world: LogWorld) -> None:
    p = await world.run_pod("idle", [running("app")])
    world.node.write(p, "app", 0, ["hello"])
    api = world.api
    headers = {"Authorization": f"Bearer {api.token}"}
    url = api.server + world.log_path("idle", follow="true")
    async with api.session.get(url, headers=headers, ssl=api.ssl) as r:
        assert await asyncio.wait_for(r.content.readline(), 5) == b"hello\n"
        await asyncio.sleep(0.1)
        assert world.node.lookups > 2  # the kubelet is following
        r.close()
    await asyncio.sleep(0.5)
    settled = world.node.lookups
    await asyncio.sleep(0.3)
    assert world.node.lookups == settled  # the API server dropped its kubelet connection; the kubelet stopped
