"""``/portForward/{namespace}/{pod}``: the kubelet end of ``kubectl port-forward``, SPDY/3.1 over a WebSocket.

``kubectl`` 1.32 dials ``GET pods/{name}/portforward`` as a WebSocket with subprotocol
``SPDY/3.1+portforward.k8s.io``: SPDY frames as raw bytes in binary messages. kube-apiserver turns that tunnel
back into plain SPDY for the kubelet; ferry's API server (:mod:`ferry.cluster.apiserver.streamproxy`) instead
opens the same WebSocket to this endpoint and copies the messages both ways, so **the kubelet speaks SPDY over
the WebSocket itself** (a real kubelet takes SPDY upgrades, not this tunnel). A client that does not offer the
subprotocol gets kube's ``Handshake`` answer: 403 ``unable to upgrade: unable to negotiate protocol: …``; a
pod not on this node, 404 ``pod does not exist`` (kubelet ``getPortForward``).

**The protocol** (``pkg/kubelet/cri/streaming/portforward/httpstream.go``): per local connection the client
opens two streams with headers ``streamType: error|data``, ``port`` and ``requestID``. Each stream is checked
as it arrives (``"port" header is required``, ``unable to parse "x" as a port: …``, ``port "0" must be > 0``,
``"streamType" header is required``, ``invalid stream type "x"``); a bad one is reset (RST_STREAM CANCEL), a
good one accepted (SYN_REPLY). Streams pair up by ``requestID`` (clients without it: derived from the stream id
as kube does); a pair that is not complete within 30 s gets ``timed out waiting for streams`` on its error
stream. A complete pair is forwarded: dial ``status.podIP:port`` from the host (the pod's network namespace is
on the node bridge; with the host-network fallback runtime the pod IP is the node's, 127.0.0.1) and copy bytes
both ways. The client's FIN half-closes the pod connection (``shutdown(SHUT_WR)``); the pod's EOF sends FIN on
the data stream; the pair ends when both directions have (or the client resets the data stream, which kubectl
does once it has seen our FIN). Errors go on the error stream as kube words them,
``error forwarding port 80 to pod <uid>, uid : dial tcp 10.244.0.7:80: connect: connection refused``
(kube's CRI runtime names the sandbox id as "pod" and leaves uid empty; ferry names the pod's UID), then both
streams are closed; kubectl prints ``an error occurred forwarding 8080 -> 80: <that>``.

**Lifetime**: the WebSocket ends the session (every stream reset, every pod connection closed); a GOAWAY from
the client stops new streams, and the WebSocket is closed once the open ones are done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ferry.cluster.kubelet.server.spdysession import SpdySession, SpdyStream, StreamReset

__all__ = ["PROTOCOL", "STREAM_CREATION_TIMEOUT_SECONDS", "port_forward_handler"]

log = logging.getLogger("ferry.kubelet.portforward")

PROTOCOL = "SPDY/3.1+portforward.k8s.io"
STREAM_CREATION_TIMEOUT_SECONDS = 30.0  # kubelet's streaming default (StreamCreationTimeout)
_READ_BYTES = 32 * 1024

PodLookup = Callable[[str, str], dict[str, Any] | None]


def _plain(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain", charset="utf-8")


def stream_header_error(headers: dict[str, str]) -> str | None:
    """``httpStreamReceived``: why a new stream is refused, or None."""
    port = headers.get("port", "")
    if not port:
        return '"port" header is required'
    if not port.isdigit() or int(port) > 65535:
        why = "value out of range" if port.isdigit() else "invalid syntax"
        return f'unable to parse "{port}" as a port: strconv.ParseUint: parsing "{port}": {why}'
    if int(port) < 1:
        return f'port "{port}" must be > 0'
    stream_type = headers.get("streamtype", "")
    if not stream_type:
        return '"streamType" header is required'
    if stream_type not in ("error", "data"):
        return f'invalid stream type "{stream_type}"'
    return None


def request_id(stream: SpdyStream) -> str:
    """The ``requestID`` header; old clients without it: error stream id, or data stream id - 2 (kube)."""
    rid = stream.headers.get("requestid", "")
    if rid:
        return rid
    return str(stream.id if stream.headers.get("streamtype") == "error" else stream.id - 2)


def dial_error(ip: str, port: int, err: OSError) -> str:
    """A Go-style dial error: ``dial tcp 10.0.0.5:80: connect: connection refused``."""
    reason = os.strerror(err.errno).lower() if err.errno else str(err)
    return f"dial tcp {ip}:{port}: connect: {reason}"


@dataclass
class _Pair:
    rid: str
    data: SpdyStream | None = None
    error: SpdyStream | None = None
    complete: asyncio.Event = field(default_factory=asyncio.Event)


class PortForwardSession:
    """One WebSocket: the SPDY session, its stream pairs and the forwarding tasks."""

    def __init__(self, ws: web.WebSocketResponse, pods: PodLookup, namespace: str, name: str) -> None:
        self.ws, self.pods, self.namespace, self.name = ws, pods, namespace, name
        self.session = SpdySession(ws.send_bytes, self.on_stream)
        self.pairs: dict[str, _Pair] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def on_stream(self, stream: SpdyStream) -> None:
        problem = stream_header_error(stream.headers)
        if problem is not None:
            log.warning("port-forward %s/%s: stream rejected: %s", self.namespace, self.name, problem)
            await stream.reset()
            return
        await stream.reply()
        rid = request_id(stream)
        pair = self.pairs.get(rid)
        if pair is None:
            pair = self.pairs[rid] = _Pair(rid)
            self._spawn(self._monitor(pair))
        kind = stream.headers["streamtype"]
        if getattr(pair, kind) is not None:
            await self._print_error(
                pair, f"error processing stream for request {rid}: {kind} stream already assigned"
            )
            return
        setattr(pair, kind, stream)
        if pair.data is not None and pair.error is not None:
            pair.complete.set()
            self._spawn(self._forward(pair.data, pair.error))

    async def _print_error(self, pair: _Pair, message: str) -> None:
        if pair.error is not None:
            with contextlib.suppress(StreamReset):
                await pair.error.write(message.encode())

    async def _monitor(self, pair: _Pair) -> None:
        try:
            await asyncio.wait_for(pair.complete.wait(), STREAM_CREATION_TIMEOUT_SECONDS)
        except TimeoutError:
            await self._print_error(
                pair, f"(conn={id(self.session):#x}, request={pair.rid}) timed out waiting for streams"
            )
        finally:
            self.pairs.pop(pair.rid, None)

    async def _forward(self, data: SpdyStream, error: SpdyStream) -> None:
        port = int(data.headers["port"])
        pod = self.pods(self.namespace, self.name) or {}
        uid = str((pod.get("metadata") or {}).get("uid", ""))
        try:
            problem = await self._pump(pod, port, data)
        except StreamReset:
            problem = None
        except Exception as e:  # a bug must not kill the session; the client hears of it
            log.exception("port-forward %s/%s: forwarding port %d failed", self.namespace, self.name, port)
            problem = str(e)
        with contextlib.suppress(StreamReset):
            if problem:
                message = f"error forwarding port {port} to pod {uid}, uid : {problem}"
                log.info("port-forward %s/%s: %s", self.namespace, self.name, message)
                await error.write(message.encode())
            await error.close()
            await data.close()

    async def _pump(self, pod: dict[str, Any], port: int, data: SpdyStream) -> str | None:
        status = pod.get("status") or {}
        ip = str(status.get("podIP") or "")
        if not pod:
            return f'pod "{self.name}" not found'
        if not ip or status.get("phase") != "Running":
            return (
                f'pod "{self.name}" is not running (phase {status.get("phase", "Pending")}, no network yet)'
            )
        try:
            reader, writer = await asyncio.open_connection(ip, port)
        except OSError as e:
            return dial_error(ip, port, e)
        upstream = asyncio.create_task(self._client_to_pod(data, writer))
        downstream = asyncio.create_task(self._pod_to_client(reader, data))
        try:
            await asyncio.gather(upstream, downstream)
            return None
        except StreamReset:
            return None  # the client is done with this connection (kubectl resets after our FIN)
        except OSError as e:
            return os.strerror(e.errno).lower() if e.errno else str(e)
        finally:
            for task in (upstream, downstream):
                task.cancel()
            await asyncio.gather(upstream, downstream, return_exceptions=True)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    @staticmethod
    async def _client_to_pod(data: SpdyStream, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await data.read():
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()  # the client's FIN: half-close toward the pod
        except OSError:
            # The pod stopped reading (closed or reset): what the client still sends is dropped, and the
            # other direction carries on until the pod's EOF, so an answer written before the close arrives.
            while await data.read():
                pass

    @staticmethod
    async def _pod_to_client(reader: asyncio.StreamReader, data: SpdyStream) -> None:
        while chunk := await reader.read(_READ_BYTES):
            await data.write(chunk)
        await data.close()  # the pod's EOF: FIN toward the client

    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.BINARY:
                    try:
                        await self.session.receive(msg.data)
                    except StreamReset:  # a reply could not be sent: the WebSocket is gone
                        break
                elif msg.type == WSMsgType.TEXT:
                    log.warning(
                        "port-forward %s/%s: text message on a SPDY tunnel; closing",
                        self.namespace,
                        self.name,
                    )
                    break
                if self.session.failed.is_set():
                    break
                if self.session.gone_away.is_set() and not self.session.streams:
                    break
        finally:
            self.session.close()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            await self.ws.close()


async def port_forward_handler(request: web.Request, pods: PodLookup) -> web.StreamResponse:
    """The route's handler (see the module docstring)."""
    ns, name = request.match_info["namespace"], request.match_info["pod"]
    offered = [p.strip() for h in request.headers.getall("Sec-WebSocket-Protocol", []) for p in h.split(",")]
    if PROTOCOL not in offered:
        return _plain(
            403,
            f"unable to upgrade: unable to negotiate protocol: client supports [{' '.join(offered)}], "
            f"server accepts [{PROTOCOL}]",
        )
    if pods(ns, name) is None:
        return _plain(404, "pod does not exist")
    ws = web.WebSocketResponse(protocols=(PROTOCOL,), max_msg_size=0, compress=False, autoping=True)
    await ws.prepare(request)
    await PortForwardSession(ws, pods, ns, name).run()
    return ws
