"""The proto2 wire reader on its own: varints, signed views, fixed widths, packing, groups."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.apiserver.protobuf.wire import (
    as_int32,
    as_int64,
    iter_fields,
    iter_packed_varints,
    read_varint,
)
from tests.unit.test_protobuf_encoder import Fixed32, Fixed64, Packed, Raw, encode, tag, varint


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_varints_round_trip_as_unsigned_64_bit(n: int) -> None:
    data = varint(n) + b"\x99"
    assert read_varint(data, 0) == (n, len(data) - 1)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_int64_view_recovers_negative_numbers(n: int) -> None:
    assert as_int64(read_varint(varint(n), 0)[0]) == n


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_int32_view_recovers_sign_extended_numbers(n: int) -> None:
    assert as_int32(read_varint(varint(n), 0)[0]) == n


def test_bits_past_64_are_dropped_like_go() -> None:
    # 10 bytes of 0x7f payload = 70 bits; Go keeps the low 64.
    assert read_varint(b"\xff" * 9 + b"\x7f", 0)[0] == 2**64 - 1


def test_iter_fields_yields_every_wire_type_in_order() -> None:
    group = Raw(tag(7, 3) + tag(1, 0) + varint(5) + tag(7, 4))
    data = encode([(1, 150), (2, Fixed64(2**64 - 1)), (3, "hi"), (4, Fixed32(7)), group, (8, b"")])
    assert list(iter_fields(data)) == [
        (1, 0, 150),
        (2, 1, 2**64 - 1),
        (3, 2, b"hi"),
        (4, 5, 7),
        (7, 3, tag(1, 0) + varint(5)),
        (8, 2, b""),
    ]


def test_packed_varints() -> None:
    payload = encode([(1, Packed([0, 1, 300, 2**64 - 1]))])
    ((_, _, value),) = list(iter_fields(payload))
    assert isinstance(value, bytes)
    assert list(iter_packed_varints(value)) == [0, 1, 300, 2**64 - 1]
