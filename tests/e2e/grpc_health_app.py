"""A gRPC health server in the standard library only, for pods whose Python has no grpcio (host-base images).

The e2e test of gRPC probes copies this file into a build context as ``app.py``. It speaks just enough HTTP/2
(cleartext, prior knowledge) for ``grpc.health.v1.Health/Check``: it answers the client preface with SETTINGS,
acks SETTINGS and PING, and answers each stream when its request DATA ends. It never decodes HPACK (the request
headers are not needed); its own headers are HPACK literals without Huffman coding. ``HEALTH`` (JSON) maps a
service name to a status (1 SERVING, 2 NOT_SERVING); other names get ``NOT_FOUND`` ("unknown service"), as
grpcio's reference servicer. ``PORT`` (default 9000).
"""

from __future__ import annotations

import asyncio
import json
import os
import struct

STATUS: dict[str, int] = json.loads(os.environ.get("HEALTH", '{"": 1}'))
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, SETTINGS, PING, GOAWAY = 0, 1, 4, 6, 7
END_STREAM, ACK, END_HEADERS = 1, 1, 4


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name: bytes, value: bytes) -> bytes:
    """An HPACK literal header field without indexing, new name, no Huffman (short strings only)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def service_of(body: bytes) -> str:
    """``HealthCheckRequest.service`` of a gRPC-framed request (field 1; short names only)."""
    msg = body[5:]
    return msg[2 : 2 + msg[1]].decode() if msg[:1] == b"\x0a" else ""


def respond(writer: asyncio.StreamWriter, stream: int, body: bytes) -> None:
    service = service_of(body)
    headers = b"\x88" + literal(b"content-type", b"application/grpc")  # 0x88: ":status: 200" (static table)
    if service in STATUS:
        msg = b"\x08" + bytes([STATUS[service]])
        writer.write(frame(HEADERS, END_HEADERS, stream, headers))
        writer.write(frame(DATA, 0, stream, b"\x00" + struct.pack(">I", len(msg)) + msg))
        writer.write(frame(HEADERS, END_HEADERS | END_STREAM, stream, literal(b"grpc-status", b"0")))
    else:  # trailers-only
        trailers = literal(b"grpc-status", b"5") + literal(b"grpc-message", b"unknown%20service")
        writer.write(frame(HEADERS, END_HEADERS | END_STREAM, stream, headers + trailers))


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    bodies: dict[int, bytes] = {}
    try:
        await reader.readexactly(len(PREFACE))
        writer.write(frame(SETTINGS, 0, 0))
        while True:
            head = await reader.readexactly(9)
            kind, flags, stream = head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
            payload = await reader.readexactly(int.from_bytes(head[:3], "big"))
            if kind == SETTINGS and not flags & ACK:
                writer.write(frame(SETTINGS, ACK, 0))
            elif kind == PING and not flags & ACK:
                writer.write(frame(PING, ACK, 0, payload))
            elif kind == DATA:
                bodies[stream] = bodies.get(stream, b"") + payload
                if flags & END_STREAM:
                    respond(writer, stream, bodies.pop(stream))
            elif kind == GOAWAY:
                break
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def main() -> None:
    server = await asyncio.start_server(handle, "0.0.0.0", int(os.environ.get("PORT", "9000")))
    print(f"gRPC health on {server.sockets[0].getsockname()[1]}: {STATUS}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
