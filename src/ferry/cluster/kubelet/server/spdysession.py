"""A SPDY/3.1 server session over any byte transport: streams the peer opens, PING, GOAWAY, flow control.

The transport is two seams, so the session runs the same over a WebSocket (``kubectl port-forward`` tunnels
SPDY in binary messages) and in tests: bytes in through :meth:`SpdySession.receive`, bytes out through the
``send`` coroutine given at construction. Frames are encoded with :mod:`.spdy`.

**What a stream does** (as ``moby/spdystream``, the peer of every ``kubectl``):

* the peer opens it with SYN_STREAM (odd ids, increasing; anything else → RST_STREAM PROTOCOL_ERROR); the
  session awaits ``on_stream(stream)``, which accepts with :meth:`SpdyStream.reply` (SYN_REPLY) or refuses with
  :meth:`SpdyStream.reset` (RST_STREAM CANCEL, what spdystream's ``Reset`` sends);
* DATA frames queue on the stream; :meth:`SpdyStream.read` returns them, ``b""`` after the peer's FIN, and
  raises :class:`StreamReset` after RST_STREAM (or when the transport is gone);
* :meth:`SpdyStream.close` half-closes our side (an empty DATA frame with FIN); a stream both sides closed, or
  reset, leaves the session;
* when the transport fails (a send raises ``ConnectionError``) or :meth:`SpdySession.close` is called, every
  stream counts as reset: all waiting readers and writers get :class:`StreamReset`.

**PING** from the peer (odd id) is echoed at once. **GOAWAY** from the peer sets :attr:`SpdySession.gone_away`
and no new stream is accepted; streams already open go on until they end (the caller closes the transport
then). A frame that does not parse → GOAWAY PROTOCOL_ERROR and :attr:`SpdySession.failed` is set.

**Flow control** (SPDY/3 §2.6.8; SPDY/3.1 adds a session window). *Receiving*: each stream's window starts at
64 KiB and we send WINDOW_UPDATE for what the consumer has read (every half window). *Sending*: spdystream, and
so kubectl, implements **no** flow control at all: it never sends WINDOW_UPDATE or SETTINGS and ignores them.
Enforcing a 64 KiB send window against it would stall every response after 64 KiB. So the send side obeys
windows only once the peer shows it keeps them (it sent SETTINGS INITIAL_WINDOW_SIZE or a WINDOW_UPDATE); the
session window only once it sent a session (stream 0) WINDOW_UPDATE. A peer that overruns our receive window
is tolerated, not reset (spdystream would be). Back-pressure against such a peer is the transport's: when a
stream holds more than ``buffer_limit_bytes`` unread, :meth:`receive` waits for the consumer (head-of-line
blocking, as spdystream's own unbuffered data channel does). The limit is far above the window, so a peer
that keeps windows never triggers it — which is what rules out a deadlock with our own send-side waits.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ferry.cluster.kubelet.server import spdy
from ferry.cluster.kubelet.server.spdy import Frame

__all__ = ["SpdySession", "SpdyStream", "StreamReset"]

log = logging.getLogger("ferry.kubelet.spdy")

INITIAL_WINDOW_BYTES = 64 * 1024
MAX_DATA_FRAME_BYTES = 32 * 1024


class StreamReset(Exception):
    """The stream was reset (RST_STREAM either way) or its session ended."""


class SpdyStream:
    """One stream the peer opened (see the module docstring)."""

    def __init__(
        self, session: SpdySession, stream_id: int, headers: spdy.Headers, *, remote_fin: bool
    ) -> None:
        self.session, self.id, self.headers = session, stream_id, headers
        self._chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.remote_closed, self.local_closed, self.is_reset = remote_fin, False, False
        self._readable, self._drained, self._window = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self.send_window = session.initial_send_window
        self._unacked = 0  # bytes read but not yet given back with WINDOW_UPDATE

    def __repr__(self) -> str:
        return f"SpdyStream({self.id}, {self.headers})"

    # -- reading --------------------------------------------------------------------------------------
    async def read(self) -> bytes:
        """The next chunk; ``b""`` once the peer half-closed; :class:`StreamReset` if reset."""
        while not self._chunks:
            if self.is_reset:
                raise StreamReset(f"stream {self.id} reset")
            if self.remote_closed:
                self.session._maybe_forget(self)
                return b""
            self._readable.clear()
            await self._readable.wait()
        chunk = self._chunks.popleft()
        self.buffered -= len(chunk)
        if self.buffered <= self.session.buffer_limit_bytes:
            self._drained.set()
        await self.session._consumed(self, len(chunk))
        return chunk

    def _deliver(self, data: bytes, fin: bool) -> None:
        if data:
            self._chunks.append(data)
            self.buffered += len(data)
        if fin:
            self.remote_closed = True
        self._readable.set()

    # -- writing --------------------------------------------------------------------------------------
    async def reply(self, headers: spdy.Headers | None = None) -> None:
        """Accept the stream (SYN_REPLY)."""
        await self.session.send_frame(spdy.SynReply(self.id, headers or {}))

    async def write(self, data: bytes) -> None:
        """Send ``data`` in DATA frames, within the send windows when the peer keeps them."""
        view = memoryview(data)
        while view:
            if self.is_reset or self.local_closed:
                raise StreamReset(f"stream {self.id} is closed for writing")
            n = min(len(view), MAX_DATA_FRAME_BYTES)
            if self.session.flow_control:
                n = min(n, await self._wait_window())
            await self.session.send_frame(spdy.Data(self.id, bytes(view[:n])))
            if self.session.flow_control:
                self.send_window -= n
                self.session.session_send_window -= n
            view = view[n:]

    async def _wait_window(self) -> int:
        while True:
            if self.is_reset:
                raise StreamReset(f"stream {self.id} reset")
            room = self.send_window
            if self.session.session_flow_control:
                room = min(room, self.session.session_send_window)
            if room > 0:
                return room
            self._window.clear()
            await self._window.wait()

    async def close(self) -> None:
        """Half-close our side: an empty DATA frame with FIN (a no-op once closed or reset)."""
        if self.local_closed or self.is_reset:
            return
        self.local_closed = True
        await self.session.send_frame(spdy.Data(self.id, b"", spdy.FLAG_FIN))
        self.session._maybe_forget(self)

    async def reset(self, status: int = spdy.CANCEL) -> None:
        """RST_STREAM (spdystream's ``Reset`` sends CANCEL); the stream is done both ways."""
        if self.is_reset:
            return
        self._mark_reset()
        await self.session.send_frame(spdy.RstStream(self.id, status))

    def _mark_reset(self) -> None:
        self.is_reset = True
        for event in (self._readable, self._drained, self._window):
            event.set()
        self.session.streams.pop(self.id, None)


class SpdySession:
    """The server end of one SPDY connection (see the module docstring)."""

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        on_stream: Callable[[SpdyStream], Awaitable[None]],
        *,
        buffer_limit_bytes: int = 1 << 20,
    ) -> None:
        self._send, self._on_stream = send, on_stream
        self.buffer_limit_bytes = buffer_limit_bytes
        self._codec = spdy.HeaderCodec()
        self._reader = spdy.FrameReader(self._codec)
        self._lock = asyncio.Lock()
        self.streams: dict[int, SpdyStream] = {}
        self._last_peer_id = 0
        self.gone_away = asyncio.Event()  # the peer sent GOAWAY
        self.failed = asyncio.Event()  # a protocol error: we sent GOAWAY PROTOCOL_ERROR
        self.flow_control = False
        self.session_flow_control = False
        self.initial_send_window = INITIAL_WINDOW_BYTES
        self.session_send_window = INITIAL_WINDOW_BYTES
        self._session_unacked = 0
        self.closed = False

    async def send_frame(self, frame: Frame) -> None:
        """Encode and send under one lock: header blocks must be compressed in wire order."""
        async with self._lock:
            if self.closed:
                raise StreamReset("the session is closed")
            try:
                await self._send(spdy.encode_frame(frame, self._codec))
            except ConnectionError as e:  # the transport is gone: so is every stream
                self.close()
                raise StreamReset(f"the session's transport failed: {e}") from None

    async def receive(self, data: bytes) -> None:
        """Feed bytes from the transport; handles every frame they complete."""
        if self.failed.is_set():
            return
        try:
            frames = self._reader.feed(data)
        except spdy.SpdyProtocolError as e:
            log.warning("spdy: protocol error, going away: %s", e)
            self.failed.set()
            with contextlib.suppress(StreamReset):
                await self.send_frame(spdy.GoAway(self._last_peer_id, spdy.GOAWAY_PROTOCOL_ERROR))
            return
        for frame in frames:
            await self._handle(frame)

    async def _handle(self, frame: Frame) -> None:
        match frame:
            case spdy.Data(sid, data, flags):
                stream = self.streams.get(sid)
                if stream is None or stream.remote_closed:
                    log.debug("spdy: data for stream %d that is gone; dropped", sid)
                    return
                stream._deliver(data, bool(flags & spdy.FLAG_FIN))
                self._maybe_forget(stream)
                while stream.buffered > self.buffer_limit_bytes and not stream.is_reset:
                    stream._drained.clear()
                    await stream._drained.wait()
            case spdy.SynStream(sid, headers, flags):
                await self._new_stream(sid, headers, flags)
            case spdy.RstStream(sid, _):
                stream = self.streams.get(sid)
                if stream is not None:
                    stream._mark_reset()
            case spdy.HeadersFrame(sid, _, flags) if flags & spdy.FLAG_FIN:
                stream = self.streams.get(sid)
                if stream is not None:
                    stream._deliver(b"", True)
                    self._maybe_forget(stream)
            case spdy.Ping(ping_id) if ping_id % 2 == 1:
                await self.send_frame(frame)  # the peer's ping: echo it; even ids would answer our own
            case spdy.GoAway():
                self.gone_away.set()
            case spdy.Settings(values) if spdy.SETTINGS_INITIAL_WINDOW_SIZE in values:
                self._settings_window(values[spdy.SETTINGS_INITIAL_WINDOW_SIZE])
            case spdy.WindowUpdate(sid, delta):
                self._window_update(sid, delta)
            case _:
                pass  # SYN_REPLY (we open no streams), other SETTINGS, HEADERS without FIN

    async def _new_stream(self, sid: int, headers: spdy.Headers, flags: int) -> None:
        if self.gone_away.is_set():
            return  # spdystream drops new streams after GOAWAY too
        if sid == 0 or sid % 2 == 0 or sid <= self._last_peer_id:
            await self.send_frame(spdy.RstStream(sid, spdy.PROTOCOL_ERROR))
            return
        self._last_peer_id = sid
        stream = SpdyStream(self, sid, headers, remote_fin=bool(flags & spdy.FLAG_FIN))
        if flags & spdy.FLAG_UNIDIRECTIONAL:
            stream.local_closed = True
        self.streams[sid] = stream
        await self._on_stream(stream)

    def _settings_window(self, size: int) -> None:
        self.flow_control = True
        delta, self.initial_send_window = size - self.initial_send_window, size
        for stream in self.streams.values():
            stream.send_window += delta
            stream._window.set()

    def _window_update(self, sid: int, delta: int) -> None:
        self.flow_control = True
        if sid == 0:
            self.session_flow_control = True
            self.session_send_window += delta
            for each in self.streams.values():
                each._window.set()
            return
        stream = self.streams.get(sid)
        if stream is not None:
            stream.send_window += delta
            stream._window.set()

    async def _consumed(self, stream: SpdyStream, n: int) -> None:
        """Give read bytes back to the peer: WINDOW_UPDATE once half a window has been read."""
        stream._unacked += n
        if stream._unacked >= INITIAL_WINDOW_BYTES // 2 and not stream.remote_closed and not stream.is_reset:
            delta, stream._unacked = stream._unacked, 0
            await self.send_frame(spdy.WindowUpdate(stream.id, delta))
        if self.session_flow_control:
            self._session_unacked += n
            if self._session_unacked >= INITIAL_WINDOW_BYTES // 2:
                delta, self._session_unacked = self._session_unacked, 0
                await self.send_frame(spdy.WindowUpdate(0, delta))

    def _maybe_forget(self, stream: SpdyStream) -> None:
        if stream.local_closed and stream.remote_closed and not stream._chunks:
            self.streams.pop(stream.id, None)

    def close(self) -> None:
        """The transport is gone: every stream counts as reset (readers and writers wake with StreamReset)."""
        self.closed = True
        self.failed.set()
        for stream in list(self.streams.values()):
            stream._mark_reset()
