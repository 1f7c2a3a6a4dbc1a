"""Validation of a CRD version's ``openAPIV3Schema``: structural rules, OpenAPI subset, defaults.

Facts from apiextensions-apiserver v0.32 (``pkg/apiserver/schema/validation.go``,
``pkg/apis/apiextensions/validation/validation.go``, ``schema/defaulting/validation.go``):

* **Structural** (``ValidateStructural``): every specified field and array item has a ``type``
  (unless ``x-kubernetes-int-or-string`` or ``x-kubernetes-preserve-unknown-fields``); arrays
  have ``items``; the root is an ``object`` without ``additionalProperties`` and may declare
  only ``metadata.name``/``metadata.generateName``; value validations inside ``anyOf``/``allOf``/
  ``oneOf``/``not`` carry no ``type``, ``default``, ``description``, ``nullable`` or ``x-*``
  (except the int-or-string ``anyOf: [{type: integer}, {type: string}]`` pattern). Kube sorts
  these errors by their message, and so do we.
* **OpenAPI subset**: known types only; no ``$ref``/``id``/``definitions``/``dependencies``/
  ``patternProperties``/``additionalItems``; ``uniqueItems`` may not be true;
  ``additionalProperties`` and ``properties`` are mutually exclusive;
  ``x-kubernetes-preserve-unknown-fields`` must be true or absent; list/map type enums.
* **Defaults** (only when the schema is structural): each ``default`` must validate against its
  own schema and must survive pruning unchanged.

Paths follow ``field.Path``: ``spec.versions[0].schema.openAPIV3Schema.properties[spec].type``.
"""

from __future__ import annotations

import copy
from typing import Any

from ferry.cluster.apiserver.errors import FieldError, forbidden, invalid_value, not_supported, required
from ferry.cluster.resources.validation.openapi import schema_errors

ROOT, ITEM, FIELD = "root", "item", "field"
OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]
_UNSUPPORTED = (
    ("id", "id is not supported"),
    ("additionalItems", "additionalItems is not supported"),
    ("patternProperties", "patternProperties is not supported"),
    ("definitions", "definitions is not supported"),
    ("dependencies", "dependencies is not supported"),
    ("$ref", "$ref is not supported"),
)
_MISSING_TYPE = {
    ROOT: "must not be empty at the root",
    ITEM: "must not be empty for specified array items",
    FIELD: "must not be empty for specified object fields",
}


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _children(s: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str, str]]:
    """(sub-schema, path, level) of the structural children: items, properties, additionalProperties."""
    out: list[tuple[dict[str, Any], str, str]] = []
    if isinstance(s.get("items"), dict):
        out.append((s["items"], f"{path}.items", ITEM))
    for name in sorted(_d(s.get("properties"))):
        sub = s["properties"][name]
        if isinstance(sub, dict):
            out.append((sub, f"{path}.properties[{name}]", FIELD))
    if isinstance(s.get("additionalProperties"), dict):
        out.append((s["additionalProperties"], f"{path}.additionalProperties", FIELD))
    return out


