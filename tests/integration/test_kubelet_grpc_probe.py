"""The process kubelet's gRPC probe against grpcio's reference health server, and against servers that fail.

``check_probe({"grpc": ...})`` is the same call the prober makes; the texts are kube's (pkg/probe/grpc/grpc.go).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from ferry.cluster.kubelet.process.probes import check_probe

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


async def _no_exec(argv: list[str], timeout: float) -> tuple[int, bytes]:
    raise AssertionError("exec not expected")


async def _probe(port: int, service: str | None = None) -> tuple[bool, str]:
    action: dict[str, Any] = {"port": port} if service is None else {"port": port, "service": service}
    return await check_probe(
        {"grpc": action, "timeoutSeconds": 1}, host="127.0.0.1", ports=[], exec_fn=_no_exec
    )


class _Metadata(grpc.ServerInterceptor):  # type: ignore[misc]
    """Records each call's metadata (the user agent)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        self.seen.append({str(k): str(v) for k, v in details.invocation_metadata})
        return continuation(details)


@pytest.fixture(scope="module")
def health_server() -> Iterator[tuple[int, health.HealthServicer, _Metadata]]:
    meta = _Metadata()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=[meta])
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port, servicer, meta
    server.stop(None)


async def test_serving_not_serving_and_unknown(health_server: tuple[int, Any, _Metadata]) -> None:
    port, servicer, meta = health_server
    servicer.set("", SERVING)
    servicer.set("orders", NOT_SERVING)
    assert await _probe(port) == (True, "")
    assert await _probe(port, "orders") == (False, 'service unhealthy (responded with "NOT_SERVING")')
    assert meta.seen[-1]["user-agent"].startswith("kube-probe/1.32 grpc-go/")
    servicer.set("orders", SERVING)
    assert await _probe(port, "orders") == (True, "")
    servicer.set("", SERVICE_UNKNOWN)
    assert await _probe(port, "") == (False, 'service unhealthy (responded with "SERVICE_UNKNOWN")')
    servicer.set("", NOT_SERVING)
    assert await _probe(port) == (False, 'service unhealthy (responded with "NOT_SERVING")')
    # a service the server does not know: grpcio answers NOT_FOUND with no message
    assert await _probe(port, "payments") == (
        False,
        "error: health rpc probe failed: rpc error: code = NotFound desc = ",
    )


async def test_server_without_health_service() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        ok, message = await _probe(port)
    finally:
        server.stop(None)
    assert not ok
    assert message.startswith(
        "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): "
    ), message


async def test_nothing_listening() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        assert await _probe(port) == (
            False,
            f'error: failed to connect service at "127.0.0.1:{port}": dial tcp 127.0.0.1:{port}: '
            "connect: connection refused",
        )


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[..., Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]) -> int:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_server_that_never_answers(raw_server: Callable[..., Awaitable[int]]) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads the preface and the call, writes nothing
        writer.close()

    port = await raw_server(silent)
    assert await _probe(port) == (
        False,
        f'timeout: failed to connect service "127.0.0.1:{port}" within 1s: context deadline exceeded',
    )


async def test_server_that_accepts_the_connection_but_never_finishes_the_call(
    raw_server: Callable[..., Awaitable[int]],
) -> None:
    async def stuck(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # an empty SETTINGS frame: the transport is up
        await reader.read()
        writer.close()

    port = await raw_server(stuck)
    assert await _probe(port) == (False, "timeout: health rpc did not complete within 1s")


async def test_http1_server_is_an_error_not_a_hang(raw_server: Callable[..., Awaitable[int]]) -> None:
    async def http1(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nBad Request")
        await writer.drain()
        await reader.read()  # keeps the connection open: the probe must not wait for more
        writer.close()

    port = await raw_server(http1)
    assert await _probe(port) == (
        False,
        f'error: failed to connect service at "127.0.0.1:{port}": error reading server preface: '
        "http2: frame too large",
    )
