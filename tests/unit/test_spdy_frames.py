"""SPDY/3 frame codec: bytes written by hand from the spec, and header blocks checked with an independent zlib."""

from __future__ import annotations

import struct
import zlib

import pytest

from ferry.cluster.kubelet.server import spdy
from ferry.cluster.kubelet.server.spdy import (
    Data,
    FrameReader,
    GoAway,
    HeaderCodec,
    HeadersFrame,
    Ping,
    RstStream,
    Settings,
    SpdyProtocolError,
    SynReply,
    SynStream,
    WindowUpdate,
    encode_frame,
)

# kubectl's first stream of a connection, as client-go sets it: error stream, remote port 80, request 0.
ERROR_STREAM_HEADERS = {"streamtype": "error", "port": "80", "requestid": "0"}
# The same block written out by hand: count, then (len, name, len, value) per pair, big-endian 32-bit lengths.
ERROR_STREAM_BLOCK = (
    b"\x00\x00\x00\x03"
    b"\x00\x00\x00\x0astreamtype\x00\x00\x00\x05error"
    b"\x00\x00\x00\x04port\x00\x00\x00\x0280"
    b"\x00\x00\x00\x09requestid\x00\x00\x00\x010"
)


def test_dictionary_is_the_spdy3_one() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2  # the FDICT id every SPDY/3 zlib stream carries


def test_header_block_matches_hand_written_bytes() -> None:
    assert spdy.encode_header_block(ERROR_STREAM_HEADERS) == ERROR_STREAM_BLOCK
    assert spdy.decode_header_block(ERROR_STREAM_BLOCK) == ERROR_STREAM_HEADERS


def test_header_names_are_lower_cased_and_repeated_names_joined_with_nul() -> None:
    assert spdy.encode_header_block(
        {"StreamType": "data"}
    ) == b"\x00\x00\x00\x01\x00\x00\x00\x0astreamtype" + (b"\x00\x00\x00\x04data")
    block = (
        b"\x00\x00\x00\x02"
        + (b"\x00\x00\x00\x01a\x00\x00\x00\x01x")
        + (b"\x00\x00\x00\x01A\x00\x00\x00\x01y")
    )
    assert spdy.decode_header_block(block) == {"a": "x\0y"}


def test_syn_stream_known_answer_with_independent_zlib() -> None:
    wire = encode_frame(SynStream(1, ERROR_STREAM_HEADERS), HeaderCodec())
    # control bit + version 3, type 1 (SYN_STREAM), flags 0, then stream id 1, associated 0, priority 0, slot 0
    assert wire[:4] == b"\x80\x03\x00\x01"
    assert wire[4] == 0 and int.from_bytes(wire[5:8], "big") == len(wire) - 8
    assert wire[8:18] == b"\x00\x00\x00\x01" + b"\x00\x00\x00\x00" + b"\x00\x00"
    block = wire[18:]
    # zlib header: CMF 0x78, FLG with FDICT set at level 9 (0xf9), then the dictionary's Adler-32
    assert block[:6] == b"\x78\xf9\xe3\xc6\xa7\xc2"
    assert block.endswith(b"\x00\x00\xff\xff")  # every block ends with a sync flush
    independent = zlib.decompressobj(zdict=spdy.DICTIONARY)
    assert independent.decompress(block) == ERROR_STREAM_BLOCK


def test_one_zlib_stream_per_direction() -> None:
    codec, independent = HeaderCodec(), zlib.decompressobj(zdict=spdy.DICTIONARY)
    first = encode_frame(SynStream(1, ERROR_STREAM_HEADERS), codec)[18:]
    second = encode_frame(SynStream(3, ERROR_STREAM_HEADERS | {"streamtype": "data"}), codec)[18:]
    assert not second.startswith(b"\x78")  # no second zlib header: the stream goes on
    assert len(second) < len(first)  # and it remembers the first block
    assert independent.decompress(first) == ERROR_STREAM_BLOCK
    assert spdy.decode_header_block(independent.decompress(second))["streamtype"] == "data"


