"""Custom resources served generically, from the ``openAPIV3Schema`` of their CRD version.

What kube-apiserver does to a custom resource on every write, and what we do:

1. **Apply defaults** (``defaulting.Default``): a property's ``default`` is copied in when the
   property is absent or a non-nullable null; then **drop the nulls** left in non-nullable
   properties without a default (``PruneNonNullableNullsWithoutDefaults``). Kube drops first; the
   result is the same except for nulls inside a default value, which kube would only drop on the
   next write, so dropping them now keeps the Defaulter idempotent.
2. **Prune** unknown fields (``pruning.PruneWithOptions``): a field not declared in the schema is
   dropped silently unless the schema (or an ancestor) says ``x-kubernetes-preserve-unknown-fields``.
   The root, and every ``x-kubernetes-embedded-resource`` object, keeps ``apiVersion``, ``kind``
   and ``metadata``. :func:`prune` returns the dropped paths (``spec.foo``, ``spec.items[0].x``,
   sorted) so the server can turn them into ``fieldValidation=Strict`` errors or ``Warn`` warnings.
   Kube defaults in the decoder and prunes afterwards; CRD validation guarantees that defaults
   survive pruning, and pruning last keeps the Defaulter idempotent even for a stored CRD whose
   defaults do not (one accepted before that rule existed).
3. **Validate** against the schema (``validation/openapi.py``), the embedded resources'
   ``apiVersion``/``kind``, and the ``/scale`` replica paths.

:func:`custom_resource_strategy` bundles 1-2 as the Defaulter and 3 as the Validator. The
Defaulter prunes too, so a server that does not care about the pruned paths gets kube's
behaviour anyway; one that does calls :func:`prune` first (pruning twice is a no-op).

The CustomResourceDefinition kind itself: :func:`crd_defaulter` (names, conversion, and the status
a naming controller would write, since ferry has none) and :func:`crd_validator` (in
``validation/apiextensions.py``; imported lazily because that module validates schema defaults
with the machinery here).

Invariants: defaulting is idempotent; nothing here raises on a malformed object or schema.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from ferry.cluster.apiserver.errors import FieldError, invalid_value
from ferry.cluster.resources.types import Defaulter, Obj, Validator
from ferry.cluster.resources.validation.customresource import (
    additional_of,
    as_schema,
    embedded_resource_errors,
    join,
    props_of,
    scale_replicas_errors,
)
from ferry.cluster.resources.validation.openapi import schema_errors

_META_FIELDS = ("apiVersion", "kind", "metadata")
_PRESERVE = "x-kubernetes-preserve-unknown-fields"
_EMBEDDED = "x-kubernetes-embedded-resource"


def _prune(x: Any, s: dict[str, Any] | None, parent: str, out: list[str]) -> None:
    if s is not None and s.get(_PRESERVE) is True:
        _skip_prune(x, s, parent, out)
        return
    if isinstance(x, dict):
        for k in list(x):
            if s is None:
                out.append(join(parent, k))
                del x[k]
                continue
            if s.get(_EMBEDDED) is True and k in _META_FIELDS:
                continue
            props = props_of(s)
            declared, additional = additional_of(s)
            if k in props:
                _prune(x[k], as_schema(props[k]), join(parent, k), out)
            elif declared:
                _prune(x[k], additional, join(parent, k), out)
            else:
                if k not in _META_FIELDS or parent:
                    out.append(join(parent, k))
                del x[k]
    elif isinstance(x, list):
        items = as_schema(s.get("items")) if s is not None else None
        for i, v in enumerate(x):
            _prune(v, items, f"{parent}[{i}]", out)


def _skip_prune(x: Any, s: dict[str, Any], parent: str, out: list[str]) -> None:
    if isinstance(x, dict):
        props = props_of(s)
        declared, additional = additional_of(s)
        for k, v in x.items():
            if s.get(_EMBEDDED) is True and k in _META_FIELDS:
                continue
            if k in props:
                _prune(v, as_schema(props[k]), join(parent, k), out)
            elif declared:
                _prune(v, additional, join(parent, k), out)
    elif isinstance(x, list):
        items = as_schema(s.get("items"))
        if items is not None:
            for i, v in enumerate(x):
                _skip_prune(v, items, f"{parent}[{i}]", out)


def prune(obj: Obj, schema: dict[str, Any]) -> list[str]:
    """Remove fields the schema does not declare, in place; return their paths, sorted.

    ``obj`` is a whole custom resource: its root is treated as an embedded resource, so
    ``apiVersion``, ``kind`` and ``metadata`` are kept.
    """
    root = dict(schema) if isinstance(schema, dict) else {}
    root[_EMBEDDED] = True
    out: list[str] = []
    _prune(obj, root, "", out)
    return sorted(out)


def prune_value(value: Any, schema: dict[str, Any] | None) -> list[str]:
    """Prune any JSON value against a (sub-)schema, in place, without resource-root semantics."""
    out: list[str] = []
    _prune(value, schema, "", out)
    return sorted(out)


def _non_nullable_null(value: Any, s: dict[str, Any] | None) -> bool:
    return value is None and s is not None and not s.get("nullable")


def _drop_nulls(x: Any, s: dict[str, Any] | None) -> None:
    if s is None:
        return
    if isinstance(x, dict):
        props = props_of(s)
        for k in list(x):
            sub = as_schema(props.get(k))
            if sub is None:
                continue
            if x[k] is None and "default" not in sub and not sub.get("nullable"):
                del x[k]
            else:
                _drop_nulls(x[k], sub)
    elif isinstance(x, list):
        for v in x:
            _drop_nulls(v, as_schema(s.get("items")))


def apply_defaults(x: Any, s: dict[str, Any] | None) -> None:
    """``defaulting.Default``: fill absent (or non-nullable null) properties from ``default``."""
    if s is None:
        return
    if isinstance(x, dict):
        props = props_of(s)
        for k, raw in props.items():
            prop = as_schema(raw)
            if prop is None or "default" not in prop or prop["default"] is None:
                continue
            if k not in x or _non_nullable_null(x[k], prop):
                x[k] = copy.deepcopy(prop["default"])
        _, additional = additional_of(s)
        for k in list(x):
            if k in props:
                apply_defaults(x[k], as_schema(props[k]))
            elif additional is not None:
                if _non_nullable_null(x[k], additional) and additional.get("default") is not None:
                    x[k] = copy.deepcopy(additional["default"])
                apply_defaults(x[k], additional)
    elif isinstance(x, list):
        items = as_schema(s.get("items"))
        for i in range(len(x)):
            if _non_nullable_null(x[i], items) and items is not None and items.get("default") is not None:
                x[i] = copy.deepcopy(items["default"])
            apply_defaults(x[i], items)


def version_schema(crd: Obj, version: str) -> dict[str, Any] | None:
    """The ``openAPIV3Schema`` of ``version`` (per-version, or the legacy top-level validation)."""
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    for v in spec.get("versions") or []:
        if isinstance(v, dict) and v.get("name") == version:
            found = as_schema(as_schema(v.get("schema")) and v["schema"].get("openAPIV3Schema"))
            if found is not None:
                return found
    legacy = as_schema(spec.get("validation"))
    return as_schema(legacy.get("openAPIV3Schema")) if legacy is not None else None


def _scale(crd: Obj, version: str) -> dict[str, Any] | None:
    spec = crd.get("spec")
    versions = spec.get("versions") if isinstance(spec, dict) else None
    for v in versions if isinstance(versions, list) else []:
        if isinstance(v, dict) and v.get("name") == version:
            sub = v.get("subresources")
            scale = sub.get("scale") if isinstance(sub, dict) else None
            return scale if isinstance(scale, dict) else None
    return None


def custom_resource_strategy(crd: Obj, version: str) -> tuple[Defaulter, Validator]:
    """The Defaulter (prune + defaults) and Validator of ``version`` of the CRD's kind."""
    schema = version_schema(crd, version)
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    preserve = spec.get("preserveUnknownFields") is True
    group = spec.get("group") if isinstance(spec.get("group"), str) else ""
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    assert isinstance(names, dict)
    kind = names.get("kind") if isinstance(names.get("kind"), str) else ""
    api_version = f"{group}/{version}"
    scale = _scale(crd, version)

    def default(obj: Obj) -> None:
        apply_defaults(obj, schema)
        _drop_nulls(obj, schema)
        if not preserve:
            prune(obj, schema or {})

    def validate(obj: Obj, old: Obj | None) -> list[FieldError]:
        errs: list[FieldError] = []
        if obj.get("kind") != kind:
            errs.append(invalid_value("kind", obj.get("kind"), f"must be {kind}"))
        if obj.get("apiVersion") != api_version:
            errs.append(invalid_value("apiVersion", obj.get("apiVersion"), f"must be {api_version}"))
        if errs:
            return errs
        errs.extend(schema_errors(obj, schema))
        if scale is not None:
            errs.extend(scale_replicas_errors(obj, scale.get("specReplicasPath")))
            errs.extend(scale_replicas_errors(obj, scale.get("statusReplicasPath")))
        errs.extend(embedded_resource_errors(obj, schema, ""))
        return errs

    return default, validate


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _default_crd_status(obj: Obj, spec: dict[str, Any]) -> None:
    status = obj.get("status")
    if status is None:
        status = obj["status"] = {}
    if not isinstance(status, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict):
        status["acceptedNames"] = copy.deepcopy(names)
    conditions = status.get("conditions")
    if conditions is None:
        conditions = status["conditions"] = []
    if isinstance(conditions, list):
        have = {c.get("type") for c in conditions if isinstance(c, dict)}
        wanted = (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        )
        for ctype, reason, message in wanted:
            if ctype not in have:
                conditions.append(
                    {
                        "type": ctype,
                        "status": "True",
                        "lastTransitionTime": _now(),
                        "reason": reason,
                        "message": message,
                    }
                )
    stored = status.get("storedVersions")
    if stored is None:
        stored = status["storedVersions"] = []
    if isinstance(stored, list):
        for v in spec.get("versions") or []:
            if isinstance(v, dict) and v.get("storage") is True and isinstance(v.get("name"), str):
                if v["name"] not in stored:
                    stored.append(v["name"])
                break


