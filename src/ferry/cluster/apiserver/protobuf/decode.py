"""Decode ``application/vnd.kubernetes.protobuf`` request bodies into the JSON dicts ferry stores.

Why: since client-go 1.32 typed clients (kubectl ``create ...``, ``auth can-i``, Helm's release
storage, typed deletes) send protobuf bodies with no JSON fallback. ferry never *encodes* protobuf
(clients accept JSON replies), so only this direction exists.

A body is ``b"k8s\\x00"`` + ``runtime.Unknown{1: typeMeta{1: apiVersion, 2: kind}, 2: raw, 3:
contentEncoding, 4: contentType}``; ``raw`` is the object message. :func:`decode` picks the message
table from ``(apiVersion, kind)`` (see ``messages``) and walks ``raw`` with it, producing the object
exactly as kube-apiserver would print it as JSON, with ``apiVersion`` and ``kind`` first.

Go-faithful details, each one observable by clients:

* zero fill: Go writes every non-pointer field; the table flags decide what survives (pointers and
  non-``omitempty`` scalars keep their zero, the rest is dropped; empty structs, lists, maps go);
* repeated occurrences of a singular field: the last scalar wins, message occurrences are merged
  (their bytes concatenated, which is proto's merge); Time/Quantity/IntOrString take the last;
* packed and unpacked encodings of repeated numbers are both accepted, as Go's generated code does;
* ``Time`` keeps whole seconds (Go's ``Time.Unmarshal`` drops nanos); ``MicroTime`` truncates to
  microseconds; both print in UTC; an empty Time payload is Go's zero time, printed ``null``: dropped;
* bytes (Secret ``data``, ConfigMap ``binaryData``) become base64; invalid UTF-8 in strings becomes
  U+FFFD, as Go's JSON encoder does; unknown field numbers are skipped (newer clients).

Not done here: Quantity strings are passed through uncanonicalised ("1000m" stays "1000m") and
unvalidated; defaulting and validation belong to ``ferry.cluster.resources``.

Errors: everything malformed raises :class:`ProtobufError` (from ``wire``), which the API server
answers as 400 BadRequest with the message; the message names the field path where it can.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ferry.cluster.apiserver.protobuf.messages import MESSAGES, Field, Message, message_for
from ferry.cluster.apiserver.protobuf.wire import (
    BYTES,
    VARINT,
    WIRE_TYPE_NAMES,
    ProtobufError,
    as_int32,
    as_int64,
    iter_fields,
    iter_packed_varints,
)

__all__ = ["CONTENT_TYPE", "MAGIC", "ProtobufError", "decode"]

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

_WIRE_TYPE_OF = {"s": BYTES, "y": BYTES, "b": VARINT, "i32": VARINT, "i64": VARINT}
_PACKABLE = frozenset({"b", "i32", "i64"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_GO_ZERO_TIME_UNIX = -62135596800  # time.Time{}.Unix(): 0001-01-01T00:00:00Z


def decode(body: bytes) -> dict[str, Any]:
    """Decode one protobuf request body into a Kubernetes JSON object (``apiVersion``/``kind`` first).

    Raises :class:`ProtobufError` for a missing magic, a malformed message, a kind ferry does not
    decode (the message names the kind), or a value Go could not print as JSON.
    """
    body = bytes(body)  # a bytearray/memoryview from the HTTP layer would slice into non-bytes
    if not body:
        raise ProtobufError("empty data")
    if not body.startswith(MAGIC):
        raise ProtobufError(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    if len(body) == len(MAGIC):
        raise ProtobufError("empty body")
    api_version, kind, raw = _unknown(body[len(MAGIC) :])
    type_meta = f'runtime.TypeMeta{{APIVersion:"{api_version}", Kind:"{kind}"}}'
    if not kind:
        raise ProtobufError(f"Object 'Kind' is missing in '{type_meta}'")
    if not api_version:
        raise ProtobufError(f"Object 'apiVersion' is missing in '{type_meta}'")
    message = message_for(api_version, kind)
    if message is None:
        raise ProtobufError(
            f'no kind "{kind}" is registered for version "{api_version}" in ferry\'s protobuf decoder'
        )
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    obj.update(_message(message, raw, kind))
    return obj


def _unknown(data: bytes) -> tuple[str, str, bytes]:
    """``runtime.Unknown`` -> (apiVersion, kind, raw). contentEncoding/contentType are ignored, as in Go."""
    api_version = kind = ""
    raw = b""
    for number, wire_type, value in iter_fields(data):
        if number == 1:
            type_meta = _need_bytes(wire_type, value, "Unknown.typeMeta")
            for inner, inner_type, inner_value in iter_fields(type_meta):
                if inner == 1:
                    api_version = _text(_need_bytes(inner_type, inner_value, "TypeMeta.apiVersion"))
                elif inner == 2:
                    kind = _text(_need_bytes(inner_type, inner_value, "TypeMeta.kind"))
        elif number == 2:
            raw = _need_bytes(wire_type, value, "Unknown.raw")
        elif number in (3, 4):
            _need_bytes(wire_type, value, "Unknown.contentEncoding" if number == 3 else "Unknown.contentType")
    return api_version, kind, raw


def _message(message: Message, data: bytes, path: str) -> dict[str, Any]:
    """Decode one message with its table; the result holds only what Go's JSON would show."""
    values: dict[int, Any] = {}
    chunks: dict[int, list[bytes]] = {}
    for number, wire_type, value in iter_fields(data):
        field = message.fields.get(number)
        if field is None:
            continue  # a field newer than v0.32, or one Kubernetes removed: skipped like Go does
        where = f"{path}.{field.name}"
        if field.map:
            key, item = _map_entry(field, _need_bytes(wire_type, value, where), where)
            values.setdefault(number, {})[key] = item
        elif field.repeated:
            items = values.setdefault(number, [])
            if field.type in _PACKABLE and wire_type == BYTES:
                assert isinstance(value, bytes)
                items.extend(_number(field.type, raw) for raw in iter_packed_varints(value))
            else:
                items.append(_value(field.type, wire_type, value, f"{where}[{len(items)}]"))
        elif field.is_message:
            chunks.setdefault(number, []).append(_need_bytes(wire_type, value, where))
        else:
            values[number] = _value(field.type, wire_type, value, where)
    out: dict[str, Any] = {}
    for number, field in message.fields.items():
        if number in chunks:
            sub = _message(MESSAGES[field.type], b"".join(chunks[number]), f"{path}.{field.name}")
            if field.inline:
                out.update(sub)
            elif sub or field.pointer:
                out[field.name] = sub
        elif number in values:
            value = values[number]
            if field.repeated or field.map:
                if value:
                    out[field.name] = value
            elif value is not None and (field.pointer or field.keep_zero or not _is_zero(field.type, value)):
                out[field.name] = value
    return out


