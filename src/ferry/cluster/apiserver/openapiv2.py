"""``/openapi/v2``: the Swagger 2.0 document, in JSON or in gnostic's protobuf encoding.

kubectl 1.32 reads v2 in one place that matters: ``kubectl apply|create|replace -f`` of a ``kind: List``
(what ``kubectl get … -o yaml`` prints). For ``v1/List`` its field-validation verifier answers "unsupported"
without asking the server (cli-runtime ``queryParamVerifierV3.HasSupport``), so kubectl validates the items
client-side against the v2 definitions it downloads with ``Accept:
application/com.github.proto-openapi.spec.v2@v1.0+protobuf``. A 404 there fails the whole command ("error
validating data: the server could not find the requested resource"). Each item is then sent on its own, with
``fieldValidation=Strict``, and validated here.

As with :mod:`.openapi` (v3), schemas are not embedded: ``definitions`` is empty, so kubectl's client-side
pass finds no model for an item and leaves validation to the server (kubectl's ``validateResource`` skips a
kind it has no model for). ``paths`` is empty too: kubectl 1.32 consults v2 paths only when the v3 document
of a group-version cannot be fetched, which never happens here.

Content negotiation is kube-openapi's (``handler.RegisterOpenAPIVersionedService``): the Accept clauses sorted
by ``q``, the first that matches JSON, the protobuf type (kubectl still sends the deprecated spelling with ``@``),
or a wildcard wins; the protobuf answer is labelled with the current spelling (``…spec.v2.v1.0+protobuf``; Go's
``mime`` parser rejects the ``@``); nothing acceptable is a 406.

The protobuf is ``openapi_v2.Document`` of github.com/google/gnostic-models (``OpenAPIv2.proto``): field 1
``swagger``, 2 ``info`` (``Info``: 1 ``title``, 2 ``version``), 8 ``paths``, 9 ``definitions``. Only the
writer side of the wire format is needed, and only strings and nested messages.
"""

from __future__ import annotations

import json

PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_ACCEPTED = (  # (type, subtype, what is served), in kube-openapi's order
    ("application", "json", "application/json"),
    ("application", "com.github.proto-openapi.spec.v2@v1.0+protobuf", PROTOBUF),
    ("application", "com.github.proto-openapi.spec.v2.v1.0+protobuf", PROTOBUF),
)
TITLE, VERSION = "Kubernetes", "v1.32.4"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): strings and embedded messages alike."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def document_protobuf() -> bytes:
    info = _field(1, TITLE.encode()) + _field(2, VERSION.encode())
    # Empty ``paths`` and ``definitions`` are present but empty, as a Go marshal of non-nil messages is.
    return _field(1, b"2.0") + _field(2, info) + _field(8, b"") + _field(9, b"")


def document_json() -> bytes:
    doc = {"swagger": "2.0", "info": {"title": TITLE, "version": VERSION}, "paths": {}, "definitions": {}}
    return json.dumps(doc, separators=(",", ":")).encode()


def _clauses(accept: str) -> list[tuple[str, str]]:
    """goautoneg.ParseAccept: ``(type, subtype)`` by descending ``q`` (stable), ``q=0`` dropped."""
    parsed: list[tuple[float, int, str, str]] = []
    for i, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind, _, sub = media.partition("/")
        if q > 0 and kind:
            parsed.append((-q, i, kind, sub or "*"))
    return [(kind, sub) for _, _, kind, sub in sorted(parsed)]


def negotiate(accept: str) -> str | None:
    """The content type to serve for this Accept header (an empty one means ``*/*``), or None: 406."""
    for kind, sub in _clauses(accept or "*/*"):
        for want_kind, want_sub, served in _ACCEPTED:
            if kind in (want_kind, "*") and sub in (want_sub, "*"):
                return served
    return None
