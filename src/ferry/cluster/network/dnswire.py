"""The DNS wire format (RFC 1035, 2782 SRV, 3596 AAAA, 6891 EDNS OPT), hand-written: decode and encode messages.

Only what a cluster DNS needs: one header, questions, and resource records whose RDATA is kept as bytes. Names
inside RDATA (PTR, CNAME, NS, SOA, MX, SRV) are decompressed at decode time, so :attr:`Record.data` is always
self-contained and can be re-encoded into another message; :func:`encode` compresses owner names only (RDATA
names are written in full, which RFC 2782 requires for SRV and is always allowed).

Truncation (RFC 2181 §9): :func:`encode` with ``max_size`` drops whole records from the end of the message and
sets TC when it does not fit, so a UDP client retries over TCP. Names are compared case-insensitively by the
callers; the question is echoed byte for byte as asked (case preserved, for 0x20 randomisation).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

from ferry.cluster.network.hostcmd import DnsFormatError

__all__ = [
    "AAAA",
    "CLASS_IN",
    "FORMERR",
    "NOERROR",
    "NOTIMP",
    "NXDOMAIN",
    "OPT",
    "PTR",
    "SERVFAIL",
    "SOA",
    "SRV",
    "A",
    "Message",
    "Question",
    "Record",
    "decode",
    "encode",
    "encode_name",
    "read_name",
]

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT, ANY = 1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 255
CLASS_IN = 1
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
_NAME_TYPES = {NS, CNAME, PTR}


@dataclass(frozen=True)
class Question:
    name: str  # without the trailing dot, as asked
    qtype: int
    qclass: int = CLASS_IN


@dataclass(frozen=True)
class Record:
    name: str
    rtype: int
    ttl: int
    data: bytes  # RDATA, names uncompressed
    rclass: int = CLASS_IN  # for OPT: the requester's UDP payload size

    @classmethod
    def a(cls, name: str, ip: str, ttl: int) -> Record:
        return cls(name, A, ttl, ipaddress.IPv4Address(ip).packed)

    @classmethod
    def aaaa(cls, name: str, ip: str, ttl: int) -> Record:
        return cls(name, AAAA, ttl, ipaddress.IPv6Address(ip).packed)

    @classmethod
    def ptr(cls, name: str, target: str, ttl: int) -> Record:
        return cls(name, PTR, ttl, encode_name(target))

    @classmethod
    def srv(cls, name: str, priority: int, weight: int, port: int, target: str, ttl: int) -> Record:
        return cls(name, SRV, ttl, struct.pack("!HHH", priority, weight, port) + encode_name(target))

    @classmethod
    def soa(cls, name: str, mname: str, rname: str, serial: int, ttl: int, minimum: int) -> Record:
        timers = struct.pack("!IIIII", serial, 7200, 1800, 86400, minimum)
        return cls(name, SOA, ttl, encode_name(mname) + encode_name(rname) + timers)

    def text(self) -> str:
        """RDATA in presentation form for A, AAAA, PTR/CNAME/NS, SRV (``prio weight port target``); else hex."""
        if self.rtype == A:
            return str(ipaddress.IPv4Address(self.data))
        if self.rtype == AAAA:
            return str(ipaddress.IPv6Address(self.data))
        if self.rtype in _NAME_TYPES:
            return read_name(self.data, 0)[0]
        if self.rtype == SRV:
            prio, weight, port = struct.unpack_from("!HHH", self.data)
            return f"{prio} {weight} {port} {read_name(self.data, 6)[0]}"
        return self.data.hex()


@dataclass
class Message:
    id: int
    qr: bool = False
    opcode: int = 0
    aa: bool = False
    tc: bool = False
    rd: bool = False
    ra: bool = False
    rcode: int = NOERROR
    questions: list[Question] = field(default_factory=list)
    answers: list[Record] = field(default_factory=list)
    authority: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)

    @property
    def edns_payload(self) -> int | None:
        """The requester's UDP payload size from its OPT record, or None without EDNS."""
        opt = next((r for r in self.additional if r.rtype == OPT), None)
        return max(512, opt.rclass) if opt is not None else None


def _label_bytes(label: str) -> bytes:
    try:
        return label.encode("latin-1")  # what read_name decodes: any byte survives a round trip
    except UnicodeEncodeError:
        raise DnsFormatError(f"label {label!r} must be ASCII (IDNA names are sent as xn-- labels)")


def encode_name(name: str) -> bytes:
    """A name in uncompressed wire form (``""`` and ``"."`` are the root)."""
    out = bytearray()
    for label in name.rstrip(".").split(".") if name.strip(".") else []:
        raw = _label_bytes(label)
        if not 0 < len(raw) < 64:
            raise DnsFormatError(f"label {label!r} must be 1 to 63 bytes")
        out += bytes([len(raw)]) + raw
    if len(out) > 254:
        raise DnsFormatError(f"name {name!r} must be at most 255 bytes")
    return bytes(out) + b"\0"


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """Decode a (possibly compressed) name at ``offset``; returns it and the offset after it."""
    labels: list[str] = []
    end: int | None = None
    jumps = 0
    while True:
        if offset >= len(data):
            raise DnsFormatError("name runs past the end of the message")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise DnsFormatError("truncated compression pointer")
            if end is None:
                end = offset + 2
            jumps += 1
            if jumps > 64:
                raise DnsFormatError("compression pointer loop")
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length & 0xC0:
            raise DnsFormatError(f"unsupported label type {length:#x}")
        offset += 1
        if length == 0:
            break
        if offset + length > len(data):
            raise DnsFormatError("label runs past the end of the message")
        labels.append(data[offset : offset + length].decode("latin-1"))
        offset += length
    return ".".join(labels), end if end is not None else offset


