"""A minimal proto2 wire-format reader: enough to walk Kubernetes' ``generated.proto`` messages.

The wire format is a flat sequence of ``(tag, value)`` pairs, ``tag = field_number << 3 | wire_type``:

====  ===============  =====================================================================
 wt   name             payload
====  ===============  =====================================================================
 0    varint           7 bits per byte, little-endian groups, high bit = "more" (<= 10 bytes)
 1    fixed64          8 bytes little-endian
 2    length-delimited varint length, then that many bytes (strings, bytes, messages, packed)
 3/4  start/end group  deprecated nesting; only ever *skipped* here
 5    fixed32          4 bytes little-endian
====  ===============  =====================================================================

This module knows nothing about Kubernetes: :func:`iter_fields` yields ``(number, wire_type, value)``
with ``value`` an ``int`` for numeric wire types and ``bytes`` for length-delimited ones (a group
yields its raw contents), and the typed conversions (:func:`as_int32`, :func:`as_int64`, ...) mirror
what Go's generated code does with a raw varint. The message tables and the JSON mapping live in
``messages`` and ``decode``.

Invariants:

* Every malformed input raises :class:`ProtobufError` (never ``IndexError``, ``ValueError``...):
  the API server turns it into a 400 and a fuzz test holds the module to it.
* Nothing here recurses: groups are skipped with an explicit depth counter, so hostile nesting
  cannot exhaust the Python stack.
* Varints are read as unsigned 64-bit, like Go's ``uint64`` accumulation; bits past the 64th
  are dropped, an 11th byte is an error ("integer overflow").
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT = 0
FIXED64 = 1
BYTES = 2
START_GROUP = 3
END_GROUP = 4
FIXED32 = 5

WIRE_TYPE_NAMES = {
    VARINT: "varint",
    FIXED64: "fixed64",
    BYTES: "length-delimited",
    START_GROUP: "start-group",
    END_GROUP: "end-group",
    FIXED32: "fixed32",
}

_MASK64 = (1 << 64) - 1
# Field numbers are 29 bits in the protobuf spec.
_MAX_FIELD_NUMBER = (1 << 29) - 1


class ProtobufError(Exception):
    """A request body that is not a well-formed Kubernetes protobuf message (answered 400 BadRequest)."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read one varint at ``pos``; return ``(value, next_pos)``. ``value`` is unsigned 64-bit."""
    result = 0
    shift = 0
    end = len(data)
    while True:
        if shift >= 70:
            raise ProtobufError("proto: integer overflow (varint longer than 10 bytes)")
        if pos >= end:
            raise ProtobufError("proto: unexpected EOF inside a varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _MASK64, pos
        shift += 7


def _read_fixed(data: bytes, pos: int, size: int) -> tuple[int, int]:
    if pos + size > len(data):
        raise ProtobufError(f"proto: unexpected EOF inside a fixed{size * 8} value")
    return int.from_bytes(data[pos : pos + size], "little"), pos + size


def _read_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = read_varint(data, pos)
    if length > len(data) - pos:
        raise ProtobufError(f"proto: length {length} runs past the end of the message (unexpected EOF)")
    return data[pos : pos + length], pos + length


def _read_tag(data: bytes, pos: int) -> tuple[int, int, int]:
    key, pos = read_varint(data, pos)
    number, wire_type = key >> 3, key & 7
    if number == 0 or number > _MAX_FIELD_NUMBER:
        raise ProtobufError(f"proto: illegal tag {number} (wire type {wire_type})")
    if wire_type > FIXED32:
        raise ProtobufError(f"proto: illegal wire type {wire_type} for field {number}")
    return number, wire_type, pos


def _skip_group(data: bytes, pos: int, number: int) -> tuple[bytes, int]:
    """Skip to the END_GROUP matching ``number``; return the group's raw contents and the next position."""
    start = pos
    open_groups = [number]
    while True:
        if pos >= len(data):
            raise ProtobufError(f"proto: unexpected EOF inside group {number}")
        inner, wire_type, after = _read_tag(data, pos)
        if wire_type == END_GROUP:
            if inner != open_groups[-1]:
                raise ProtobufError(f"proto: end-group {inner} does not match start-group {open_groups[-1]}")
            open_groups.pop()
            if not open_groups:
                return data[start:pos], after
            pos = after
        elif wire_type == START_GROUP:
            open_groups.append(inner)
            pos = after
        else:
            pos = _skip_value(data, after, wire_type)


def _skip_value(data: bytes, pos: int, wire_type: int) -> int:
    if wire_type == VARINT:
        return read_varint(data, pos)[1]
    if wire_type == FIXED64:
        return _read_fixed(data, pos, 8)[1]
    if wire_type == FIXED32:
        return _read_fixed(data, pos, 4)[1]
    return _read_bytes(data, pos)[1]  # BYTES (groups are handled by the caller)


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(field_number, wire_type, value)`` for every field of one message, in wire order.

    ``value`` is an ``int`` (varint, fixed32, fixed64: unsigned) or ``bytes`` (length-delimited, and
    the raw contents of a group). A stray END_GROUP at the top level is an error.
    """
    pos = 0
    end = len(data)
    while pos < end:
        number, wire_type, pos = _read_tag(data, pos)
        value: int | bytes
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == FIXED64:
            value, pos = _read_fixed(data, pos, 8)
        elif wire_type == FIXED32:
            value, pos = _read_fixed(data, pos, 4)
        elif wire_type == BYTES:
            value, pos = _read_bytes(data, pos)
        elif wire_type == START_GROUP:
            value, pos = _skip_group(data, pos, number)
        else:
            raise ProtobufError(f"proto: unexpected end-group for field {number}")
        yield number, wire_type, value


def iter_packed_varints(data: bytes) -> Iterator[int]:
    """Yield the varints of a packed repeated numeric field (one length-delimited payload)."""
    pos = 0
    while pos < len(data):
        value, pos = read_varint(data, pos)
        yield value


def as_int64(raw: int) -> int:
    """A varint as Go's ``int64``: two's complement of the low 64 bits."""
    raw &= _MASK64
    return raw - (1 << 64) if raw >> 63 else raw


def as_int32(raw: int) -> int:
    """A varint as Go's ``int32``: the low 32 bits (negative int32s arrive sign-extended to 10 bytes)."""
    raw &= 0xFFFFFFFF
    return raw - (1 << 32) if raw >> 31 else raw
