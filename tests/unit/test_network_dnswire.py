"""The DNS wire format against hand-made packets: decode, encode with compression, truncation, bad input."""

from __future__ import annotations

import struct

import pytest

from ferry.cluster.network import DnsFormatError
from ferry.cluster.network import dnswire as w

QNAME = b"\x03web\x04shop\x03svc\x07cluster\x05local\x00"
QUERY = bytes.fromhex("1234 0100 0001 0000 0000 0000") + QNAME + b"\x00\x01\x00\x01"


def test_decode_a_hand_made_query() -> None:
    m = w.decode(QUERY)
    assert (m.id, m.qr, m.opcode, m.rd, m.rcode) == (0x1234, False, 0, True, 0)
    assert m.questions == [w.Question("web.shop.svc.cluster.local", w.A, w.CLASS_IN)]
    assert m.answers == m.authority == m.additional == []
    assert m.edns_payload is None


def test_encode_an_answer_byte_for_byte() -> None:
    reply = w.Message(
        id=0x1234,
        qr=True,
        aa=True,
        rd=True,
        ra=True,
        questions=[w.Question("web.shop.svc.cluster.local", w.A)],
        answers=[w.Record.a("web.shop.svc.cluster.local", "10.96.0.20", 5)],
    )
    expected = (
        bytes.fromhex("1234 8580 0001 0001 0000 0000")
        + QNAME
        + b"\x00\x01\x00\x01"
        + bytes.fromhex("c00c 0001 0001 00000005 0004 0a600014")  # owner name compressed to the question
    )
    assert w.encode(reply) == expected


def test_decode_compressed_rdata_names_and_reencode_them() -> None:
    # A PTR answer whose target points back into the question, and an SRV whose target is written in full.
    q = b"\x015\x010\x0296\x0210\x07in-addr\x04arpa\x00"
    packet = (
        bytes.fromhex("beef 8180 0001 0002 0000 0000")
        + q
        + b"\x00\x0c\x00\x01"
        + b"\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\x1e\x00\x06"
        + b"\x03abc\xc0\x16"  # "abc" + pointer to "in-addr.arpa" at offset 12 + 10
        + b"\xc0\x0c\x00\x21\x00\x01\x00\x00\x00\x1e\x00\x0a"
        + b"\x00\x00\x00\x64\x1f\x90\x01x\xc0\x16"
    )
    m = w.decode(packet)
    assert m.questions[0].name == "5.0.96.10.in-addr.arpa"
    assert m.rcode == w.NOERROR and m.ra
    ptr, srv = m.answers
    assert ptr.text() == "abc.in-addr.arpa"
    assert ptr.data == w.encode_name("abc.in-addr.arpa")  # decompressed: self-contained
    assert srv.text() == "0 100 8080 x.in-addr.arpa"
    again = w.decode(w.encode(m))
    assert again.answers == m.answers


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (b"\x00\x01", "shorter than its 12-byte header"),
        (bytes.fromhex("0001 0100 0001 0000 0000 0000") + b"\x03web", "past the end"),
        (bytes.fromhex("0001 0100 0001 0000 0000 0000") + b"\xc0\x0c\x00\x01\x00\x01", "pointer loop"),
        (bytes.fromhex("0001 0100 0001 0000 0000 0000") + QNAME + b"\x00", "truncated question"),
        (bytes.fromhex("0001 0100 0001 0000 0000 0000") + b"\x40abc\x00\x00\x01\x00\x01", "label type"),
    ],
)
def test_malformed_messages_raise(packet: bytes, message: str) -> None:
    with pytest.raises(DnsFormatError, match=message):
        w.decode(packet)


def test_names_over_the_limits_are_refused() -> None:
    with pytest.raises(DnsFormatError, match="1 to 63 bytes"):
        w.encode_name("a" * 64 + ".local")
    with pytest.raises(DnsFormatError, match="at most 255"):
        w.encode_name(".".join(["abcdefghi"] * 30))
    assert w.encode_name(".") == b"\x00"


def test_edns_payload_is_read_from_the_opt_record() -> None:
    opt = b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00"  # root, OPT, payload 4096
    packet = bytes.fromhex("0007 0100 0001 0000 0000 0001") + QNAME + b"\x00\x01\x00\x01" + opt
    m = w.decode(packet)
    assert m.edns_payload == 4096
    assert m.additional == [w.Record("", w.OPT, 0, b"", 4096)]


def test_truncation_drops_whole_records_and_sets_tc() -> None:
    name = "db.shop.svc.cluster.local"
    reply = w.Message(
        id=1,
        qr=True,
        questions=[w.Question(name, w.A)],
        answers=[w.Record.a(name, f"10.244.0.{i}", 5) for i in range(2, 60)],
    )
    full = w.encode(reply)
    assert len(full) > 512
    assert not struct.unpack_from("!H", full, 2)[0] & 0x0200
    cut = w.encode(reply, max_size=512)
    assert len(cut) <= 512
    m = w.decode(cut)
    assert m.tc
    assert 0 < len(m.answers) < 58
    assert [r.text() for r in m.answers] == [f"10.244.0.{i}" for i in range(2, 2 + len(m.answers))]
