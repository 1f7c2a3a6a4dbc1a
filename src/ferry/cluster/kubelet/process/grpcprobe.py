"""The gRPC probe: one ``grpc.health.v1.Health/Check`` call over HTTP/2 cleartext, as kubelet's prober makes it.

kube's prober (``pkg/probe/grpc/grpc.go``) dials ``<pod IP>:<port>`` without TLS, with the user agent
``kube-probe/<major>.<minor>`` (grpc-go appends its own ``grpc-go/<version>``), and calls ``Check`` with
``HealthCheckRequest{service}``; the attempt succeeds iff the call ends with ``grpc-status: 0`` and
``HealthCheckResponse.status`` is ``SERVING`` (1). Its failure texts, which become the ``Unhealthy`` events:

- ``service unhealthy (responded with "NOT_SERVING")`` (or ``"UNKNOWN"``, ``"SERVICE_UNKNOWN"``);
- ``error: this server does not implement the grpc health protocol (grpc.health.v1.Health): <message>``
  for ``UNIMPLEMENTED``; ``timeout: health rpc did not complete within 1s`` for ``DEADLINE_EXCEEDED`` and
  when the call does not finish in time; ``error: health rpc probe failed: rpc error: code = NotFound
  desc = unknown service`` for any other status (grpc-go's status text, code names in CamelCase);
- ``timeout: failed to connect service "10.0.0.5:9000" within 1s: context deadline exceeded`` when the
  connection is not up (TCP open and the server's HTTP/2 SETTINGS received) within ``timeoutSeconds``.

**Beyond / short of kube.** grpc-go dials with ``WithBlock``: a refused or broken connection is retried with
back-off until the deadline, so kube waits the whole ``timeoutSeconds`` and then reports the connect timeout
above. Here a refused connection, or a peer that is not an HTTP/2 server (an HTTP/1.1 server answers the
preface with ``HTTP/1.1 400``), fails at once with kube's other dial text, ``error: failed to connect service
at "<addr>": <reason>``: the readiness re-checks of probes.py need a quick answer. No TLS (kube has none either).

The protobuf messages are encoded by hand: ``HealthCheckRequest`` is field 1 (string ``service``),
``HealthCheckResponse`` field 1 (enum ``status``); gRPC frames each message with a compressed flag byte and a
4-byte big-endian length. HTTP/2 is the ``h2`` state machine over asyncio streams (prior knowledge h2c).
"""

from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import unquote

import h2.config
import h2.connection
import h2.events
import h2.exceptions

USER_AGENT = "kube-probe/1.32 grpc-go/1.65.0"  # what kubelet 1.32 sends (grpc-go appends its own part)
CHECK_PATH = "/grpc.health.v1.Health/Check"
STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
# grpc-go's codes.Code.String(), by number.
CODE_NAMES = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
]
UNIMPLEMENTED, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, UNKNOWN = 12, 4, 13, 14, 2
# grpc-go's HTTP status → code, for a response without grpc-status (internal/transport/http_util.go).
_HTTP_CODES = {400: INTERNAL, 401: 16, 403: 7, 404: UNIMPLEMENTED, 429: UNAVAILABLE, 502: UNAVAILABLE}
_HTTP_CODES |= {503: UNAVAILABLE, 504: UNAVAILABLE}


