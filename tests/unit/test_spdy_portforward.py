"""The kubelet's ``/portForward/{ns}/{pod}`` endpoint, driven by a small SPDY client over a real WebSocket.

The "pod" is a TCP server on 127.0.0.1 (the pod IP a host-network pod reports); the client is what kubectl does
per local connection: an error stream and a data stream with ``port`` and ``requestID``, then bytes and FIN.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ferry.cluster.kubelet.server import (
    RunningServer,
    ensure_kubelet_serving_cert,
    portforward,
    spdy,
    start_kubelet_server,
)
from ferry.cluster.kubelet.server.portforward import PROTOCOL
from ferry.cluster.kubelet.server.spdy import (
    Data,
    FrameReader,
    GoAway,
    HeaderCodec,
    Ping,
    RstStream,
    SynStream,
)
from tests.unit.kubelet_server_support import FakeNode, client_context, make_pki, pod, running

UID = "5b0c4a1e-0000-4000-8000-000000000001"


@dataclass
class Client:
    """A kubectl-like SPDY client on a WebSocket: frames out, frames in, per-stream bytes collected."""

    ws: aiohttp.ClientWebSocketResponse
    out: HeaderCodec = field(default_factory=HeaderCodec)
    reader: FrameReader = field(default_factory=lambda: FrameReader(HeaderCodec()))
    pending: list[spdy.Frame] = field(default_factory=list)
    next_id: int = 1

    async def send(self, *frames: spdy.Frame) -> None:
        for f in frames:
            wire = encode(f, self.out)
            for i in range(0, len(wire), 5):  # cut frames across messages, as Go's framer does
                await self.ws.send_bytes(wire[i : i + 5])

    async def frame(self) -> spdy.Frame:
        while not self.pending:
            msg = await asyncio.wait_for(self.ws.receive(), 10)
            assert msg.type == aiohttp.WSMsgType.BINARY, msg
            self.pending += self.reader.feed(msg.data)
        return self.pending.pop(0)

    async def open_pair(self, port: int, request_id: str = "0") -> tuple[int, int]:
        ids = (self.next_id, self.next_id + 2)
        self.next_id += 4
        for sid, kind in zip(ids, ("error", "data"), strict=True):
            await self.send(SynStream(sid, {"streamtype": kind, "port": str(port), "requestid": request_id}))
        return ids

    async def until_fin(self, *sids: int) -> dict[int, bytes]:
        """Collect DATA per stream until every stream in ``sids`` has FIN; other frames are kept in order."""
        got, done, other = dict.fromkeys(sids, b""), set[int](), []
        while done != set(sids):
            f = await self.frame()
            if isinstance(f, Data) and f.stream_id in got:
                got[f.stream_id] += f.data
                if f.fin:
                    done.add(f.stream_id)
            else:
                other.append(f)
        self.pending = other + self.pending
        return got


def encode(frame: spdy.Frame, codec: HeaderCodec) -> bytes:
    return spdy.encode_frame(frame, codec)


@pytest.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[tuple[Path, RunningServer, FakeNode]]:
    pki = make_pki(tmp_path / "pki")
    node = FakeNode(tmp_path / "logs")
    p = node.add(pod("default", "web", [running("app")], uid=UID))
    p["status"]["podIP"] = "127.0.0.1"
    server = await start_kubelet_server(
        "127.0.0.1", 0, node.log_file_for, pods=node.lookup, tls=ensure_kubelet_serving_cert(pki, "node-a")
    )
    try:
        yield pki, server, node
    finally:
        await server.close()


@pytest.fixture
async def client(kubelet: tuple[Path, RunningServer, FakeNode]) -> AsyncIterator[Client]:
    pki, server, _ = kubelet
    async with (
        aiohttp.ClientSession() as s,
        s.ws_connect(
            server.url + "/portForward/default/web", protocols=(PROTOCOL,), ssl=client_context(pki)
        ) as ws,
    ):
        assert ws.protocol == PROTOCOL
        yield Client(ws)


@pytest.fixture
async def pod_server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A "pod" that reads its request to EOF, then answers with it reversed (proves the half-close)."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = await reader.read()
        seen.append(body)
        writer.write(b"echo:" + body[::-1])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        server.close()
        await server.wait_closed()


async def test_bytes_flow_both_ways_with_half_close(
    client: Client, pod_server: tuple[int, list[bytes]]
) -> None:
    port, seen = pod_server
    err, data = await client.open_pair(port)
    replies = [await client.frame(), await client.frame()]
    assert replies == [spdy.SynReply(err, {}), spdy.SynReply(data, {})]
    await client.send(Data(err, b"", spdy.FLAG_FIN))  # kubectl never writes on the error stream
    request = b"x" * 100_000 + b"end"
    await client.send(Data(data, request[:70_000]), Data(data, request[70_000:], spdy.FLAG_FIN))
    got = await client.until_fin(err, data)
    assert got == {err: b"", data: b"echo:" + request[::-1]}  # no error; the pod saw our FIN as EOF
    assert seen == [request]


async def test_two_connections_share_one_session(client: Client, pod_server: tuple[int, list[bytes]]) -> None:
    port, seen = pod_server
    first, second = await client.open_pair(port, "0"), await client.open_pair(port, "1")
    await client.send(Data(second[1], b"two", spdy.FLAG_FIN), Data(first[1], b"one", spdy.FLAG_FIN))
    got = await client.until_fin(first[1], second[1])
    assert got == {first[1]: b"echo:eno", second[1]: b"echo:owt"}
    assert sorted(seen) == [b"one", b"two"]


async def test_nothing_listening_is_reported_on_the_error_stream(client: Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    err, data = await client.open_pair(free)
    got = await client.until_fin(err, data)
    assert got[err].decode() == (
        f"error forwarding port {free} to pod {UID}, uid : dial tcp 127.0.0.1:{free}: connect: connection refused"
    )
    assert got[data] == b""


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"streamtype": "data", "requestid": "0"}, "no port"),
        ({"streamtype": "data", "port": "0", "requestid": "0"}, "port 0"),
        ({"streamtype": "data", "port": "http", "requestid": "0"}, "named port"),
        ({"port": "80", "requestid": "0"}, "no stream type"),
        ({"streamtype": "stdin", "port": "80", "requestid": "0"}, "unknown stream type"),
    ],
)
async def test_bad_stream_headers_are_reset(client: Client, headers: dict[str, str], why: str) -> None:
    await client.send(SynStream(1, headers))
    assert await client.frame() == RstStream(1, spdy.CANCEL), why


async def test_a_second_data_stream_for_one_request_is_an_error(client: Client) -> None:
    await client.send(SynStream(1, {"streamtype": "error", "port": "80", "requestid": "7"}))
    await client.send(SynStream(3, {"streamtype": "error", "port": "80", "requestid": "7"}))
    assert [await client.frame(), await client.frame()] == [spdy.SynReply(1, {}), spdy.SynReply(3, {})]
    assert await client.frame() == Data(
        1, b"error processing stream for request 7: error stream already assigned"
    )


async def test_pings_are_answered_and_goaway_ends_the_websocket(client: Client) -> None:
    await client.send(Ping(1))
    assert await client.frame() == Ping(1)
    await client.send(GoAway(0))
    msg = await asyncio.wait_for(client.ws.receive(), 10)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def _status(server: RunningServer, pki: Path, path: str, **kw: Any) -> tuple[int, str]:
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    headers |= {"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} | kw
    async with (
        aiohttp.ClientSession() as s,
        s.get(server.url + path, headers=headers, ssl=client_context(pki)) as r,
    ):
        return r.status, await r.text()


async def test_upgrade_refusals(kubelet: tuple[Path, RunningServer, FakeNode]) -> None:
    pki, server, _ = kubelet
    status, text = await _status(
        server, pki, "/portForward/default/web", **{"Sec-WebSocket-Protocol": "v4.channel.k8s.io"}
    )
    assert (status, text) == (
        403,
        "unable to upgrade: unable to negotiate protocol: client supports [v4.channel.k8s.io], "
        "server accepts [SPDY/3.1+portforward.k8s.io]\n",
    )
    status, text = await _status(
        server, pki, "/portForward/default/nope", **{"Sec-WebSocket-Protocol": PROTOCOL}
    )
    assert (status, text) == (404, "pod does not exist\n")


async def test_a_pod_that_is_not_running_is_reported(
    kubelet: tuple[Path, RunningServer, FakeNode], client: Client
) -> None:
    _, _, node = kubelet
    node.pods[("default", "web")]["status"] = {"phase": "Pending"}
    err, data = await client.open_pair(8080)
    got = await client.until_fin(err, data)
    assert got[err].decode() == (
        f'error forwarding port 8080 to pod {UID}, uid : pod "web" is not running (phase Pending, no network yet)'
    )


async def test_a_lone_stream_times_out_waiting_for_its_pair(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portforward, "STREAM_CREATION_TIMEOUT_SECONDS", 0.2)
    await client.send(SynStream(1, {"streamtype": "error", "port": "80", "requestid": "3"}))
    assert await client.frame() == spdy.SynReply(1, {})
    message = await client.frame()
    assert isinstance(message, Data) and message.stream_id == 1
    assert message.data.decode().endswith(", request=3) timed out waiting for streams")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"streamtype": "data"}, '"port" header is required'),
        ({"port": "x1"}, 'unable to parse "x1" as a port: strconv.ParseUint: parsing "x1": invalid syntax'),
        (
            {"port": "70000"},
            'unable to parse "70000" as a port: strconv.ParseUint: parsing "70000": value out of range',
        ),
        ({"port": "0"}, 'port "0" must be > 0'),
        ({"port": "80"}, '"streamType" header is required'),
        ({"port": "80", "streamtype": "stdin"}, 'invalid stream type "stdin"'),
        ({"port": "80", "streamtype": "error"}, None),
    ],
)
def test_stream_header_checks_word_errors_as_kube(headers: dict[str, str], message: str | None) -> None:
    assert portforward.stream_header_error(headers) == message


async def test_a_pod_that_closes_early_still_delivers_its_answer(client: Client) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(5)
        writer.write(b"bye")
        await writer.drain()
        writer.close()  # stops reading: what the client sends next has nowhere to go

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        err, data = await client.open_pair(server.sockets[0].getsockname()[1])
        await client.send(Data(data, b"hello"))
        assert (await client.until_fin(data))[data] == b"bye"
        for _ in range(8):
            await client.send(Data(data, b"z" * 32_768))
        await client.send(Data(data, b"", spdy.FLAG_FIN))
        assert await client.until_fin(err) == {err: b""}  # the pair ends without an error
    finally:
        server.close()
        await server.wait_closed()