def test_reads_header_blocks_compressed_by_another_implementation() -> None:
    other = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, spdy.DICTIONARY)
    frames = b""
    for sid, kind in ((1, "error"), (3, "data")):
        block = other.compress(spdy.encode_header_block({"streamtype": kind, "port": "8080"}))
        block += other.flush(zlib.Z_SYNC_FLUSH)
        payload = struct.pack(">IIBB", sid, 0, 0, 0) + block
        frames += struct.pack(">HHI", 0x8003, 1, len(payload)) + payload
    got = FrameReader(HeaderCodec()).feed(frames)
    assert got == [
        SynStream(1, {"streamtype": "error", "port": "8080"}),
        SynStream(3, {"streamtype": "data", "port": "8080"}),
    ]


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (Ping(1), b"\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01"),
        (RstStream(5, spdy.CANCEL), b"\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x05\x00\x00\x00\x05"),
        (GoAway(7, spdy.GOAWAY_OK), b"\x80\x03\x00\x07\x00\x00\x00\x08\x00\x00\x00\x07\x00\x00\x00\x00"),
        (WindowUpdate(3, 32768), b"\x80\x03\x00\x09\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x80\x00"),
        (
            Settings({spdy.SETTINGS_INITIAL_WINDOW_SIZE: 65536}),
            b"\x80\x03\x00\x04\x00\x00\x00\x0c\x00\x00\x00\x01\x00\x00\x00\x07\x00\x01\x00\x00",
        ),
        (Data(3, b"hello", spdy.FLAG_FIN), b"\x00\x00\x00\x03\x01\x00\x00\x05hello"),
        (Data(1, b""), b"\x00\x00\x00\x01\x00\x00\x00\x00"),
    ],
)
def test_frames_match_the_spec_layout(frame: spdy.Frame, wire: bytes) -> None:
    assert encode_frame(frame, HeaderCodec()) == wire
    assert FrameReader(HeaderCodec()).feed(wire) == [frame]


def test_every_frame_round_trips_even_fed_one_byte_at_a_time() -> None:
    frames: list[spdy.Frame] = [
        SynStream(1, ERROR_STREAM_HEADERS, spdy.FLAG_FIN, associated_to=0, priority=3, slot=0),
        SynReply(1, {}),
        HeadersFrame(1, {"x": "y"}, spdy.FLAG_FIN),
        Data(1, b"x" * 70_000),
        RstStream(1, spdy.PROTOCOL_ERROR),
        Settings({4: 100, 7: 1 << 20}),
        Ping(2),
        GoAway(1, spdy.GOAWAY_PROTOCOL_ERROR),
        WindowUpdate(0, 1000),
    ]
    out = HeaderCodec()
    wire = b"".join(encode_frame(f, out) for f in frames)
    reader = FrameReader(HeaderCodec())
    got: list[spdy.Frame] = []
    for i in range(len(wire)):
        got += reader.feed(wire[i : i + 1])
    assert got == frames


def test_unknown_control_frame_types_are_skipped() -> None:
    unknown = b"\x80\x03\x00\x0a\x00\x00\x00\x04abcd"  # type 10 (CREDENTIAL), not used
    assert FrameReader(HeaderCodec()).feed(unknown + encode_frame(Ping(3), HeaderCodec())) == [Ping(3)]


@pytest.mark.parametrize(
    "wire",
    [
        b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01",  # SPDY/2
        b"\x80\x03\x00\x01\x00\x00\x00\x0e"
        + b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        + b"junk",  # not zlib
        b"\x80\x03\x00\x03\x00\x00\x00\x04\x00\x00\x00\x01",  # RST_STREAM without its status
    ],
)
def test_bad_frames_are_protocol_errors(wire: bytes) -> None:
    with pytest.raises(SpdyProtocolError):
        FrameReader(HeaderCodec()).feed(wire)


def test_header_block_must_fill_its_frame() -> None:
    with pytest.raises(SpdyProtocolError, match="size was incorrect"):
        spdy.decode_header_block(ERROR_STREAM_BLOCK + b"\x00")
    with pytest.raises(SpdyProtocolError, match="truncated"):
        spdy.decode_header_block(ERROR_STREAM_BLOCK[:-1])