# --- protobuf and gRPC framing ---------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        b = data[i]
        value |= (b & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if b < 0x80:
            return value, i


def encode_request(service: str) -> bytes:
    """``HealthCheckRequest{service}``; proto3 leaves an empty string out."""
    raw = service.encode()
    return b"\x0a" + _varint(len(raw)) + raw if raw else b""


def decode_status(data: bytes) -> int:
    """``HealthCheckResponse.status`` (0 when absent); other fields are skipped, the last ``status`` wins."""
    status, i = 0, 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
            if num == 1:
                value &= 0xFFFFFFFF  # an enum is an int32 (negative values are 10-byte varints)
                status = value - (1 << 32) if value >= 1 << 31 else value
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        elif wire == 2:
            size, i = _read_varint(data, i)
            i += size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if i > len(data):
            raise ValueError("truncated message")
    return status


def frame_message(message: bytes) -> bytes:
    """A gRPC length-prefixed message, uncompressed."""
    return b"\x00" + struct.pack(">I", len(message)) + message


def unframe_message(body: bytes) -> bytes:
    """The single message of a unary response body."""
    if len(body) < 5:
        raise ValueError("received no response message" if not body else "truncated message header")
    compressed, size = body[0], struct.unpack(">I", body[1:5])[0]
    if compressed:
        raise ValueError("compressed flag set with identity or empty encoding")
    if len(body) != 5 + size:
        raise ValueError("truncated message" if len(body) < 5 + size else "more than one response message")
    return body[5:]


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration`` text for whole seconds (``1s``, ``1m30s``, ``1h0m0s``), as kube prints timeouts."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m}m{s}s" if h else f"{m}m{s}s" if m else f"{s}s"


def _grpc_timeout(seconds: float) -> str:
    """The ``grpc-timeout`` header: at most 8 digits, the finest unit that fits (as grpc-go)."""
    for unit, scale in (("u", 1e6), ("m", 1e3), ("S", 1.0)):
        value = int(seconds * scale)
        if value < 10**8:
            return f"{max(value, 1)}{unit}"
    return f"{int(seconds // 60)}M"


def rpc_error(code: int, message: str) -> str:
    """kube's text for a call that ended with a non-OK status."""
    if code == UNIMPLEMENTED:
        return f"error: this server does not implement the grpc health protocol (grpc.health.v1.Health): {message}"
    name = CODE_NAMES[code] if 0 <= code < len(CODE_NAMES) else f"Code({code})"
    return f"error: health rpc probe failed: rpc error: code = {name} desc = {message}"


def unhealthy(status: int) -> str:
    return f'service unhealthy (responded with "{STATUS_NAMES.get(status, str(status))}")'


# --- the call --------------------------------------------------------------------------------------------


class _ConnectError(Exception):
    """The transport did not come up: no TCP connection, or no HTTP/2 server preface."""


@dataclass
class _Call:
    """What arrived on the one stream of the call."""

    ready: bool = False  # the server's SETTINGS arrived: grpc-go's transport is up
    headers: dict[str, str] = field(default_factory=dict)
    trailers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    ended: bool = False
    error: tuple[int, str] | None = None  # the stream broke: (code, message)


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


# grpc-go's RST_STREAM error code → code (http2ErrConvTab); the rest are INTERNAL.
_RST_CODES = {3: 8, 7: UNAVAILABLE, 8: 1, 11: 8, 12: 7}


def _on_event(call: _Call, conn: h2.connection.H2Connection, event: h2.events.Event) -> None:
    if isinstance(event, h2.events.RemoteSettingsChanged):
        call.ready = True
    elif isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
        target = call.headers if isinstance(event, h2.events.ResponseReceived) else call.trailers
        target.update({_text(k): _text(v) for k, v in event.headers or []})
    elif isinstance(event, h2.events.DataReceived):
        call.body += event.data or b""
        conn.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id or 1)
    elif isinstance(event, h2.events.StreamEnded):
        call.ended = True
    elif isinstance(event, h2.events.StreamReset) and call.error is None:
        code = int(event.error_code or 0)
        call.error = (
            _RST_CODES.get(code, INTERNAL),
            f"stream terminated by RST_STREAM with error code: {code}",
        )
    elif isinstance(event, h2.events.ConnectionTerminated) and call.error is None:
        call.error = UNAVAILABLE, f"closing transport due to: GOAWAY, error code {int(event.error_code or 0)}"