def _canonical_rdata(data: bytes, rtype: int, start: int, length: int) -> bytes:
    """RDATA with its names decompressed (they may point anywhere into ``data``)."""
    rdata = data[start : start + length]
    if rtype in _NAME_TYPES:
        return encode_name(read_name(data, start)[0])
    if rtype == SRV and length >= 7:
        return rdata[:6] + encode_name(read_name(data, start + 6)[0])
    if rtype == MX and length >= 3:
        return rdata[:2] + encode_name(read_name(data, start + 2)[0])
    if rtype == SOA:
        mname, pos = read_name(data, start)
        rname, pos = read_name(data, pos)
        return encode_name(mname) + encode_name(rname) + data[pos : start + length]
    return rdata


def decode(data: bytes) -> Message:
    """Parse a whole message; raises :class:`DnsFormatError` (the server then answers FORMERR)."""
    if len(data) < 12:
        raise DnsFormatError("message shorter than its 12-byte header")
    ident, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", data)
    msg = Message(
        id=ident,
        qr=bool(flags & 0x8000),
        opcode=(flags >> 11) & 0xF,
        aa=bool(flags & 0x0400),
        tc=bool(flags & 0x0200),
        rd=bool(flags & 0x0100),
        ra=bool(flags & 0x0080),
        rcode=flags & 0xF,
    )
    pos = 12
    for _ in range(qd):
        name, pos = read_name(data, pos)
        if pos + 4 > len(data):
            raise DnsFormatError("truncated question")
        qtype, qclass = struct.unpack_from("!HH", data, pos)
        pos += 4
        msg.questions.append(Question(name, qtype, qclass))
    for section, count in ((msg.answers, an), (msg.authority, ns), (msg.additional, ar)):
        for _ in range(count):
            name, pos = read_name(data, pos)
            if pos + 10 > len(data):
                raise DnsFormatError("truncated resource record")
            rtype, rclass, ttl, length = struct.unpack_from("!HHIH", data, pos)
            pos += 10
            if pos + length > len(data):
                raise DnsFormatError("RDATA runs past the end of the message")
            section.append(Record(name, rtype, ttl, _canonical_rdata(data, rtype, pos, length), rclass))
            pos += length
    return msg


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()
        self.names: dict[str, int] = {}

    def name(self, name: str) -> None:
        labels = name.rstrip(".").split(".") if name.strip(".") else []
        for i in range(len(labels)):
            suffix = ".".join(labels[i:]).lower()
            if suffix in self.names:
                self.buf += struct.pack("!H", 0xC000 | self.names[suffix])
                return
            if len(self.buf) < 0x4000:
                self.names[suffix] = len(self.buf)
            raw = _label_bytes(labels[i])
            if not 0 < len(raw) < 64:
                raise DnsFormatError(f"label {labels[i]!r} must be 1 to 63 bytes")
            self.buf += bytes([len(raw)]) + raw
        self.buf += b"\0"

    def record(self, r: Record) -> None:
        self.name(r.name)
        self.buf += struct.pack("!HHIH", r.rtype, r.rclass, r.ttl, len(r.data)) + r.data


def _flags(m: Message, tc: bool) -> int:
    return (
        (0x8000 if m.qr else 0)
        | (m.opcode & 0xF) << 11
        | (0x0400 if m.aa else 0)
        | (0x0200 if tc else 0)
        | (0x0100 if m.rd else 0)
        | (0x0080 if m.ra else 0)
        | (m.rcode & 0xF)
    )


def encode(m: Message, *, max_size: int | None = None) -> bytes:
    """Wire form of ``m``; with ``max_size``, whole records are dropped from the end and TC is set to fit."""
    sections = [list(m.answers), list(m.authority), list(m.additional)]
    tc = m.tc
    while True:
        w = _Writer()
        counts = (len(m.questions), *(len(s) for s in sections))
        w.buf += struct.pack("!HHHHHH", m.id, _flags(m, tc), *counts)
        for q in m.questions:
            w.name(q.name)
            w.buf += struct.pack("!HH", q.qtype, q.qclass)
        for section in sections:
            for r in section:
                w.record(r)
        if max_size is None or len(w.buf) <= max_size or not any(sections):
            return bytes(w.buf)
        opt = [r for r in sections[2] if r.rtype == OPT]
        if sections[2] and sections[2] != opt:
            sections[2] = [r for r in sections[2] if r.rtype == OPT]  # glue goes first, the OPT stays
        elif sections[1]:
            sections[1].pop()
        elif sections[0]:
            sections[0].pop()
            tc = True
        else:
            sections[2] = []
