"""An in-process embedded cluster per test: the real server stack (TLS, auth, store on disk) on port 0."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ferry.cluster.server import ClusterConfig, run_cluster


@dataclass
class Response:
    status: int
    body: Any
    headers: Any
    raw: bytes


class Api:
    """A tiny client: ``await api.get("/api/v1/namespaces")`` → Response with parsed JSON."""

    def __init__(self, server: str, token: str, ca: Path, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.token = token
        self.ssl = ssl.create_default_context(cafile=str(ca))
        self.session = session

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        token: str | None = "default",
    ) -> Response:
        h = {"Accept": "application/json"}
        if token == "default":
            h["Authorization"] = f"Bearer {self.token}"
        elif token is not None:
            h["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            h["Content-Type"] = content_type
        h.update(headers or {})
        async with self.session.request(
            method, self.server + path, data=data, headers=h, ssl=self.ssl
        ) as resp:
            raw = await resp.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode(errors="replace")
            return Response(resp.status, parsed, resp.headers, raw)

    async def get(self, path: str, **kw: Any) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return await self.request("POST", path, body=body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> Response:
        return await self.request("PUT", path, body=body, **kw)

    async def patch(
        self, path: str, body: Any = None, *, content_type: str = "application/merge-patch+json", **kw: Any
    ) -> Response:
        return await self.request("PATCH", path, body=body, content_type=content_type, **kw)

    async def delete(self, path: str, body: Any = None, **kw: Any) -> Response:
        return await self.request("DELETE", path, body=body, **kw)

    async def watch(self, path: str, *, max_events: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Open a watch and collect up to ``max_events`` events (or until the stream ends/times out)."""
        events: list[dict[str, Any]] = []
        h = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        async with self.session.get(self.server + path, headers=h, ssl=self.ssl) as resp:
            assert resp.status == 200, await resp.text()
            with contextlib.suppress(asyncio.TimeoutError):
                async with asyncio.timeout(timeout):
                    async for line in resp.content:
                        if line.strip():
                            events.append(json.loads(line))
                            if len(events) >= max_events:
                                break
        return events


@dataclass
class Cluster:
    api: Api
    config: ClusterConfig
    ctx_holder: dict[str, Any]

    @property
    def ctx(self) -> Any:
        """The server's ApiContext (store, catalog, storage), for white-box steps like forcing compaction."""
        return self.ctx_holder["ctx"]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    holder: dict[str, Any] = {}

    async def capture(ctx: Any, stop: asyncio.Event) -> None:
        holder["ctx"] = ctx

    config = ClusterConfig(
        data_dir=tmp_path / "cluster",
        port=0,
        compaction_window_seconds=300,
        runtime="none",
        registry_port=None,  # the registry has its own tests; these clusters need none
        components=[capture],
    )
    stop = asyncio.Event()
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_cluster(config, stop=stop, ready=lambda url: started.set_result(url)))
    done, _ = await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    url = started.result()
    token = (config.data_dir / "admin.token").read_text().strip()
    async with aiohttp.ClientSession() as session:
        yield Cluster(Api(url, token, config.data_dir / "pki" / "ca.crt", session), config, holder)
    stop.set()
    await task


@pytest.fixture
def api(cluster: Cluster) -> Api:
    return cluster.api


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.05
) -> Any:
    """Await ``check()`` until it returns something truthy (returned), failing after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached within {timeout:.0f} s")
        await asyncio.sleep(interval)