def _is_zero(type_: str, value: Any) -> bool:
    """Is ``value`` Go's zero fill for ``type_``? (IntOrString has two: ``0`` and ``""``.)"""
    if type_ == "ios" and isinstance(value, str):
        return value == ""
    return bool(value == _zero(type_))


def _zero(type_: str) -> Any:
    """Go's zero value of a type, as its JSON shows it (``None`` = printed null)."""
    if type_ in ("s", "y"):
        return ""
    if type_ in ("i32", "i64", "ios"):
        return 0
    if type_ == "b":
        return False
    if type_ == "q":
        return "0"
    if type_ in ("t", "mt", "fv1"):
        return None
    return {}


def _map_entry(field: Field, data: bytes, where: str) -> tuple[str, Any]:
    """One ``{1: key, 2: value}`` entry; a missing value is the type's zero, like Go's map decode."""
    key = ""
    item: Any = _zero(field.type)
    for number, wire_type, value in iter_fields(data):
        if number == 1:
            key = _text(_need_bytes(wire_type, value, f"{where} key"))
        elif number == 2:
            item = _value(field.type, wire_type, value, f"{where}[{key!r}]")
    return key, item


def _value(type_: str, wire_type: int, value: int | bytes, where: str) -> Any:
    """Decode one scalar, special type or (repeated-element) message."""
    if type_ in _WIRE_TYPE_OF:
        expected = _WIRE_TYPE_OF[type_]
        if wire_type != expected:
            raise _wrong_wire_type(wire_type, expected, where)
        if expected == VARINT:
            assert isinstance(value, int)
            return _number(type_, value)
        assert isinstance(value, bytes)
        return _text(value) if type_ == "s" else base64.b64encode(value).decode("ascii")
    data = _need_bytes(wire_type, value, where)
    if type_ == "q":
        return _quantity(data, where)
    if type_ == "ios":
        return _int_or_string(data, where)
    if type_ in ("t", "mt"):
        return _time(data, where, micro=type_ == "mt")
    if type_ == "fv1":
        return _fields_v1(data, where)
    return _message(MESSAGES[type_], data, where)


