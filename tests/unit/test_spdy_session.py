"""The SPDY server session against a scripted peer: stream lifecycle, PING, GOAWAY, errors, flow control."""

from __future__ import annotations

import asyncio

import pytest

from ferry.cluster.kubelet.server import spdy
from ferry.cluster.kubelet.server.spdy import (
    Data,
    FrameReader,
    GoAway,
    HeaderCodec,
    Ping,
    RstStream,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
    encode_frame,
)
from ferry.cluster.kubelet.server.spdysession import SpdySession, SpdyStream, StreamReset

HEADERS = {"streamtype": "data", "port": "80", "requestid": "0"}


async def settle() -> None:
    """Let every runnable task run (all I/O here is in memory, so a blocked task stays blocked)."""
    for _ in range(50):
        await asyncio.sleep(0)


class Peer:
    """The client side: encodes what it sends, decodes what the session sent."""

    def __init__(self, *, accept: bool = True, buffer_limit_bytes: int = 1 << 20) -> None:
        self.out, self.reader = HeaderCodec(), FrameReader(HeaderCodec())
        self.received: list[spdy.Frame] = []
        self.streams: list[SpdyStream] = []
        self.accept = accept
        self.session = SpdySession(self._from_session, self._on_stream, buffer_limit_bytes=buffer_limit_bytes)

    async def _from_session(self, data: bytes) -> None:
        self.received += self.reader.feed(data)

    async def _on_stream(self, stream: SpdyStream) -> None:
        self.streams.append(stream)
        await (stream.reply() if self.accept else stream.reset())

    async def send(self, *frames: spdy.Frame) -> None:
        await self.session.receive(b"".join(encode_frame(f, self.out) for f in frames))

    def take(self) -> list[spdy.Frame]:
        got, self.received = self.received, []
        return got


async def test_a_stream_is_accepted_and_carries_data_both_ways() -> None:
    peer = Peer()
    await peer.send(SynStream(1, HEADERS))
    assert peer.take() == [SynReply(1, {})]
    (stream,) = peer.streams
    assert stream.headers == HEADERS
    await peer.send(Data(1, b"GET / HTTP/1.0\r\n\r\n"), Data(1, b"", spdy.FLAG_FIN))
    assert await stream.read() == b"GET / HTTP/1.0\r\n\r\n"
    assert await stream.read() == b""  # the peer's FIN
    await stream.write(b"HTTP/1.0 200 OK\r\n")
    await stream.close()
    assert peer.take() == [Data(1, b"HTTP/1.0 200 OK\r\n"), Data(1, b"", spdy.FLAG_FIN)]
    assert peer.session.streams == {}  # closed both ways: forgotten


async def test_a_refused_stream_is_reset_with_cancel() -> None:
    peer = Peer(accept=False)
    await peer.send(SynStream(1, HEADERS))
    assert peer.take() == [RstStream(1, spdy.CANCEL)]
    assert peer.session.streams == {}


async def test_stream_ids_must_be_odd_and_increasing() -> None:
    peer = Peer()
    await peer.send(SynStream(3, HEADERS))
    peer.take()
    await peer.send(SynStream(1, HEADERS), SynStream(4, HEADERS))
    assert peer.take() == [RstStream(1, spdy.PROTOCOL_ERROR), RstStream(4, spdy.PROTOCOL_ERROR)]
    assert [s.id for s in peer.streams] == [3]


async def test_reset_by_the_peer_wakes_the_reader_and_stops_the_writer() -> None:
    peer = Peer()
    await peer.send(SynStream(1, HEADERS))
    (stream,) = peer.streams
    reading = asyncio.create_task(stream.read())
    await asyncio.sleep(0)
    await peer.send(RstStream(1, spdy.CANCEL))
    with pytest.raises(StreamReset):
        await reading
    with pytest.raises(StreamReset):
        await stream.write(b"late")


async def test_peer_pings_are_echoed_and_replies_to_our_own_ids_are_not() -> None:
    peer = Peer()
    await peer.send(Ping(1), Ping(2), Ping(7))
    assert peer.take() == [Ping(1), Ping(7)]


async def test_goaway_stops_new_streams() -> None:
    peer = Peer()
    await peer.send(SynStream(1, HEADERS), GoAway(1))
    assert peer.session.gone_away.is_set()
    await peer.send(SynStream(3, HEADERS))
    assert [s.id for s in peer.streams] == [1]
    assert peer.take() == [SynReply(1, {})]  # no reply, no reset for stream 3


