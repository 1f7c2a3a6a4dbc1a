"""Validation of apiextensions.k8s.io/v1 CustomResourceDefinition objects.

Facts from ``pkg/apis/apiextensions/validation/validation.go`` (apiextensions-apiserver v0.32).
kube validates the *internal* form of the CRD, so a few paths use internal names
(``spec.conversion.webhookClientConfig``, ``additionalPrinterColumns[0].JSONPath``); we keep them,
because those are the paths users see in the 422.

Order of checks (as kube): the name rule (``metadata.name`` must be ``<plural>.<group>``), the
spec (group, scope, schemas, versions, names, conversion), ``status.storedVersions``, the API
approval annotation for ``*.k8s.io`` groups, ``preserveUnknownFields``. On update also: ``group``
and ``names.plural`` are immutable; ``scope`` and ``names.kind`` too once Established (ferry's
CRDs are Established from creation, so always).

Schema checks live in ``crdschema.py``; defaults are applied by ``crd.crd_defaulter`` before this
runs (``singular``, ``listKind``, ``storedVersions``), as kube's strategy does.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.errors import FieldError, forbidden, invalid_value, not_supported, required
from ferry.cluster.resources.types import Obj
from ferry.cluster.resources.validation.common import (
    IMMUTABLE,
    invalid_go,
    is_dns1035_label,
    is_dns1123_subdomain,
)
from ferry.cluster.resources.validation.crdschema import validate_openapi_schema
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    as_dict,
    as_str,
    bool_at,
    dict_at,
    go_strings,
    list_at,
    str_at,
    str_list_at,
)

PRINTER_TYPES = ["boolean", "date", "integer", "number", "string"]
PRINTER_FORMATS = ["byte", "date", "date-time", "double", "float", "int32", "int64", "password"]
APPROVAL_ANNOTATION = "api-approved.kubernetes.io"


def _dns1035(value: str, path: str, errs: Errs, prefix: str = "") -> None:
    msgs = is_dns1035_label(value.lower() if prefix else value)
    if value and msgs:
        errs.append(invalid_value(path, value, prefix + ",".join(msgs)))


def validate_names(names: dict[str, Any], path: str) -> list[FieldError]:
    """``ValidateCustomResourceDefinitionNames``."""
    errs: Errs = []
    plural, singular = str_at(names, "plural", path, errs), str_at(names, "singular", path, errs)
    kind, list_kind = str_at(names, "kind", path, errs), str_at(names, "listKind", path, errs)
    mixed = "may have mixed case, but should otherwise match: "
    _dns1035(plural, f"{path}.plural", errs)
    _dns1035(singular, f"{path}.singular", errs)
    _dns1035(kind, f"{path}.kind", errs, mixed)
    _dns1035(list_kind, f"{path}.listKind", errs, mixed)
    for i, short in enumerate(str_list_at(names, "shortNames", path, errs)):
        _dns1035(short, f"{path}.shortNames[{i}]", errs)
    if kind and kind == list_kind:
        errs.append(invalid_value(f"{path}.listKind", list_kind, "kind and listKind may not be the same"))
    for i, category in enumerate(str_list_at(names, "categories", path, errs)):
        _dns1035(category, f"{path}.categories[{i}]", errs)
    return errs


def _simple_json_path(value: str, path: str) -> list[FieldError]:
    if not value:
        return [invalid_value(path, value, "must not be empty")]
    if not value.startswith("."):
        return [invalid_value(path, value, "must be a simple json path starting with .")]
    return []


def _columns(version: dict[str, Any], path: str, errs: Errs) -> None:
    for i, col in enumerate(list_at(version, "additionalPrinterColumns", path, errs)):
        cpath = f"{path}.additionalPrinterColumns[{i}]"
        if not isinstance(col, dict):
            errs.append(invalid_value(cpath, col, "must be an object"))
            continue
        if not str_at(col, "name", cpath, errs):
            errs.append(required(f"{cpath}.name"))
        ctype = str_at(col, "type", cpath, errs)
        one_of = "must be one of " + ",".join(PRINTER_TYPES)
        if not ctype:
            errs.append(required(f"{cpath}.type", one_of))
        elif ctype not in PRINTER_TYPES:
            errs.append(invalid_value(f"{cpath}.type", ctype, one_of))
        fmt = str_at(col, "format", cpath, errs)
        if fmt and fmt not in PRINTER_FORMATS:
            errs.append(invalid_value(f"{cpath}.format", fmt, "must be one of " + ",".join(PRINTER_FORMATS)))
        json_path = str_at(col, "jsonPath", cpath, errs)
        if not json_path:
            errs.append(required(f"{cpath}.JSONPath"))
        else:
            errs.extend(_simple_json_path(json_path, f"{cpath}.JSONPath"))


def _scale(subresources: dict[str, Any], path: str, errs: Errs) -> None:
    scale = dict_at(subresources, "scale", path, errs)
    if "scale" not in subresources or subresources.get("scale") is None:
        return
    rules = (
        ("specReplicasPath", (".spec.",), "should be a json path under .spec", True),
        ("statusReplicasPath", (".status.",), "should be a json path under .status", True),
        (
            "labelSelectorPath",
            (".spec.", ".status."),
            "should be a json path under either .spec or .status",
            False,
        ),
    )
    for name, prefixes, detail, needed in rules:
        value = str_at(scale, name, f"{path}.scale", errs)
        fpath = f"{path}.scale.{name}"
        if not value:
            if needed:
                errs.append(required(fpath))
            continue
        bad = _simple_json_path(value, fpath)
        if bad:
            errs.extend(bad)
        elif not value.startswith(prefixes):
            errs.append(invalid_value(fpath, value, detail))


def _version(version: Any, i: int, errs: Errs) -> tuple[str, bool]:
    """Validate one ``spec.versions[i]``; returns (name, storage)."""
    path = f"spec.versions[{i}]"
    if not isinstance(version, dict):
        errs.append(invalid_value(path, version, "must be an object"))
        return "", False
    name = str_at(version, "name", path, errs)
    msgs = is_dns1035_label(name)
    if msgs:
        errs.append(invalid_value(f"{path}.name", name, ",".join(msgs)))
    bool_at(version, "served", path, errs)
    storage = bool_at(version, "storage", path, errs) is True
    deprecated = bool_at(version, "deprecated", path, errs) is True
    warning = version.get("deprecationWarning")
    if warning is not None:
        if not deprecated:
            errs.append(
                invalid_value(
                    f"{path}.deprecationWarning", warning, "can only be set for deprecated versions"
                )
            )
        elif isinstance(warning, str) and len(warning) > 256:
            errs.append(
                invalid_value(f"{path}.deprecationWarning", warning, "must be <= 256 characters long")
            )
    subresources = dict_at(version, "subresources", path, errs)
    schema = dict_at(version, "schema", path, errs).get("openAPIV3Schema")
    if schema is not None:
        status_enabled = subresources.get("status") is not None
        errs.extend(
            validate_openapi_schema(schema, f"{path}.schema.openAPIV3Schema", status_enabled=status_enabled)
        )
    _scale(subresources, f"{path}.subresources", errs)
    _columns(version, path, errs)
    return name, storage


def _conversion(spec: dict[str, Any], errs: Errs) -> None:
    if spec.get("conversion") is None:
        return
    conversion = dict_at(spec, "conversion", "spec", errs)
    strategy = str_at(conversion, "strategy", "spec.conversion", errs)
    if not strategy:
        errs.append(required("spec.conversion.strategy"))
    elif strategy not in ("None", "Webhook"):
        errs.append(not_supported("spec.conversion.strategy", strategy, ["None", "Webhook"]))
    webhook = dict_at(conversion, "webhook", "spec.conversion", errs)
    client = webhook.get("clientConfig")
    review_versions = str_list_at(webhook, "conversionReviewVersions", "spec.conversion.webhook", errs)
    if strategy == "Webhook":
        if not isinstance(client, dict):
            errs.append(
                required("spec.conversion.webhookClientConfig", "required when strategy is set to Webhook")
            )
        elif (client.get("url") is None) == (client.get("service") is None):
            errs.append(
                required("spec.conversion.webhookClientConfig", "exactly one of url or service is required")
            )
        if not review_versions:
            errs.append(required("spec.conversion.conversionReviewVersions"))
        elif not {"v1", "v1beta1"} & set(review_versions):
            detail = "must include at least one of v1, v1beta1"
            errs.append(
                invalid_go("spec.conversion.conversionReviewVersions", go_strings(review_versions), detail)
            )
    else:
        if client is not None:
            detail = "should not be set when strategy is not set to Webhook"
            errs.append(forbidden("spec.conversion.webhookClientConfig", detail))
        if review_versions:
            detail = "should not be set when strategy is not set to Webhook"
            errs.append(forbidden("spec.conversion.conversionReviewVersions", detail))


def _spec(spec: dict[str, Any], errs: Errs) -> None:
    group = str_at(spec, "group", "spec", errs)
    if not group:
        errs.append(required("spec.group"))
    elif msgs := is_dns1123_subdomain(group):
        errs.append(invalid_value("spec.group", group, ",".join(msgs)))
    elif "." not in group:
        errs.append(invalid_value("spec.group", group, "should be a domain with at least one dot"))
    scope = str_at(spec, "scope", "spec", errs)
    if not scope:
        errs.append(required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        errs.append(not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))
    versions = list_at(spec, "versions", "spec", errs)
    for i, version in enumerate(versions):
        schema = version.get("schema") if isinstance(version, dict) else None
        if not isinstance(schema, dict) or schema.get("openAPIV3Schema") is None:
            errs.append(required(f"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required"))
    results = [_version(v, i, errs) for i, v in enumerate(versions)]
    names = [n for n, _ in results]
    if len(set(names)) != len(names):
        errs.append(invalid_value("spec.versions", versions, "must contain unique version names"))
    if sum(1 for _, storage in results if storage) != 1:
        errs.append(
            invalid_value(
                "spec.versions", versions, "must have exactly one version marked as storage version"
            )
        )
    spec_names = dict_at(spec, "names", "spec", errs)
    for field in ("plural", "singular", "kind", "listKind"):
        if not spec_names.get(field):
            errs.append(required(f"spec.names.{field}"))
    errs.extend(validate_names(spec_names, "spec.names"))
    _conversion(spec, errs)


def _stored_versions(obj: Obj, spec: dict[str, Any], errs: Errs) -> None:
    status = dict_at(obj, "status", "", errs)
    stored = str_list_at(status, "storedVersions", "status", errs)
    path = "status.storedVersions"
    if not stored:
        errs.append(invalid_go(path, go_strings(stored), "must have at least one stored version"))
        return
    remaining = {v: i for i, v in enumerate(stored)}
    for v in list_at(spec, "versions", "spec", []):
        name = v.get("name") if isinstance(v, dict) else None
        if not isinstance(name, str):
            continue
        if isinstance(v, dict) and v.get("storage") is True and name not in remaining:
            errs.append(invalid_go(path, go_strings(stored), "must have the storage version " + name))
        remaining.pop(name, None)
    for name, i in sorted(remaining.items(), key=lambda item: item[1]):
        errs.append(invalid_value(f"{path}[{i}]", name, "must appear in spec.versions"))


def _protected_group(group: str) -> bool:
    return group in ("k8s.io", "kubernetes.io") or group.endswith((".k8s.io", ".kubernetes.io"))


def validate_crd(obj: Obj, old: Obj | None) -> list[FieldError]:
    """``ValidateCustomResourceDefinition`` (create) / ``...Update`` (``old`` given)."""
    errs: Errs = []
    spec = dict_at(obj, "spec", "", errs)
    meta = dict_at(obj, "metadata", "", errs)
    group = as_str(spec.get("group"))
    names = dict_at(spec, "names", "spec", [])
    plural = as_str(names.get("plural"))
    name = as_str(meta.get("name"))
    if name and name != f"{plural}.{group}":
        errs.append(invalid_value("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    _spec(spec, errs)
    _stored_versions(obj, spec, errs)
    annotations = as_dict(meta.get("annotations"))
    if _protected_group(group) and not annotations.get(APPROVAL_ANNOTATION):
        detail = (
            f'protected groups must have approval annotation "{APPROVAL_ANNOTATION}", '
            "see https://github.com/kubernetes/enhancements/pull/1111"
        )
        errs.append(required(f"metadata.annotations[{APPROVAL_ANNOTATION}]", detail))
    old_spec = dict_at(old, "spec", "", []) if old is not None else {}
    if spec.get("preserveUnknownFields") is True and old_spec.get("preserveUnknownFields") is not True:
        detail = (
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in openAPIV3Schema instead"
        )
        errs.append(invalid_value("spec.preserveUnknownFields", True, detail))
    if old is not None:
        old_names = dict_at(old_spec, "names", "spec", [])
        for path, new, prev in (
            ("spec.scope", spec.get("scope"), old_spec.get("scope")),
            ("spec.names.kind", names.get("kind"), old_names.get("kind")),
            ("spec.group", spec.get("group"), old_spec.get("group")),
            ("spec.names.plural", names.get("plural"), old_names.get("plural")),
        ):
            if new != prev:
                errs.append(invalid_value(path, new if new is not None else "", IMMUTABLE))
    return errs


VALIDATORS = {("apiextensions.k8s.io", "CustomResourceDefinition"): validate_crd}

__all__ = ["VALIDATORS", "validate_crd", "validate_names"]
