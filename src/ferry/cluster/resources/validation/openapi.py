"""Validate a JSON value against a CRD ``openAPIV3Schema``, worded the way kube-apiserver words it.

kube-apiserver validates custom resources with kube-openapi's go-openapi fork and turns each
result into a field error (``kubeOpenAPIResultToFieldErrors`` in apiextensions-apiserver). Users
see those messages verbatim, e.g.::

    spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"
    spec.size: Unsupported value: "XL": supported values: "S", "M"
    spec.name: Required value

Design: the traversal (properties, items, additionalProperties, allOf/anyOf/oneOf/not) and error
collection are jsonschema's Draft 4 validator; the keywords whose semantics differ in kube are
replaced: ``type`` (``nullable``, a float with an integral value is an integer),
``x-kubernetes-int-or-string``, ``required`` (one error per missing property, at its own path) and
``format`` (kube's format set). ``$ref``/``dependencies``/``patternProperties``/``additionalItems``
are ignored: CRD validation forbids them, so a stored CRD never has them. Each jsonschema error is
then mapped to the ``FieldError`` kube would produce, keyed on the keyword that failed.

Error order follows the schema's property order (kube's follows Go map order, i.e. random), so
results are deterministic. Numbers in messages are printed like Go's ``%v``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from jsonschema import Draft4Validator, ValidationError, validators  # type: ignore[import-untyped]

from ferry.cluster.apiserver.errors import (
    FieldError,
    invalid_value,
    not_supported,
    required,
    too_long,
    too_many,
    type_invalid,
)
from ferry.cluster.resources.validation.common import type_name

IN = "body"

# strfmt.ParseDateTime: RFC 3339 (fraction optional) or local ISO 8601 time; "" is valid.
_DATE_TIME_RE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?")
_DATE_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")
_HOSTNAME_RE = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*"
)
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
_MAC_RE = re.compile(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}")
_DURATION_RE = re.compile(r"(\d+(\.\d+)?\s*(ns|us|µs|ms|s|m|h|d|w)\s*)+")
_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")


def _valid_format(fmt: str, value: str) -> bool:
    """kube-openapi's string formats that are cheap to check; unknown formats always pass."""
    try:
        if fmt in ("date-time", "datetime"):
            return _DATE_TIME_RE.fullmatch(value) is not None
        if fmt == "date":
            return _DATE_RE.fullmatch(value) is not None
        if fmt == "ipv4":
            return ipaddress.ip_address(value).version == 4
        if fmt == "ipv6":
            return ipaddress.ip_address(value).version == 6
        if fmt == "cidr":
            ipaddress.ip_network(value, strict=False)
            return "/" in value
        if fmt in ("uuid", "uuid3", "uuid4", "uuid5"):
            parsed = uuid.UUID(value)
            return fmt == "uuid" or parsed.version == int(fmt[-1])
        if fmt == "byte":
            base64.b64decode(value, validate=True)
            return True
        if fmt == "hostname":
            return _HOSTNAME_RE.fullmatch(value) is not None
        if fmt == "email":
            return _EMAIL_RE.fullmatch(value) is not None
        if fmt == "mac":
            return _MAC_RE.fullmatch(value) is not None
        if fmt == "duration":
            return _DURATION_RE.fullmatch(value) is not None
        if fmt == "uri":
            return _URI_RE.fullmatch(value) is not None
    except (ValueError, binascii.Error):
        return False
    return True


def json_type(value: Any) -> str:
    """The JSON type name kube-openapi infers from a decoded value (``integer`` for ``3``)."""
    return type_name(value)


def _type_ok(value: Any, types: Sequence[str]) -> bool:
    kind = json_type(value)
    if kind in types:
        return True
    if kind == "number" and "integer" in types and float(value).is_integer():
        return True
    return kind == "integer" and "number" in types


