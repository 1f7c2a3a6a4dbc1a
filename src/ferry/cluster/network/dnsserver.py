"""The cluster DNS server: asyncio UDP and TCP on the node bridge's gateway, port 53, in the host netns.

Every query is decoded (:mod:`~ferry.cluster.network.dnswire`), answered from the cluster zone
(:mod:`~ferry.cluster.network.dnszone`, authoritative: AA set) or, when the name is not the cluster's, forwarded
unchanged to the host's resolvers (``nameserver`` lines of ``/etc/resolv.conf``, tried in order; our own address
is skipped so a node that lists itself does not loop). The upstream answer is relayed as is; no upstream
answering within ``forward_timeout_seconds`` gives SERVFAIL. A query that cannot be decoded gets FORMERR (when its
header can be read; otherwise it is dropped), an opcode other than QUERY gets NOTIMP.

UDP answers are cut to 512 bytes, or to the EDNS payload size the client offered (at most 1232, the DNS flag
day value), with TC set so the client retries over TCP, where messages go up to 65535 bytes (two-byte length
prefix, RFC 1035 §4.2.2; several queries per connection; idle connections close after ``tcp_idle_seconds``).
A UDP query forwarded upstream goes out over UDP and a TC answer is relayed, so the client comes back over TCP
and that query is forwarded over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from ferry.cluster.network import dnswire as w
from ferry.cluster.network.dnszone import ClusterZone
from ferry.cluster.network.hostcmd import DnsFormatError

__all__ = ["DnsServer", "read_resolv_conf"]

log = logging.getLogger("ferry.network.dns")
EDNS_MAX = 1232


def read_resolv_conf(path: Path = Path("/etc/resolv.conf")) -> list[str]:
    """The ``nameserver`` addresses of a resolv.conf, in order (an unreadable file gives none)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [p[1] for p in (line.split() for line in lines) if len(p) >= 2 and p[0] == "nameserver"]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(
            asyncio.DatagramTransport, transport
        )  # not a subclass of it in 3.11's selector loop

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        self.server._spawn(self._reply(data, addr))

    async def _reply(self, data: bytes, addr: tuple[str | int, int]) -> None:
        answer = await self.server.handle(data, tcp=False)
        if answer is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(answer, addr)


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        if not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


class DnsServer:
    """UDP+TCP DNS on ``host:port``; see the module docstring. ``port=0`` picks one port free for both."""

    def __init__(
        self,
        zone: ClusterZone,
        *,
        host: str,
        port: int = 53,
        upstreams: Sequence[tuple[str, int]] | None = None,
        forward_timeout_seconds: float = 2.0,
        tcp_idle_seconds: float = 10.0,
    ) -> None:
        self.zone = zone
        self.host = host
        self.port = port
        if upstreams is None:
            upstreams = [(ip, 53) for ip in read_resolv_conf()]
        self.upstreams = [u for u in upstreams if u != (host, port)]
        self.forward_timeout_seconds = forward_timeout_seconds
        self.tcp_idle_seconds = tcp_idle_seconds
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(20):
            transport, _proto = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, self.port)
            )
            port = transport.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port, reuse_address=True)
            except OSError:
                transport.close()
                if self.port:
                    raise
                continue
            self._udp, self.port = transport, port
            self.upstreams = [u for u in self.upstreams if u != (self.host, self.port)]
            return
        raise OSError(f"no port free for both UDP and TCP on {self.host}")

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- TCP --------------------------------------------------------------------------------------------
    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), self.tcp_idle_seconds)
                data = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", head)[0]), 5.0)
                answer = await self.handle(data, tcp=True)
                if answer is not None:
                    writer.write(struct.pack("!H", len(answer)) + answer)
                    await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # -- one query --------------------------------------------------------------------------------------
    async def handle(self, data: bytes, *, tcp: bool) -> bytes | None:
        """The wire answer to one wire query (None: drop it)."""
        try:
            query = w.decode(data)
        except DnsFormatError:
            if len(data) < 12:
                return None
            ident, flags = struct.unpack_from("!HH", data)
            return w.encode(w.Message(id=ident, qr=True, rd=bool(flags & 0x100), rcode=w.FORMERR))
        if query.qr:
            return None
        reply = w.Message(
            id=query.id, qr=True, opcode=query.opcode, rd=query.rd, ra=True, questions=query.questions
        )
        if query.opcode != 0:
            reply.rcode = w.NOTIMP
        elif len(query.questions) != 1:
            reply.rcode = w.FORMERR
        else:
            answer = self.zone.answer(query.questions[0])
            if answer is None:
                return await self.forward(data, query, tcp=tcp)
            reply.aa, reply.rcode = True, answer.rcode
            reply.answers, reply.authority, reply.additional = (
                answer.answers,
                answer.authority,
                answer.additional,
            )
        payload = query.edns_payload
        if payload is not None:
            reply.additional = [*reply.additional, w.Record("", w.OPT, 0, b"", EDNS_MAX)]
        limit = 65535 if tcp else min(payload or 512, EDNS_MAX)
        return w.encode(reply, max_size=limit)

    async def forward(self, data: bytes, query: w.Message, *, tcp: bool) -> bytes:
        """Ask the upstreams in turn; SERVFAIL when none answers."""
        for host, port in self.upstreams:
            try:
                if tcp:
                    return await asyncio.wait_for(
                        self._ask_tcp(data, host, port), self.forward_timeout_seconds
                    )
                return await asyncio.wait_for(self._ask_udp(data, host, port), self.forward_timeout_seconds)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as e:
                log.info("upstream %s:%s did not answer: %s", host, port, e)
        return w.encode(
            w.Message(id=query.id, qr=True, rd=query.rd, ra=True, rcode=w.SERVFAIL, questions=query.questions)
        )

    async def _ask_udp(self, data: bytes, host: str, port: int) -> bytes:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(_Upstream, remote_addr=(host, port))
        try:
            transport.sendto(data)
            return await proto.answer
        finally:
            transport.close()

    async def _ask_tcp(self, data: bytes, host: str, port: int) -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(struct.pack("!H", len(data)) + data)
            await writer.drain()
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            return await reader.readexactly(size)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