def _number(type_: str, raw: int) -> int | bool:
    if type_ == "b":
        return raw != 0
    return as_int32(raw) if type_ == "i32" else as_int64(raw)


def _quantity(data: bytes, where: str) -> str:
    """resource.Quantity ``{1: string}``; an empty message is the zero Quantity, printed "0"."""
    text = "0"
    for number, wire_type, value in iter_fields(data):
        if number == 1:
            text = _text(_need_bytes(wire_type, value, f"{where}.string"))
    return text


def _int_or_string(data: bytes, where: str) -> int | str:
    """intstr.IntOrString ``{1: type (0 int, 1 string), 2: intVal, 3: strVal}`` -> JSON int or string."""
    kind, int_val, str_val = 0, 0, ""
    for number, wire_type, value in iter_fields(data):
        if number == 1:
            kind = as_int64(_need_varint(wire_type, value, f"{where}.type"))
        elif number == 2:
            int_val = as_int32(_need_varint(wire_type, value, f"{where}.intVal"))
        elif number == 3:
            str_val = _text(_need_bytes(wire_type, value, f"{where}.strVal"))
    if kind == 0:
        return int_val
    if kind == 1:
        return str_val
    raise ProtobufError(f"{where}: impossible IntOrString.Type {kind}")


def _time(data: bytes, where: str, *, micro: bool) -> str | None:
    """meta Time / MicroTime ``{1: seconds, 2: nanos}`` -> RFC 3339 in UTC; ``None`` for Go's zero time."""
    if not data:
        return None
    seconds = nanos = 0
    for number, wire_type, value in iter_fields(data):
        if number == 1:
            seconds = as_int64(_need_varint(wire_type, value, f"{where}.seconds"))
        elif number == 2:
            nanos = as_int32(_need_varint(wire_type, value, f"{where}.nanos"))
    # Time drops nanos entirely; MicroTime truncates them toward zero to whole microseconds.
    micros = (abs(nanos) // 1000) * (1 if nanos >= 0 else -1) if micro else 0
    total = seconds * 1_000_000 + micros
    if total == _GO_ZERO_TIME_UNIX * 1_000_000:
        return None
    try:
        moment = _EPOCH + timedelta(microseconds=total)
    except OverflowError:
        raise ProtobufError(f"{where}: time {seconds}s is outside the years 1-9999")
    stamp = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    return f"{stamp}.{moment.microsecond:06d}Z" if micro else f"{stamp}Z"


def _fields_v1(data: bytes, where: str) -> Any:
    """meta FieldsV1 ``{1: raw}``: the raw bytes are the JSON value itself."""
    raw = b""
    for number, wire_type, value in iter_fields(data):
        if number == 1:
            raw = _need_bytes(wire_type, value, f"{where}.Raw")
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtobufError(f"{where}: fieldsV1 is not valid JSON")


def _need_bytes(wire_type: int, value: int | bytes, where: str) -> bytes:
    if wire_type != BYTES or not isinstance(value, bytes):
        raise _wrong_wire_type(wire_type, BYTES, where)
    return value


def _need_varint(wire_type: int, value: int | bytes, where: str) -> int:
    if wire_type != VARINT or not isinstance(value, int):
        raise _wrong_wire_type(wire_type, VARINT, where)
    return value


def _wrong_wire_type(got: int, want: int, where: str) -> ProtobufError:
    return ProtobufError(
        f"proto: wrong wire type {WIRE_TYPE_NAMES.get(got, got)} for field {where} "
        f"(want {WIRE_TYPE_NAMES[want]})"
    )


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
