"""The ingress proxy on 127.0.0.1 against fake backends on 127.0.0.2/.3: routing, round-robin, readiness, the
404/502/503 answers, forwarded headers, streamed bodies both ways and client keep-alive."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ferry.cluster.network.ingress import IngressProxy
from ferry.cluster.network.ingressrules import RouteTable
from ferry.cluster.network.services import ServiceTable
from tests.unit.test_network_proxy import free_port

A, B = "127.0.0.2", "127.0.0.3"
RELEASE = web.AppKey("release", asyncio.Event)


def service(name: str, port: int = 80, port_name: str = "http") -> dict[str, Any]:
    return {
        "metadata": {"namespace": "default", "name": name},
        "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": port_name, "port": port, "protocol": "TCP"}]},
    }


def endpoints(
    name: str, target: int, *ips: str, ready: bool = True, port_name: str = "http"
) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "default",
            "name": f"{name}-abc",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": [{"name": port_name, "port": target, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}} for ip in ips],
    }


def rules() -> list[dict[str, Any]]:
    def path(p: str, kind: str, svc: str, port: dict[str, Any]) -> dict[str, Any]:
        return {"path": p, "pathType": kind, "backend": {"service": {"name": svc, "port": port}}}

    spec = {
        "rules": [
            {"host": "shop.test", "http": {"paths": [path("/", "Prefix", "web", {"number": 80})]}},
            {
                "host": "api.test",
                "http": {
                    "paths": [
                        path("/v1", "Prefix", "api", {"name": "http"}),
                        path("/status", "Exact", "web", {"number": 80}),
                        path("/gone", "Prefix", "missing", {"number": 80}),
                        path("/down", "Prefix", "down", {"number": 80}),
                    ]
                },
            },
        ]
    }
    return [{"metadata": {"namespace": "default", "name": "main"}, "spec": spec}]


async def handle(request: web.Request) -> web.StreamResponse:
    me = request.transport.get_extra_info("sockname")[0] if request.transport else "?"
    if request.path == "/v1/echo":
        body = await request.read()
        return web.Response(body=body, headers={"X-Backend": me})
    if request.path == "/v1/slow":  # answers once the test releases it
        await request.app[RELEASE].wait()
        return web.Response(text="late")
    if request.path == "/v1/stream":  # a chunked answer of 3 MB, in pieces
        out = web.StreamResponse(headers={"X-Backend": me})
        await out.prepare(request)
        for _ in range(48):
            await out.write(b"x" * 65536)
        await out.write_eof()
        return out
    info = {
        "backend": me,
        "path": request.path_qs,
        "host": request.headers.get("Host"),
        "forwarded": {k: v for k, v in request.headers.items() if k.lower().startswith("x-")},
        "connection": request.headers.get("Connection"),
    }
    return web.json_response(info, headers={"X-Backend": me, "Connection": "keep-alive", "Keep-Alive": "5"})


@pytest.fixture
async def world() -> AsyncIterator[tuple[IngressProxy, ServiceTable, int, list[web.Application]]]:
    port = free_port(A, B)
    runners = []
    for host in (A, B):
        runner = web.AppRunner(web.Application(client_max_size=8 << 20))
        runner.app[RELEASE] = asyncio.Event()
        runner.app.router.add_route("*", "/{tail:.*}", handle)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        runners.append(runner)
    table = ServiceTable()
    for name in ("web", "api", "down"):
        table.apply_service(service(name))
    table.apply_slice(endpoints("web", port, A, B))
    table.apply_slice(endpoints("api", port, B))
    table.apply_slice(endpoints("down", port, A, ready=False))
    proxy = IngressProxy(table, connect_timeout_seconds=1.0)
    proxy.routes = RouteTable.build(rules())
    await proxy.start()
    try:
        yield proxy, table, port, [r.app for r in runners]
    finally:
        await proxy.close()
        for runner in runners:
            await runner.cleanup()


async def get(proxy: IngressProxy, host: str, path: str, **kw: Any) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as s,
        s.request(
            kw.pop("method", "GET"), f"http://127.0.0.1:{proxy.port}{path}", headers={"Host": host}, **kw
        ) as r,
    ):
        return r.status, dict(r.headers), await r.read()


async def test_routes_by_host_and_path_round_robin_with_forwarded_headers(world: Any) -> None:
    proxy, _, _, _ = world
    answers = [json.loads((await get(proxy, "shop.test", "/cart?id=1"))[2]) for _ in range(4)]
    assert [a["backend"] for a in answers] == [A, B, A, B]
    first = answers[0]
    assert first["path"] == "/cart?id=1" and first["host"] == "shop.test"
    fwd = {k.lower(): v for k, v in first["forwarded"].items()}
    assert fwd["x-forwarded-for"] == "127.0.0.1" and fwd["x-real-ip"] == "127.0.0.1"
    assert fwd["x-forwarded-host"] == "shop.test" and fwd["x-forwarded-proto"] == "http"
    assert fwd["x-forwarded-port"] == str(proxy.port)
    status, headers, body = await get(proxy, "api.test", "/v1/items")
    assert status == 200 and json.loads(body)["backend"] == B
    assert "Keep-Alive" not in headers  # hop-by-hop headers of the backend's are not passed on
    status, _, body = await get(proxy, "api.test", "/status")
    assert status == 200 and json.loads(body)["path"] == "/status"


async def test_a_client_cannot_forge_the_forwarded_for_address(world: Any) -> None:
    proxy, _, _, _ = world
    forged = {"Host": "shop.test", "X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6"}
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{proxy.port}/", headers=forged) as r:
        fwd = {k.lower(): v for k, v in (await r.json())["forwarded"].items()}
    assert fwd["x-forwarded-for"] == "127.0.0.1" and fwd["x-real-ip"] == "127.0.0.1"


async def test_no_rule_is_404_and_no_ready_endpoint_or_service_is_503(world: Any) -> None:
    proxy, table, port, _ = world
    assert (await get(proxy, "nowhere.test", "/"))[0] == 404
    assert (await get(proxy, "api.test", "/status/x"))[0] == 404  # Exact
    assert (await get(proxy, "api.test", "/v2"))[0] == 404
    status, _, body = await get(proxy, "api.test", "/down")
    assert (status, body) == (503, b"503 Service Temporarily Unavailable\n")
    assert (await get(proxy, "api.test", "/gone"))[0] == 503  # no such Service
    table.apply_slice(endpoints("down", port, A, ready=True))  # readiness applies to the next request
    assert (await get(proxy, "api.test", "/down"))[0] == 200


async def test_refusing_endpoints_are_skipped_and_all_refusing_is_502(world: Any) -> None:
    proxy, table, port, _ = world
    table.apply_slice(endpoints("web", port, "127.0.0.4", A))  # nothing listens on .4
    for _ in range(3):
        status, _, body = await get(proxy, "shop.test", "/")
        assert status == 200 and json.loads(body)["backend"] == A
    table.apply_slice(endpoints("web", port, "127.0.0.4"))
    assert (await get(proxy, "shop.test", "/"))[0] == 502


async def test_bodies_stream_both_ways(world: Any) -> None:
    proxy, _, _, _ = world
    payload = bytes(range(256)) * 12_000  # 3 MB

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 100_000):
            yield payload[i : i + 100_000]

    status, _, body = await get(proxy, "api.test", "/v1/echo", method="POST", data=chunks())  # chunked
    assert status == 200 and body == payload
    status, _, body = await get(proxy, "api.test", "/v1/echo", method="PUT", data=payload)  # Content-Length
    assert status == 200 and body == payload
    status, headers, body = await get(proxy, "api.test", "/v1/stream")
    assert status == 200 and len(body) == 48 * 65536 and headers.get("Transfer-Encoding") == "chunked"


async def test_requests_in_flight_are_counted_per_backend(world: Any) -> None:
    proxy, _, _, apps = world
    slow = asyncio.create_task(get(proxy, "api.test", "/v1/slow"))
    deadline = asyncio.get_running_loop().time() + 5
    while proxy.active_requests(B) == 0 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    assert (proxy.active_requests(B), proxy.active_requests(A), proxy.active_requests()) == (1, 0, 1)
    for app in apps:
        app[RELEASE].set()
    assert (await slow)[2] == b"late"
    assert proxy.active_requests() == 0


async def test_client_connections_are_kept_alive(world: Any) -> None:
    proxy, _, _, _ = world
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        backends = []
        for _ in range(2):
            writer.write(b"GET /x HTTP/1.1\r\nHost: shop.test\r\n\r\n")
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode()
            assert head.startswith("HTTP/1.1 200")
            length = next(
                int(h.split(":")[1]) for h in head.split("\r\n") if h.lower().startswith("content-length")
            )
            backends.append(json.loads(await reader.readexactly(length))["backend"])
        assert backends == [A, B]  # two requests, one client connection
    finally:
        writer.close()


async def test_a_taken_port_raises_and_a_restart_picks_up_new_routes(world: Any) -> None:
    proxy, table, _, _ = world
    other = IngressProxy(table, port=proxy.port)
    with pytest.raises(OSError):
        await other.start()
    proxy.routes = RouteTable()
    assert (await get(proxy, "shop.test", "/"))[0] == 404