async def test_garbage_is_answered_with_goaway_protocol_error() -> None:
    peer = Peer()
    await peer.send(SynStream(1, HEADERS))
    peer.take()
    await peer.session.receive(b"\x80\x02\x00\x01\x00\x00\x00\x00")  # SPDY/2
    assert peer.take() == [GoAway(1, spdy.GOAWAY_PROTOCOL_ERROR)]
    assert peer.session.failed.is_set()


async def test_transport_end_resets_every_stream() -> None:
    peer = Peer()
    await peer.send(SynStream(1, HEADERS))
    reading = asyncio.create_task(peer.streams[0].read())
    await asyncio.sleep(0)
    peer.session.close()
    with pytest.raises(StreamReset):
        await reading


async def test_without_peer_flow_control_writes_are_not_held_to_the_window() -> None:
    """spdystream (kubectl) never sends WINDOW_UPDATE: a 200 KiB answer must still go out whole."""
    peer = Peer()
    await peer.send(SynStream(1, HEADERS))
    peer.take()
    payload = bytes(range(256)) * 800  # 200 KiB
    await asyncio.wait_for(peer.streams[0].write(payload), 5)
    frames = peer.take()
    assert all(isinstance(f, Data) and len(f.data) <= 32 * 1024 for f in frames)
    assert b"".join(f.data for f in frames if isinstance(f, Data)) == payload


async def test_a_peer_that_keeps_windows_gets_no_more_than_its_window() -> None:
    peer = Peer()
    await peer.send(Settings({spdy.SETTINGS_INITIAL_WINDOW_SIZE: 40_000}), SynStream(1, HEADERS))
    peer.take()
    writing = asyncio.create_task(peer.streams[0].write(b"x" * 100_000))
    await settle()
    assert not writing.done()
    assert sum(len(f.data) for f in peer.take() if isinstance(f, Data)) == 40_000
    await peer.send(WindowUpdate(1, 50_000))
    await settle()
    assert not writing.done()
    assert sum(len(f.data) for f in peer.take() if isinstance(f, Data)) == 50_000
    await peer.send(WindowUpdate(1, 65_536))
    await asyncio.wait_for(writing, 5)
    assert sum(len(f.data) for f in peer.take() if isinstance(f, Data)) == 10_000


async def test_the_session_window_holds_once_the_peer_uses_it() -> None:
    peer = Peer()
    await peer.send(WindowUpdate(0, 0), SynStream(1, HEADERS), SynStream(3, HEADERS))
    peer.take()
    one, three = peer.streams
    await peer.send(WindowUpdate(1, 100_000), WindowUpdate(3, 100_000))  # streams have room; the session not
    await asyncio.wait_for(one.write(b"a" * 65_536), 5)
    blocked = asyncio.create_task(three.write(b"b"))
    await settle()
    assert not blocked.done()
    await peer.send(WindowUpdate(0, 1))
    await asyncio.wait_for(blocked, 5)


async def test_consumed_data_is_given_back_with_window_updates() -> None:
    peer = Peer()
    await peer.send(SynStream(1, HEADERS))
    peer.take()
    await peer.send(*(Data(1, b"y" * 8192) for _ in range(5)))
    for _ in range(3):
        await peer.streams[0].read()
    assert peer.take() == []  # 24 KiB read: below half the 64 KiB window
    await peer.streams[0].read()
    assert peer.take() == [WindowUpdate(1, 32_768)]


async def test_a_stream_over_its_buffer_limit_holds_the_reader_until_consumed() -> None:
    peer = Peer(buffer_limit_bytes=10_000)
    await peer.send(SynStream(1, HEADERS))
    feeding = asyncio.create_task(peer.send(Data(1, b"z" * 15_000), Ping(1)))
    await settle()
    assert not feeding.done()  # back-pressure on the transport: the PING behind it waits too
    assert await peer.streams[0].read() == b"z" * 15_000
    await asyncio.wait_for(feeding, 5)
    assert Ping(1) in peer.take()


async def test_a_failed_transport_resets_every_stream() -> None:
    peer = Peer()
    await peer.send(SynStream(1, HEADERS), SynStream(3, HEADERS))
    one, three = peer.streams
    reading = asyncio.create_task(three.read())
    await settle()

    async def broken(data: bytes) -> None:
        raise ConnectionResetError("Cannot write to closing transport")

    peer.session._send = broken
    with pytest.raises(StreamReset):
        await one.write(b"to nowhere")
    with pytest.raises(StreamReset):
        await reading
    assert peer.session.closed and peer.session.streams == {}