def _type(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if schema.get("x-kubernetes-int-or-string") is True:
        return
    wanted = [types] if isinstance(types, str) else list(types)
    if instance is None:
        if not schema.get("nullable") and "null" not in wanted:
            yield ValidationError("type")
        return
    if not _type_ok(instance, wanted):
        yield ValidationError("type")


def _int_or_string(
    validator: Any, flag: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if flag is not True or (instance is None and schema.get("nullable")):
        return
    if not _type_ok(instance, ["integer", "string"]):
        yield ValidationError("x-kubernetes-int-or-string")


def _required(validator: Any, names: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not isinstance(instance, dict) or not isinstance(names, list):
        return
    for name in names:
        if isinstance(name, str) and name not in instance:
            yield ValidationError("required", path=[name])


def _format(validator: Any, fmt: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if isinstance(fmt, str) and isinstance(instance, str) and not _valid_format(fmt, instance):
        yield ValidationError("format")


def _ignore(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    return iter(())


KubeValidator = validators.extend(
    Draft4Validator,
    {
        "type": _type,
        "x-kubernetes-int-or-string": _int_or_string,
        "required": _required,
        "format": _format,
        "$ref": _ignore,
        "dependencies": _ignore,
        "patternProperties": _ignore,
        "additionalItems": _ignore,
    },
)


def go_float(x: float) -> str:
    """Go's ``%v`` for a float64: shortest digits; exponent form when exp < -4 or exp >= 6 (``1e+06``)."""
    if x != x or x in (float("inf"), float("-inf")):
        return {"inf": "+Inf", "-inf": "-Inf"}.get(str(x), "NaN")
    if x == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits))
    exp = len(ds) + exponent - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    point = exp + 1
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{ds}"
    if point >= len(ds):
        return prefix + ds + "0" * (point - len(ds))
    return f"{prefix}{ds[:point]}.{ds[point:]}"


def _num(bound: Any, data: Any) -> str:
    """A bound as kube-openapi prints it: truncated to int64 for integer data, else ``%v``."""
    if isinstance(data, int) and not isinstance(data, bool):
        return str(int(bound))
    return go_float(float(bound)) if isinstance(bound, float) else str(bound)


def _name(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _go_q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def _map_error(err: ValidationError, field_root: str | None) -> FieldError:
    name = _name(list(err.absolute_path))
    if field_root is None:
        fpath = name or "<nil>"
        composite = "<nil>"
    else:
        fpath = f"{field_root}.{name}" if name else field_root
        composite = field_root
    kw, inst, bound, schema = err.validator, err.instance, err.validator_value, err.schema
    schema = schema if isinstance(schema, dict) else {}
    if kw in ("type", "x-kubernetes-int-or-string"):
        types = bound if isinstance(bound, list) else [bound]
        expected = "integer,string" if kw != "type" else ",".join(str(t) for t in types)
        kind = json_type(inst)
        return type_invalid(fpath, kind, f'{name} in {IN} must be of type {expected}: "{kind}"')
    if kw == "format":
        return type_invalid(fpath, inst, f"{name} in {IN} must be of type {bound}: {_go_q(inst)}")
    if kw == "required":
        return required(fpath)
    if kw == "enum":
        values = [v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in bound]
        return not_supported(fpath, inst, values)
    if kw == "maxLength":
        return too_long(fpath, int(bound))
    if kw in ("maxItems", "maxProperties"):
        return too_many(fpath, len(inst), int(bound))
    detail = {
        "minLength": f"{name} in {IN} should be at least {bound} chars long",
        "pattern": f"{name} in {IN} should match '{bound}'",
        "multipleOf": f"{name} in {IN} should be a multiple of {_num(bound, None)}",
        "minItems": f"{name} in {IN} should have at least {bound} items",
        "minProperties": f"{name} in {IN} should have at least {bound} properties",
        "uniqueItems": f"{name} in {IN} shouldn't contain duplicates",
    }.get(str(kw))
    if kw in ("maximum", "minimum"):
        exclusive = schema.get("exclusiveMaximum" if kw == "maximum" else "exclusiveMinimum") is True
        relation = ("less" if kw == "maximum" else "greater") + (
            " than" if exclusive else " than or equal to"
        )
        detail = f"{name} in {IN} should be {relation} {_num(bound, inst)}"
    if kw in ("minItems", "minProperties"):
        return invalid_value(fpath, len(inst), detail or "")
    if kw == "uniqueItems":
        return invalid_value(fpath, "", detail or "")
    if detail is not None:
        return invalid_value(fpath, inst, detail)
    if kw == "anyOf":
        return invalid_value(composite, "", f'"{name}" must validate at least one schema (anyOf)')
    if kw == "oneOf":
        valid = sum(1 for sub in bound if KubeValidator(sub).is_valid(inst))
        found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
        return invalid_value(
            composite, "", f'"{name}" must validate one and only one schema (oneOf). {found}'
        )
    if kw == "not":
        return invalid_value(composite, "", f'"{name}" must not validate the schema (not)')
    if kw == "additionalProperties" and isinstance(inst, dict):
        extra = sorted(k for k in inst if k not in (schema.get("properties") or {}))
        return invalid_value(
            fpath,
            extra[0] if extra else "",
            f"{name}.{extra[0] if extra else ''} in {IN} is a forbidden property",
        )
    return invalid_value(fpath, inst, err.message)


def schema_errors(
    value: Any, schema: dict[str, Any] | None, *, field_root: str | None = None
) -> list[FieldError]:
    """All field errors of ``value`` against ``schema``; ``field_root`` prefixes the field paths.

    ``field_root=None`` is kube's nil path (custom resources): paths are the data paths
    (``spec.replicas``). For a schema default, pass ``...properties[size].default``.
    """
    if not isinstance(schema, dict):
        return []
    try:
        errors = list(KubeValidator(schema).iter_errors(value))
    except (TypeError, ValueError, re.error, RecursionError) as exc:  # a malformed schema keyword
        return [invalid_value(field_root or "<nil>", "", f"error validating against the schema: {exc}")]
    return [_map_error(e, field_root) for e in errors]


__all__ = ["KubeValidator", "go_float", "json_type", "schema_errors"]
