"""Splicing one client connection to one backend connection, with asyncio protocols (no streams, no copies).

A :class:`Pipe` is one side; two linked pipes forward each other's bytes. Protocols instead of streams because
the proxy sits in every request's path: ``data_received`` → ``write`` is the shortest path asyncio has (with uvloop
close to a C splice loop), and flow control is explicit:

* **Back-pressure**: when one side's transport buffer passes its high-water mark (``pause_writing``), the *other*
  side stops reading until it drains (``resume_writing``), so a fast sender never fills the proxy's memory.
* **Half-close**: an EOF from one side becomes ``write_eof`` on the other, and the connection stays open for the
  answer; when both sides have sent EOF, both close. HTTP/1.0 clients, ``nc -q`` and request/response protocols
  that shut down their write side all work.
* **Errors**: a reset on one side aborts the other (the client sees the backend's failure as a reset, not a hang).
* Bytes that arrive before the backend is connected (the client spoke first) are kept and sent on :meth:`link`.

The proxy counts open relays per backend through ``on_close``, which is how a kubelet can watch a terminating
pod's connections drain.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import cast

__all__ = ["Pipe", "reset"]


def reset(transport: asyncio.Transport) -> None:
    """Close with a TCP RST (SO_LINGER 0): what a client sees when a service has no ready endpoint."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


class Pipe(asyncio.Protocol):
    """One side of a relay; see the module docstring."""

    def __init__(
        self,
        on_close: Callable[[], None] | None = None,
        on_connected: Callable[[Pipe], None] | None = None,
    ) -> None:
        self.transport: asyncio.Transport | None = None
        self._on_connected = on_connected
        self.peer: Pipe | None = None
        self.pending: list[bytes] = []
        self.eof = False
        self.closed = False
        self._on_close = on_close

    # -- wiring -----------------------------------------------------------------------------------------
    def link(self, peer: Pipe) -> None:
        """Join two connected pipes and flush what arrived before."""
        self.peer, peer.peer = peer, self
        for side, other in ((self, peer), (peer, self)):
            assert other.transport is not None
            if side.pending:
                other.transport.write(b"".join(side.pending))
                side.pending.clear()
            if side.eof:
                side._forward_eof()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    # -- asyncio.Protocol -------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if self._on_connected is not None:
            self._on_connected(self)

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.closed:
            peer.transport.write(data)
        else:
            self.pending.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        if self.peer is not None:
            self._forward_eof()
        return True  # keep our write side open for the answer

    def _forward_eof(self) -> None:
        peer = self.peer
        if peer is None or peer.transport is None or peer.closed:
            return
        if peer.eof:  # both directions finished
            peer.transport.close()
            if self.transport is not None:
                self.transport.close()
        elif peer.transport.can_write_eof():
            peer.transport.write_eof()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None and not self.peer.closed:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None and not self.peer.closed:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.closed:
            if exc is not None:
                reset(peer.transport)
            else:
                peer.transport.close()
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback()
