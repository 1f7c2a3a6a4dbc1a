"""Checks of a custom resource beyond its schema: embedded resources and ``/scale`` replica paths.

Facts from apiextensions-apiserver v0.32: ``schema/objectmeta.Validate`` (an object marked
``x-kubernetes-embedded-resource`` below the root must carry string ``apiVersion`` and ``kind``)
and ``customResourceValidator.ValidateScaleSpec/Status`` (the replica counts named by the CRD's
scale subresource must be int32s >= 0; a non-integer is reported with unstructured's accessor
error wording). Also the small schema-walking helpers shared with ``crd.py``'s pruning and
defaulting, so both walk ``properties``/``additionalProperties``/``items`` identically.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.errors import FieldError, invalid_value, required
from ferry.cluster.resources.types import Obj
from ferry.cluster.resources.validation.common import is_dns1035_label
from ferry.cluster.resources.validation.openapi import go_float

EMBEDDED = "x-kubernetes-embedded-resource"
MAX_INT32 = 2**31 - 1
_GO_TYPES = {str: "string", bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}


def _go_v(value: Any) -> str:
    """Go's ``%v`` of a decoded JSON value (enough for accessor error messages)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_go_v(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_v(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, float):
        return go_float(value)
    return str(value)


def props_of(schema: dict[str, Any] | None) -> dict[str, Any]:
    props = schema.get("properties") if schema else None
    return props if isinstance(props, dict) else {}


def as_schema(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def additional_of(schema: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """(declared, schema): ``additionalProperties: true|false`` is declared with no schema."""
    value = schema.get("additionalProperties")
    if value is None:
        return False, None
    return True, as_schema(value)


def join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def embedded_resource_errors(x: Any, s: dict[str, Any] | None, path: str) -> list[FieldError]:
    """``objectmeta.Validate`` for nested embedded resources: apiVersion and kind are required."""
    if s is None:
        return []
    errs: list[FieldError] = []
    if isinstance(x, dict):
        if s.get(EMBEDDED) is True and path:
            for name in ("apiVersion", "kind"):
                if name not in x:
                    errs.append(required(join(path, name), "must not be empty"))
                elif not isinstance(x[name], str):
                    errs.append(invalid_value(join(path, name), x[name], "must be a string"))
                elif not x[name]:
                    errs.append(invalid_value(join(path, name), "", "must not be empty"))
            kind = x.get("kind")
            if isinstance(kind, str) and kind:
                msgs = is_dns1035_label(kind.lower())
                if msgs:
                    detail = "may have mixed case, but should otherwise match: " + ",".join(msgs)
                    errs.append(invalid_value(join(path, "kind"), kind, detail))
        props = props_of(s)
        _, additional = additional_of(s)
        for k in sorted(x):
            if k in props:
                errs.extend(embedded_resource_errors(x[k], as_schema(props[k]), join(path, k)))
            elif additional is not None:
                errs.extend(embedded_resource_errors(x[k], additional, f"{path}[{k}]"))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            errs.extend(embedded_resource_errors(v, as_schema(s.get("items")), f"{path}[{i}]"))
    return errs


def scale_replicas_errors(obj: Obj, json_path: Any) -> list[FieldError]:
    if not isinstance(json_path, str) or not json_path:
        return []
    value: Any = obj
    for part in json_path.lstrip(".").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        go_type = _GO_TYPES.get(type(value), "float64")
        detail = f"{json_path} accessor error: {_go_v(value)} is of the type {go_type}, expected int64"
        return [invalid_value(json_path, 0, detail)]
    if value < 0:
        return [invalid_value(json_path, value, "should be a non-negative integer")]
    if value > MAX_INT32:
        return [invalid_value(json_path, value, f"should be less than or equal to {MAX_INT32}")]
    return []


__all__ = [
    "additional_of",
    "as_schema",
    "embedded_resource_errors",
    "join",
    "props_of",
    "scale_replicas_errors",
]
