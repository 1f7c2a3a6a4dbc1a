"""``/openapi/v2``: kube-openapi's content negotiation and the gnostic protobuf encoding."""

from __future__ import annotations

import json

import pytest

from ferry.cluster.apiserver import openapiv2
from ferry.cluster.apiserver.protobuf.wire import iter_fields

PB = openapiv2.PROTOBUF
OLD = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


@pytest.mark.parametrize(
    ("accept", "served"),
    [  # the cases of kube-openapi's handler_test, plus wildcards and the empty header
        ("application/json", "application/json"),
        (PB, PB),
        (f"application/json, {PB}", "application/json"),
        (f"{PB}, application/json", PB),
        (f"{PB}; q=0.5, application/json", "application/json"),
        (OLD, PB),
        (f"{OLD}, application/json", PB),
        (f"{OLD}; q=0.5, application/json", "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("text/html", None),
        ("application/json;q=0", None),
    ],
)
def test_negotiation(accept: str, served: str | None) -> None:
    assert openapiv2.negotiate(accept) == served


def test_protobuf_document_fields() -> None:
    fields = {n: v for n, _, v in iter_fields(openapiv2.document_protobuf())}
    assert fields[1] == b"2.0"
    info = dict((n, v) for n, _, v in iter_fields(fields[2]))  # type: ignore[arg-type]
    assert info == {1: b"Kubernetes", 2: b"v1.32.4"}
    assert fields[8] == b"" and fields[9] == b""  # empty paths and definitions


def test_json_document_matches_the_protobuf_one() -> None:
    doc = json.loads(openapiv2.document_json())
    assert doc == {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.4"},
        "paths": {},
        "definitions": {},
    }


def test_varints_longer_than_one_byte() -> None:
    long_title = b"x" * 300
    encoded = openapiv2._field(1, long_title)
    assert [(n, v) for n, _, v in iter_fields(encoded)] == [(1, long_title)]