def _result(call: _Call, timeout: float) -> tuple[bool, str]:
    """The probe result of a finished call (grpc-go's status rules)."""
    if call.error is not None and not call.ended:
        return False, rpc_error(*call.error)
    meta = call.headers | call.trailers
    if "grpc-status" not in meta:
        http = int(meta.get(":status", "0") or 0)
        if http != 200:
            code = _HTTP_CODES.get(http, UNKNOWN)
            text = (
                f"{http} ({HTTPStatus(http).phrase})" if http in HTTPStatus._value2member_map_ else str(http)
            )
            return False, rpc_error(code, f"unexpected HTTP status code received from server: {text}")
        return False, rpc_error(INTERNAL, "server closed the stream without sending trailers")
    if not meta["grpc-status"].isdigit():
        return False, rpc_error(INTERNAL, f"transport: malformed grpc-status: {meta['grpc-status']!r}")
    code, message = int(meta["grpc-status"]), unquote(meta.get("grpc-message", ""))
    if code == DEADLINE_EXCEEDED:
        return False, f"timeout: health rpc did not complete within {go_duration(timeout)}"
    if code != 0:
        return False, rpc_error(code, message)
    try:
        status = decode_status(unframe_message(bytes(call.body)))
    except ValueError as e:
        return False, rpc_error(INTERNAL, f"grpc: failed to unmarshal the received message: {e}")
    return (True, "") if status == 1 else (False, unhealthy(status))


def _reason(e: OSError) -> str:
    """An OS error as Go prints a syscall error (``connection refused``)."""
    return os.strerror(e.errno).lower() if e.errno else str(e) or type(e).__name__


def _check_preface(head: bytes) -> bytes:
    """The server's first frame must be SETTINGS of a sane size (grpc-go's checks); else no HTTP/2 peer."""
    if len(head) >= 9:
        if int.from_bytes(head[:3], "big") > 16384:  # e.g. "HTTP/1.1 400 …" read as a frame header
            raise _ConnectError("error reading server preface: http2: frame too large")
        if head[3] != 4:
            raise _ConnectError("initial http2 frame from server is not a settings frame")
    return head


async def _exchange(call: _Call, host: str, addr: str, port: int, service: str, timeout: float) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        raise _ConnectError(f"dial tcp {addr}: connect: {_reason(e)}")
    try:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        conn.initiate_connection()
        headers = [(":method", "POST"), (":scheme", "http"), (":path", CHECK_PATH), (":authority", addr)]
        headers += [("content-type", "application/grpc"), ("user-agent", USER_AGENT), ("te", "trailers")]
        conn.send_headers(1, [*headers, ("grpc-timeout", _grpc_timeout(timeout))])
        conn.send_data(1, frame_message(encode_request(service)), end_stream=True)
        head = b""  # what came before the server's SETTINGS
        while not call.ended and call.error is None:
            try:
                writer.write(conn.data_to_send())
                await writer.drain()
                data = await reader.read(65536)
                head = _check_preface(head + data) if not call.ready else b""
                for event in conn.receive_data(data) if data else []:
                    _on_event(call, conn, event)
            except (OSError, h2.exceptions.H2Error) as e:
                reason = _reason(e) if isinstance(e, OSError) else str(e) or type(e).__name__
                if not call.ready:
                    raise _ConnectError(f"error reading server preface: {reason}")
                call.error = UNAVAILABLE, f"error reading from server: {reason}"
                break
            if not data:
                if not call.ready:
                    raise _ConnectError("error reading server preface: EOF")
                call.error = UNAVAILABLE, "error reading from server: EOF"
    finally:
        writer.close()


async def check_grpc(host: str, port: int, service: str, timeout: float) -> tuple[bool, str]:
    """One gRPC health check of ``host:port`` (see the module docstring): (success, failure message)."""
    addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # Go's net.JoinHostPort
    call = _Call()
    try:
        await asyncio.wait_for(_exchange(call, host, addr, port, service, timeout), timeout)
    except TimeoutError:
        if not call.ready:
            return False, (
                f'timeout: failed to connect service "{addr}" within {go_duration(timeout)}: '
                "context deadline exceeded"
            )
        return False, f"timeout: health rpc did not complete within {go_duration(timeout)}"
    except _ConnectError as e:
        return False, f'error: failed to connect service at "{addr}": {e}'
    return _result(call, timeout)