def crd_defaulter(obj: Obj) -> None:
    """``SetDefaults_CustomResourceDefinition`` plus the status ferry's absent controllers would set.

    Names: ``singular`` = lower(kind), ``listKind`` = kind + "List"; ``conversion.strategy: None``;
    webhook service port 443. Status: ``acceptedNames`` mirror ``spec.names`` (no conflict
    detection), ``NamesAccepted`` and ``Established`` conditions when absent, and the storage
    version appended to ``storedVersions`` (as the CRD strategy does on create and update).
    """
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict):
        kind = names.get("kind")
        if not names.get("singular") and isinstance(kind, str):
            names["singular"] = kind.lower()
        if not names.get("listKind") and isinstance(kind, str) and kind:
            names["listKind"] = kind + "List"
    conversion = spec.get("conversion")
    if conversion is None:
        spec["conversion"] = {"strategy": "None"}
    elif isinstance(conversion, dict):
        webhook = conversion.get("webhook")
        client = webhook.get("clientConfig") if isinstance(webhook, dict) else None
        service = client.get("service") if isinstance(client, dict) else None
        if isinstance(service, dict) and service.get("port") is None:
            service["port"] = 443
    _default_crd_status(obj, spec)


def crd_validator(obj: Obj, old: Obj | None) -> list[FieldError]:
    """Validate a CustomResourceDefinition (see ``validation/apiextensions.py``)."""
    from ferry.cluster.resources.validation.apiextensions import validate_crd

    return validate_crd(obj, old)


__all__ = [
    "apply_defaults",
    "crd_defaulter",
    "crd_validator",
    "custom_resource_strategy",
    "prune",
    "prune_value",
    "version_schema",
]
