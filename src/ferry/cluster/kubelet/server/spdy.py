"""SPDY/3 frames: encode, decode, and the zlib header-block codec (no I/O; :mod:`.spdysession` drives it).

``kubectl port-forward`` speaks SPDY/3.1 as ``moby/spdystream`` implements it (its ``spdy`` package is Go's old
``x/net/spdy`` framer), so this module follows the SPDY/3 draft *and* that framer's reading of it:

* **Control frame**: ``1 | version(15) = 3 | type(16) | flags(8) | length(24) | payload``. Types: SYN_STREAM 1,
  SYN_REPLY 2, RST_STREAM 3, SETTINGS 4, PING 6, GOAWAY 7, HEADERS 8, WINDOW_UPDATE 9.
* **Data frame**: ``0 | stream id(31) | flags(8) | length(24) | data``; flag FIN (0x01) half-closes the sender.
* **SYN_STREAM**: stream id, associated-to stream id (31 bits each), priority in the top 3 bits of one byte, a
  slot byte, then a header block. **SYN_REPLY** and **HEADERS**: stream id, header block (SPDY/2 had two more
  unused bytes there; SPDY/3 does not).
* **Header block**: ``count(32)`` then per pair ``len(32) name len(32) value``; names are lower case (the Go
  reader flags others), several values of one name are joined by NUL. The block is **zlib-compressed with the
  SPDY/3 dictionary** (:data:`DICTIONARY`, its Adler-32 ``0xe3c6a7c2`` is the zlib FDICT id), one zlib stream
  per direction for the whole session, each block ending with a sync flush. Hence the invariant that matters:
  **blocks must be compressed in the order their frames go on the wire**, and decompressed in the order they
  arrive (the session compresses under its write lock).

:class:`FrameReader` is incremental: WebSocket messages cut frames anywhere (Go's framer writes each field with
its own ``Write``, and the tunnel makes each ``Write`` one message), so bytes are buffered until a frame is whole.

Errors: :class:`SpdyProtocolError` — a frame that cannot be parsed (bad version, truncated fields, a header
block that does not decompress or does not fill its frame). The session answers it with GOAWAY PROTOCOL_ERROR.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

__all__ = [
    "DICTIONARY",
    "FLAG_FIN",
    "FLAG_UNIDIRECTIONAL",
    "Data",
    "Frame",
    "FrameReader",
    "GoAway",
    "HeaderCodec",
    "Headers",
    "HeadersFrame",
    "Ping",
    "RstStream",
    "Settings",
    "SpdyProtocolError",
    "SynReply",
    "SynStream",
    "WindowUpdate",
    "decode_header_block",
    "encode_frame",
    "encode_header_block",
]

VERSION = 3
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
MAX_DATA_LENGTH = (1 << 24) - 1

TYPE_SYN_STREAM, TYPE_SYN_REPLY, TYPE_RST_STREAM, TYPE_SETTINGS = 1, 2, 3, 4
TYPE_PING, TYPE_GOAWAY, TYPE_HEADERS, TYPE_WINDOW_UPDATE = 6, 7, 8, 9

# RST_STREAM status codes (SPDY/3 §2.4.2).
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, UNSUPPORTED_VERSION, CANCEL = 1, 2, 3, 4, 5
INTERNAL_ERROR, FLOW_CONTROL_ERROR, STREAM_IN_USE, STREAM_ALREADY_CLOSED = 6, 7, 8, 9
# GOAWAY status codes (SPDY/3 §2.6.6).
GOAWAY_OK, GOAWAY_PROTOCOL_ERROR, GOAWAY_INTERNAL_ERROR = 0, 1, 2
# SETTINGS ids (SPDY/3 §2.6.4); only the window size matters here.
SETTINGS_INITIAL_WINDOW_SIZE = 7

_WORD_LIST = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
    "age allow authorization cache-control connection content-base content-encoding content-language "
    "content-length content-location content-md5 content-range content-type date etag expect expires from "
    "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
    "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status"
)
_WORDS = [
    *_WORD_LIST.split(),
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
]
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY: bytes = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()
"""The SPDY/3 header-compression dictionary (draft 3 §2.6.10.1): length-prefixed header words, then a tail."""


class SpdyProtocolError(Exception):
    """A frame that is not valid SPDY/3 (the session answers GOAWAY with PROTOCOL_ERROR)."""


Headers = dict[str, str]
"""Header names (lower case) to values; several values of one name are joined by NUL, as on the wire."""


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers
    flags: int = 0
    associated_to: int = 0
    priority: int = 0
    slot: int = 0


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Settings:
    values: dict[int, int]  # id -> value (per-entry flags are not kept)
    flags: int = 0


@dataclass(frozen=True)
class Ping:
    ping_id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int
    status: int = GOAWAY_OK


@dataclass(frozen=True)
class WindowUpdate:
    stream_id: int  # 0: the session window (SPDY/3.1)
    delta: int


@dataclass(frozen=True)
class Data:
    stream_id: int
    data: bytes
    flags: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


Frame = SynStream | SynReply | HeadersFrame | RstStream | Settings | Ping | GoAway | WindowUpdate | Data


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block (names lower-cased, as Go's framer writes them)."""
    out = [struct.pack(">I", len(headers))]
    for name, value in headers.items():
        n, v = name.lower().encode(), value.encode()
        out += [struct.pack(">I", len(n)), n, struct.pack(">I", len(v)), v]
    return b"".join(out)


