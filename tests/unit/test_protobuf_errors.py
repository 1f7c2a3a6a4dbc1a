"""Malformed bodies: every failure is a ProtobufError with a useful message, never another exception."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.apiserver.protobuf import KINDS, ProtobufError, decode
from tests.unit.test_protobuf_encoder import MAGIC, Raw, body, encode, tag, varint
from tests.unit.test_protobuf_kubectl import captured


def error_of(data: bytes) -> str:
    with pytest.raises(ProtobufError) as caught:
        decode(data)
    return str(caught.value)


def test_empty_and_prefix_only_bodies() -> None:
    assert error_of(b"") == "empty data"
    assert error_of(MAGIC) == "empty body"


def test_a_json_body_is_not_mistaken_for_protobuf() -> None:
    assert error_of(b'{"kind":"ConfigMap"}') == (
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
    )


def test_unknown_kind_and_unknown_version_name_the_kind() -> None:
    assert error_of(body("v1", "Widget", [])) == (
        'no kind "Widget" is registered for version "v1" in ferry\'s protobuf decoder'
    )
    assert error_of(body("apps/v1beta1", "Deployment", [])) == (
        'no kind "Deployment" is registered for version "apps/v1beta1" in ferry\'s protobuf decoder'
    )


def test_missing_kind_or_api_version_is_reported_like_apimachinery() -> None:
    assert (
        error_of(body("v1", "", []))
        == "Object 'Kind' is missing in 'runtime.TypeMeta{APIVersion:\"v1\", Kind:\"\"}'"
    )
    assert error_of(body("", "ConfigMap", [])) == (
        "Object 'apiVersion' is missing in 'runtime.TypeMeta{APIVersion:\"\", Kind:\"ConfigMap\"}'"
    )


def test_every_truncation_of_a_real_body_fails_except_at_envelope_field_boundaries() -> None:
    full = captured("deployment")
    expected = decode(full)
    after_type_meta = len(MAGIC) + 2 + full[len(MAGIC) + 1]  # a valid Unknown without raw: bare object
    for cut in range(len(MAGIC) + 1, len(full)):
        if cut == after_type_meta:
            assert decode(full[:cut]) == {"apiVersion": "apps/v1", "kind": "Deployment"}
        elif cut in (len(full) - 4, len(full) - 2):  # only the empty contentEncoding/contentType are gone
            assert decode(full[:cut]) == expected
        else:
            assert "unexpected EOF" in error_of(full[:cut]), cut


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (tag(0, 0) + varint(1), "proto: illegal tag 0 (wire type 0)"),
        (tag(1, 6), "proto: illegal wire type 6 for field 1"),
        (tag(1, 7), "proto: illegal wire type 7 for field 1"),
        (tag(1, 0) + b"\xff" * 10 + b"\x01", "proto: integer overflow (varint longer than 10 bytes)"),
        (tag(1, 4), "proto: unexpected end-group for field 1"),
        (tag(9, 3) + tag(8, 4), "proto: end-group 8 does not match start-group 9"),
        (tag(9, 3) + tag(1, 0) + varint(5), "proto: unexpected EOF inside group 9"),
        (tag(9, 1) + b"\x00" * 7, "proto: unexpected EOF inside a fixed64 value"),
        (tag(9, 5) + b"\x00" * 3, "proto: unexpected EOF inside a fixed32 value"),
        (
            tag(1, 2) + varint(2**63),
            f"proto: length {2**63} runs past the end of the message (unexpected EOF)",
        ),
    ],
)
def test_wire_level_garbage_inside_the_object(raw: bytes, message: str) -> None:
    assert error_of(body("v1", "ConfigMap", [(1, [Raw(raw)])])) == message


def test_wrong_wire_type_inside_the_unknown_envelope() -> None:
    assert error_of(MAGIC + encode([(2, 5)])) == (
        "proto: wrong wire type varint for field Unknown.raw (want length-delimited)"
    )


# --- fuzzing: hostile input must only ever produce ProtobufError


def decode_or_protobuf_error(data: bytes) -> dict[str, Any] | None:
    try:
        result = decode(data)
    except ProtobufError as exc:
        assert str(exc)
        return None
    assert isinstance(result, dict) and "kind" in result
    return result


# Random but well-formed protobuf trees: they reach every typed decode path (times, quantities,
# IntOrString, FieldsV1, maps, packed numbers) with values of every wire type.
_scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.booleans(),
    st.text(max_size=8),
    st.binary(max_size=8),
)
_fields = st.recursive(
    st.lists(st.tuples(st.integers(min_value=1, max_value=40), _scalars), max_size=6),
    lambda inner: st.lists(
        st.tuples(st.integers(min_value=1, max_value=40), st.one_of(_scalars, inner)), max_size=6
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), raw=_fields)
def test_fuzz_structured_garbage_for_every_registered_kind(kind: tuple[str, str], raw: list[Any]) -> None:
    decode_or_protobuf_error(body(kind[0], kind[1], raw))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), raw=st.binary(max_size=200))
def test_fuzz_random_bytes_as_the_object(kind: tuple[str, str], raw: bytes) -> None:
    decode_or_protobuf_error(body(kind[0], kind[1], raw))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=120))
def test_fuzz_random_bytes_after_the_magic(data: bytes) -> None:
    decode_or_protobuf_error(MAGIC + data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_byte_flips_in_a_real_deployment_body(data: st.DataObject) -> None:
    original = bytearray(captured("deployment"))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        index = data.draw(st.integers(min_value=len(MAGIC), max_value=len(original) - 1))
        original[index] = data.draw(st.integers(min_value=0, max_value=255))
    decode_or_protobuf_error(bytes(original))
