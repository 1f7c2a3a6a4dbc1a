"""Request decoding and response encoding.

Requests arrive as JSON (``application/json``, the patch types), YAML (``application/yaml`` and
``application/apply-patch+yaml``, whose bodies are JSON in practice, and JSON is YAML) or protobuf
(``application/vnd.kubernetes.protobuf``, sent by typed client-go clients with no fallback). Every answer
is JSON: stored objects are kept as serialized bytes, so a list is assembled by joining them rather than
re-encoding 10,000 pods.

Strict decoding: kube reports duplicate JSON keys and unknown fields under ``fieldValidation=Strict``;
duplicate detection happens here while parsing, unknown fields are found later against the kind's schema.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from ferry.cluster.apiserver import errors
from ferry.cluster.apiserver.protobuf import ProtobufError, decode

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"

MAX_BODY_BYTES = 3 * 1024 * 1024


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def accept_params(accept: str) -> list[dict[str, str]]:
    """The parameters of each media range in an Accept header (``as``, ``g``, ``v``...), in order."""
    out = []
    for part in accept.split(","):
        out.append({k.strip(): v.strip() for k, _, v in (p.partition("=") for p in part.split(";")[1:])})
    return out


class _Dups:
    """object_pairs_hook that records duplicate keys (strict decoding reports them)."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                self.found.append(k)
            out[k] = v
        return out


def decode_json(body: bytes) -> tuple[Any, list[str]]:
    """Parse JSON; returns (value, duplicate keys). Errors are 400 with Go-like wording."""
    dups = _Dups()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.bad_request("invalid character in request body: not valid UTF-8")
    try:
        return json.loads(text, object_pairs_hook=dups), dups.found
    except json.JSONDecodeError as e:
        raise errors.bad_request(f"error decoding JSON: {e.msg} at line {e.lineno} column {e.colno}")
    except RecursionError:
        raise errors.bad_request("error decoding JSON: nesting too deep")


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _construct_mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping key must be a scalar", key_node.start_mark
            )
        key = str(key) if not isinstance(key, str) else key
        if key in mapping:
            dup: list[str] = getattr(loader, "_dups", [])
            dup.append(key)
            loader._dups = dup  # type: ignore[attr-defined]
        mapping[key] = loader.construct_object(value_node, deep=True)  # type: ignore[no-untyped-call]
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Kubernetes YAML (sigs.k8s.io/yaml) converts YAML to JSON: timestamps stay strings.
_UniqueKeyLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def decode_yaml(body: bytes) -> tuple[Any, list[str]]:
    stripped = body.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            return decode_json(body)
        except errors.ApiError:
            pass  # maybe YAML flow style after all
    try:
        loader = _UniqueKeyLoader(body.decode("utf-8"))
        try:
            value = loader.get_single_data()
        finally:
            loader.dispose()  # type: ignore[no-untyped-call]
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise errors.bad_request(f"error converting YAML to JSON: yaml: {first}")
    except RecursionError:
        raise errors.bad_request("error converting YAML to JSON: nesting too deep")
    return value, list(getattr(loader, "_dups", []))


def decode_protobuf(body: bytes) -> dict[str, Any]:
    try:
        return decode(body)
    except ProtobufError as e:
        raise errors.bad_request(f"error decoding protobuf body: {e}")


def decode_body(body: bytes, content_type: str | None) -> tuple[Any, list[str]]:
    """Decode a create/update body by media type; returns (object, duplicate keys)."""
    mt = media_type(content_type)
    if not body.strip():
        raise errors.bad_request("the request body is empty")
    if mt in ("", JSON, "text/json") or mt.endswith("+json"):
        return decode_json(body)
    if mt in (YAML, "application/x-yaml", "text/yaml", APPLY_PATCH):
        return decode_yaml(body)
    if mt == PROTOBUF:
        return decode_protobuf(body), []
    raise errors.unsupported_media_type(mt)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def list_body(kind: str, api_version: str, raws: list[bytes], metadata: dict[str, Any]) -> bytes:
    """``{"kind":"<Kind>List",...,"items":[...]}`` from already-serialized items."""
    head = dumps({"kind": kind, "apiVersion": api_version, "metadata": metadata})
    return head[:-1] + b',"items":[' + b",".join(raws) + b"]}"