def _string(block: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from(">I", block, pos)
    if pos + 4 + n > len(block):
        raise SpdyProtocolError("header block truncated")
    return block[pos + 4 : pos + 4 + n].decode(), pos + 4 + n


def decode_header_block(block: bytes) -> Headers:
    """Parse an uncompressed block; the whole block must be used. Repeated names are joined with NUL."""
    try:
        (count,), pos = struct.unpack_from(">I", block), 4
        headers: Headers = {}
        for _ in range(count):
            name, pos = _string(block, pos)
            value, pos = _string(block, pos)
            name = name.lower()
            headers[name] = f"{headers[name]}\0{value}" if name in headers else value
    except (struct.error, UnicodeDecodeError) as e:
        raise SpdyProtocolError(f"bad header block: {e}") from None
    if pos != len(block):
        raise SpdyProtocolError("compressed payload size was incorrect")
    return headers


class HeaderCodec:
    """One direction's zlib stream each way (see the module docstring): ``compress`` for frames we write,
    ``decompress`` for frames we read. Level 9, as Go's framer (``zlib.BestCompression``)."""

    def __init__(self) -> None:
        self._out = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self._in = zlib.decompressobj(zdict=DICTIONARY)

    def compress(self, headers: Headers) -> bytes:
        return self._out.compress(encode_header_block(headers)) + self._out.flush(zlib.Z_SYNC_FLUSH)

    def decompress(self, payload: bytes) -> Headers:
        try:
            block = self._in.decompress(payload)
        except zlib.error as e:
            raise SpdyProtocolError(f"header block does not decompress: {e}") from None
        return decode_header_block(block)


def _control(frame_type: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, frame_type, (flags << 24) | len(payload)) + payload


def encode_frame(frame: Frame, codec: HeaderCodec) -> bytes:
    """Wire bytes of ``frame``; frames with headers advance ``codec``'s compressor (so encode in send order)."""
    match frame:
        case Data(sid, data, flags):
            if len(data) > MAX_DATA_LENGTH:
                raise ValueError("data frame too large")
            return struct.pack(">II", sid & 0x7FFFFFFF, (flags << 24) | len(data)) + data
        case SynStream(sid, headers, flags, assoc, priority, slot):
            head = struct.pack(">IIBB", sid & 0x7FFFFFFF, assoc & 0x7FFFFFFF, (priority & 7) << 5, slot)
            return _control(TYPE_SYN_STREAM, flags, head + codec.compress(headers))
        case SynReply(sid, headers, flags):
            return _control(
                TYPE_SYN_REPLY, flags, struct.pack(">I", sid & 0x7FFFFFFF) + codec.compress(headers)
            )
        case HeadersFrame(sid, headers, flags):
            return _control(
                TYPE_HEADERS, flags, struct.pack(">I", sid & 0x7FFFFFFF) + codec.compress(headers)
            )
        case RstStream(sid, status):
            return _control(TYPE_RST_STREAM, 0, struct.pack(">II", sid & 0x7FFFFFFF, status))
        case Settings(values, flags):
            body = b"".join(struct.pack(">II", k & 0xFFFFFF, v) for k, v in values.items())
            return _control(TYPE_SETTINGS, flags, struct.pack(">I", len(values)) + body)
        case Ping(ping_id):
            return _control(TYPE_PING, 0, struct.pack(">I", ping_id))
        case GoAway(last, status):
            return _control(TYPE_GOAWAY, 0, struct.pack(">II", last & 0x7FFFFFFF, status))
        case WindowUpdate(sid, delta):
            return _control(TYPE_WINDOW_UPDATE, 0, struct.pack(">II", sid & 0x7FFFFFFF, delta & 0x7FFFFFFF))
    raise TypeError(f"not a SPDY frame: {frame!r}")


class FrameReader:
    """Incremental decoder: ``feed(bytes)`` returns the frames completed so far (see the module docstring).

    Unknown control frame types are skipped, as the spec asks (SPDY/3 §2.2.1)."""

    def __init__(self, codec: HeaderCodec) -> None:
        self._codec, self._buf = codec, bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 8:
            first, flags_len = struct.unpack_from(">II", self._buf)
            length = flags_len & 0xFFFFFF
            if len(self._buf) < 8 + length:
                break
            payload = bytes(self._buf[8 : 8 + length])
            del self._buf[: 8 + length]
            flags = flags_len >> 24
            if not first & 0x80000000:
                frames.append(Data(first & 0x7FFFFFFF, payload, flags))
                continue
            if (first >> 16) & 0x7FFF != VERSION:
                raise SpdyProtocolError(f"unsupported SPDY version {(first >> 16) & 0x7FFF}")
            frame = self._control(first & 0xFFFF, flags, payload)
            if frame is not None:
                frames.append(frame)
        return frames

    def _control(self, frame_type: int, flags: int, p: bytes) -> Frame | None:
        try:
            if frame_type == TYPE_SYN_STREAM:
                sid, assoc, pri, slot = struct.unpack_from(">IIBB", p)
                headers = self._codec.decompress(p[10:])
                return SynStream(sid & 0x7FFFFFFF, headers, flags, assoc & 0x7FFFFFFF, pri >> 5, slot)
            if frame_type in (TYPE_SYN_REPLY, TYPE_HEADERS):
                (sid,) = struct.unpack_from(">I", p)
                cls = SynReply if frame_type == TYPE_SYN_REPLY else HeadersFrame
                return cls(sid & 0x7FFFFFFF, self._codec.decompress(p[4:]), flags)
            if frame_type == TYPE_RST_STREAM:
                sid, status = struct.unpack_from(">II", p)
                return RstStream(sid & 0x7FFFFFFF, status)
            if frame_type == TYPE_SETTINGS:
                (count,) = struct.unpack_from(">I", p)
                pairs = [struct.unpack_from(">II", p, 4 + 8 * i) for i in range(count)]
                return Settings({k & 0xFFFFFF: v for k, v in pairs}, flags)
            if frame_type == TYPE_PING:
                return Ping(struct.unpack_from(">I", p)[0])
            if frame_type == TYPE_GOAWAY:
                last, status = struct.unpack_from(">II", p)
                return GoAway(last & 0x7FFFFFFF, status)
            if frame_type == TYPE_WINDOW_UPDATE:
                sid, delta = struct.unpack_from(">II", p)
                return WindowUpdate(sid & 0x7FFFFFFF, delta & 0x7FFFFFFF)
        except struct.error as e:
            raise SpdyProtocolError(f"control frame type {frame_type} truncated: {e}") from None
        return None
