"""The process kubelet's probes: one check (httpGet, tcpSocket, exec) and the Prober's timing and thresholds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ferry.cluster.kubelet.process.probes import Prober, check_probe


async def _no_exec(argv: list[str], timeout: float) -> tuple[int, bytes]:
    raise AssertionError("exec not expected")


@pytest.fixture
async def http_server() -> AsyncIterator[tuple[int, list[str]]]:
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        path = line.split()[1]
        seen.append(path)
        code = {"/ok": 200, "/redirect": 302, "/slow": 200}.get(path, 500)
        if path == "/slow":
            await asyncio.sleep(2)
        writer.write(f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, seen
    server.close()
    await server.wait_closed()


async def test_http_get_succeeds_for_2xx_and_3xx_and_fails_otherwise(
    http_server: tuple[int, list[str]],
) -> None:
    port, seen = http_server
    ports = [{"name": "web", "containerPort": port}]
    for path, ok in (("/ok", True), ("/redirect", True), ("/broken", False)):
        probe = {"httpGet": {"path": path, "port": "web"}}
        result = await check_probe(probe, host="127.0.0.1", ports=ports, exec_fn=_no_exec)
        assert result[0] is ok, (path, result)
    assert seen == ["/ok", "/redirect", "/broken"]
    failed = await check_probe(
        {"httpGet": {"path": "/x", "port": port}}, host="127.0.0.1", ports=[], exec_fn=_no_exec
    )
    assert failed == (False, "HTTP probe failed with statuscode: 500")


async def test_a_probe_that_exceeds_timeout_seconds_fails(http_server: tuple[int, list[str]]) -> None:
    port, _ = http_server
    probe = {"httpGet": {"path": "/slow", "port": port}, "timeoutSeconds": 1}
    assert await check_probe(probe, host="127.0.0.1", ports=[], exec_fn=_no_exec) == (
        False,
        "probe timed out after 1s",
    )


async def test_tcp_socket_succeeds_when_the_port_accepts(http_server: tuple[int, list[str]]) -> None:
    port, _ = http_server
    assert (await check_probe({"tcpSocket": {"port": port}}, host="127.0.0.1", ports=[], exec_fn=_no_exec))[0]
    closed = await check_probe({"tcpSocket": {"port": 1}}, host="127.0.0.1", ports=[], exec_fn=_no_exec)
    assert closed[0] is False


async def test_exec_succeeds_on_exit_zero_and_reports_the_output_otherwise() -> None:
    calls: list[tuple[list[str], float]] = []

    async def exec_fn(argv: list[str], timeout: float) -> tuple[int, bytes]:
        calls.append((argv, timeout))
        return (0, b"") if argv[-1] == "good" else (1, b"not healthy\n")

    probe = {"exec": {"command": ["check", "good"]}, "timeoutSeconds": 3}
    assert await check_probe(probe, host="", ports=[], exec_fn=exec_fn) == (True, "")
    bad = {"exec": {"command": ["check", "bad"]}}
    assert await check_probe(bad, host="", ports=[], exec_fn=exec_fn) == (False, "not healthy")
    assert calls == [(["check", "good"], 3.0), (["check", "bad"], 1.0)]


class Script:
    """Probe outcomes in order, and a sleep that records its delays instead of waiting."""

    def __init__(self, outcomes: list[bool]) -> None:
        self.outcomes = list(outcomes)
        self.sleeps: list[float] = []
        self.results: list[bool] = []
        self.failures = 0

    async def check(self) -> tuple[bool, str]:
        if not self.outcomes:
            raise asyncio.CancelledError
        return self.outcomes.pop(0), "nope"

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def prober(self, kind: str, probe: dict[str, object]) -> Prober:
        def failure(message: str) -> None:
            self.failures += 1

        return Prober(kind, probe, self.check, lambda ok, m: self.results.append(ok), failure, self.sleep)


async def test_readiness_needs_success_threshold_successes_and_failure_threshold_failures() -> None:
    s = Script([True, True, False, False, True, False, False, False])
    probe = {"initialDelaySeconds": 5, "periodSeconds": 2, "successThreshold": 2, "failureThreshold": 3}
    with pytest.raises(asyncio.CancelledError):
        await s.prober("readiness", probe).run()
    assert s.results == [True, False]  # ready after 2 successes; unready after 3 consecutive failures only
    assert s.sleeps == [5, 2, 2, 2, 2, 2, 2, 2, 2]
    assert s.failures == 5


async def test_liveness_reports_failure_once_and_stops() -> None:
    s = Script([False, True, False, False, False, True])
    probe = {"periodSeconds": 1, "failureThreshold": 3}
    await s.prober("liveness", probe).run()
    assert s.results == [False] and s.outcomes == [True]
    assert s.sleeps == [0, 1, 1, 1, 1]


async def test_startup_stops_at_its_first_success_with_defaults() -> None:
    s = Script([False, False, True, False])
    await s.prober("startup", {}).run()
    assert s.results == [True] and s.sleeps == [0, 10, 10]