def _metadata_errors(meta: dict[str, Any], check: bool, level: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if check and meta.get("type") != "object":
        errs.append(invalid_value(f"{path}.type", meta.get("type", ""), "must be object"))
    if level == ROOT:
        rest = {k: v for k, v in meta.items() if k not in ("type", "default")}
        props = _d(rest.pop("properties", None))
        if set(props) - {"name", "generateName"} or rest:
            detail = "must not specify anything other than name and generateName, but metadata is implicitly specified"
            errs.append(forbidden(path, detail))
    return errs


def _nested_errors(v: Any, path: str, *, skip_any_of: bool = False) -> list[FieldError]:
    """Value validations (anyOf/allOf/oneOf/not and what they contain) must be type-free."""
    if not isinstance(v, dict):
        return []
    errs = _value_validation_errors(v, path, skip_any_of=skip_any_of)
    if "type" in v:
        errs.append(forbidden(f"{path}.type", "must be empty to be structural"))
    if "additionalProperties" in v:
        errs.append(forbidden(f"{path}.additionalProperties", "must be undefined to be structural"))
    if "default" in v:
        errs.append(forbidden(f"{path}.default", "must be undefined to be structural"))
    for name in ("title", "description"):
        if v.get(name):
            errs.append(forbidden(f"{path}.{name}", "must be empty to be structural"))
    if v.get("nullable") is True:
        errs.append(forbidden(f"{path}.nullable", "must be false to be structural"))
    for ext in (
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
    ):
        if v.get(ext) is True:
            errs.append(forbidden(f"{path}.{ext}", "must be false to be structural"))
    if v.get("x-kubernetes-list-map-keys"):
        errs.append(forbidden(f"{path}.x-kubernetes-list-map-keys", "must be empty to be structural"))
    for ext in ("x-kubernetes-list-type", "x-kubernetes-map-type"):
        if v.get(ext) is not None:
            errs.append(forbidden(f"{path}.{ext}", "must be undefined to be structural"))
    if v.get("x-kubernetes-validations"):
        errs.append(forbidden(f"{path}.x-kubernetes-validations", "must be empty to be structural"))
    if "metadata" in _d(v.get("properties")):
        errs.append(forbidden(f"{path}.properties[metadata]", "must not be specified in a nested context"))
    errs.extend(_nested_errors(v.get("items"), f"{path}.items"))
    for name in sorted(_d(v.get("properties"))):
        errs.extend(_nested_errors(v["properties"][name], f"{path}.properties[{name}]"))
    return errs


def _value_validation_errors(s: dict[str, Any], path: str, *, skip_any_of: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    for keyword in ("anyOf", "allOf", "oneOf"):
        subs = s.get(keyword)
        if not isinstance(subs, list) or (keyword == "anyOf" and skip_any_of):
            continue
        for i, sub in enumerate(subs):
            first_all_of = keyword == "allOf" and i == 0 and isinstance(sub, dict)
            skip = first_all_of and sub.get("anyOf") == _INT_OR_STRING_ANY_OF
            errs.extend(_nested_errors(sub, f"{path}.{keyword}[{i}]", skip_any_of=skip))
    errs.extend(_nested_errors(s.get("not"), f"{path}.not"))
    return errs


def _structural(s: dict[str, Any], level: str, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    stype = s.get("type") or ""
    int_or_string = s.get("x-kubernetes-int-or-string") is True
    preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = s.get("x-kubernetes-embedded-resource") is True
    if stype == "array" and not isinstance(s.get("items"), dict):
        errs.append(required(f"{path}.items", "must be specified"))
    for sub, sub_path, sub_level in _children(s, path):
        errs.extend(_structural(sub, sub_level, sub_path))
    if "additionalProperties" in s and level == ROOT:
        errs.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
    if int_or_string and preserve:
        detail = "must be false if x-kubernetes-int-or-string is true"
        errs.append(invalid_value(f"{path}.x-kubernetes-preserve-unknown-fields", True, detail))
    if int_or_string and embedded:
        detail = "must be false if x-kubernetes-int-or-string is true"
        errs.append(invalid_value(f"{path}.x-kubernetes-embedded-resource", True, detail))
    skip_any_of = s.get("anyOf") == _INT_OR_STRING_ANY_OF
    errs.extend(_value_validation_errors(s, path, skip_any_of=skip_any_of))
    if embedded and stype != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        errs.append(
            required(f"{path}.type", detail) if not stype else invalid_value(f"{path}.type", stype, detail)
        )
    elif not stype and not int_or_string and not preserve:
        errs.append(required(f"{path}.type", _MISSING_TYPE[level]))
    if embedded and "additionalProperties" in s:
        detail = "must not be used if x-kubernetes-embedded-resource is set"
        errs.append(forbidden(f"{path}.additionalProperties", detail))
    if level == ROOT and stype and stype != "object":
        errs.append(invalid_value(f"{path}.type", stype, "must be object at the root"))
    props = _d(s.get("properties"))
    check_meta = level == ROOT or embedded
    for name in ("kind", "apiVersion"):
        if check_meta and isinstance(props.get(name), dict) and props[name].get("type") != "string":
            errs.append(
                invalid_value(
                    f"{path}.properties[{name}].type", props[name].get("type", ""), "must be string"
                )
            )
    if isinstance(props.get("metadata"), dict):
        errs.extend(_metadata_errors(props["metadata"], check_meta, level, f"{path}.properties[metadata]"))
    if embedded and not preserve and not props:
        detail = "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"
        errs.append(required(f"{path}.properties", detail))
    return errs


def _openapi(s: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if s.get("uniqueItems") is True:
        detail = "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
        errs.append(forbidden(f"{path}.uniqueItems", detail))
    if s.get("additionalProperties") not in (None, False) and s.get("properties"):
        errs.append(
            forbidden(
                f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive"
            )
        )
    stype = s.get("type")
    if stype is not None and stype != "" and stype not in OPENAPI_TYPES:
        errs.append(not_supported(f"{path}.type", stype, OPENAPI_TYPES))
    for keyword, detail in _UNSUPPORTED:
        if s.get(keyword) not in (None, "", {}, []):
            errs.append(forbidden(f"{path}.{keyword}", detail))
    if stype == "null":
        errs.append(forbidden(f"{path}.type", "type cannot be set to null, use nullable as an alternative"))
    if isinstance(s.get("items"), list):
        errs.append(forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if s.get("x-kubernetes-preserve-unknown-fields") is False:
        errs.append(
            invalid_value(f"{path}.x-kubernetes-preserve-unknown-fields", False, "must be true or undefined")
        )
    map_type = s.get("x-kubernetes-map-type")
    if map_type is not None and map_type not in ("atomic", "granular"):
        errs.append(not_supported(f"{path}.x-kubernetes-map-type", map_type, ["atomic", "granular"]))
    list_type = s.get("x-kubernetes-list-type")
    if list_type is not None:
        if stype != "array":
            detail = "must be array if x-kubernetes-list-type is specified"
            errs.append(
                required(f"{path}.type", detail)
                if not stype
                else invalid_value(f"{path}.type", stype, detail)
            )
        elif list_type not in ("atomic", "set", "map"):
            errs.append(not_supported(f"{path}.x-kubernetes-list-type", list_type, ["atomic", "set", "map"]))
    for sub, sub_path, _ in _children(s, path):
        errs.extend(_openapi(sub, sub_path))
    for keyword in ("allOf", "anyOf", "oneOf"):
        subs: list[Any] = s[keyword] if isinstance(s.get(keyword), list) else []
        for i, sub in enumerate(subs):
            if isinstance(sub, dict):
                errs.extend(_openapi(sub, f"{path}.{keyword}[{i}]"))
    return errs


def _defaults(s: dict[str, Any], path: str, inside_meta: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    embedded = s.get("x-kubernetes-embedded-resource") is True
    if "default" in s and s["default"] is not None and not inside_meta:
        from ferry.cluster.resources.crd import prune_value  # crd imports this package: import late

        pruned = copy.deepcopy(s["default"])
        prune_value(pruned, {**s, "x-kubernetes-embedded-resource": True} if embedded else s)
        if pruned != s["default"]:
            errs.append(invalid_value(f"{path}.default", s["default"], "must not have unknown fields"))
        errs.extend(schema_errors(s["default"], s, field_root=f"{path}.default"))
    if isinstance(s.get("items"), dict):
        errs.extend(_defaults(s["items"], f"{path}.items", inside_meta))
    for name in sorted(_d(s.get("properties"))):
        sub = s["properties"][name]
        if isinstance(sub, dict):
            meta = inside_meta or (embedded and name in ("metadata", "apiVersion", "kind"))
            errs.extend(_defaults(sub, f"{path}.properties[{name}]", meta))
    return errs


def validate_openapi_schema(schema: Any, path: str, *, status_enabled: bool = False) -> list[FieldError]:
    """All errors of one ``openAPIV3Schema`` at ``path`` (``spec.versions[0].schema.openAPIV3Schema``)."""
    if not isinstance(schema, dict):
        return [invalid_value(path, schema, "must be an object")]
    errs: list[FieldError] = []
    if status_enabled and schema.get("type") not in (None, "", "object"):
        detail = 'only "object" is allowed as the type at the root of the schema if the status subresource is enabled'
        errs.append(invalid_value(f"{path}.type", schema.get("type"), detail))
    if schema.get("nullable") is True:
        errs.append(forbidden(f"{path}.nullable", "nullable cannot be true at the root"))
    structural = sorted(_structural(schema, ROOT, path), key=lambda e: e.error())
    root = {**schema, "x-kubernetes-embedded-resource": True}
    errs.extend(structural if structural else _defaults(root, path, False))
    errs.extend(_openapi(schema, path))
    return errs


__all__ = ["OPENAPI_TYPES", "validate_openapi_schema"]
