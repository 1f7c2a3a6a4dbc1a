"""Container environment: ``env``, ``envFrom`` and the downward API selectors they use.

``validateEnv`` / ``ValidateEnvFrom`` of ``pkg/apis/core/validation`` (v1.32). The selectors,
``fieldRef`` (which pod fields may be exposed, and how ``fieldPath`` converts) and
``resourceFieldRef`` (which container resources, with which divisors), are shared with the items
of ``downwardAPI`` volumes: :mod:`.volumes` imports them from here together with
:data:`VOLUME_DOWNWARD`, the field list a volume may expose.
"""

from __future__ import annotations

import re
from typing import Any

from ferry.cluster.apiserver.errors import FieldError, invalid_value, not_supported, required
from ferry.cluster.resources.quantity import QuantityError, parse_quantity
from ferry.cluster.resources.validation import common as c
from ferry.cluster.resources.validation.jsonread import Errs, child, dict_at, index, str_at
from ferry.cluster.resources.validation.podcommon import name_errors

_ENV_DOWNWARD = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
]
VOLUME_DOWNWARD = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
]
_CONVERTIBLE_FIELDS = {
    *_ENV_DOWNWARD,
    *VOLUME_DOWNWARD,
    "spec.restartPolicy",
    "spec.schedulerName",
    "status.phase",
    "spec.host",
}
_RESOURCE_FIELDS = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
]
_BYTE_DIVISOR_NAMES = "1 1k 1M 1G 1T 1P 1E 1Ki 1Mi 1Gi 1Ti 1Pi 1Ei"


def _relaxed_env_name(name: str) -> list[str]:
    if not name:
        return ["environment variable name must be non-empty"]
    if any(not (0x20 <= ord(ch) < 0x7F) or ch == "=" for ch in name):
        return [
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
        ]
    return []


def object_field_selector(ref: dict[str, Any], allowed: list[str], path: str) -> list[FieldError]:
    errs: Errs = []
    api_version = str_at(ref, "apiVersion", path, errs)
    field_path = str_at(ref, "fieldPath", path, errs)
    if not api_version:
        return [*errs, required(child(path, "apiVersion"))]
    if not field_path:
        return [*errs, required(child(path, "fieldPath"))]
    m = re.fullmatch(r"(.+)\['(.*)'\]", field_path) or re.fullmatch(r'(.+)\["(.*)"\]', field_path)
    problem = ""
    if api_version != "v1":
        problem = f"unsupported pod version: {api_version}"
    elif m and m.group(1) not in ("metadata.annotations", "metadata.labels"):
        problem = f"field label does not support subscript: {field_path}"
    elif not m and field_path not in _CONVERTIBLE_FIELDS:
        problem = f"field label not supported: {field_path}"
    if problem:
        return [
            *errs,
            invalid_value(child(path, "fieldPath"), field_path, f"error converting fieldPath: {problem}"),
        ]
    if m:
        subscript = m.group(2).lower() if m.group(1) == "metadata.annotations" else m.group(2)
        errs.extend(invalid_value(path, subscript, msg) for msg in c.is_qualified_name(subscript))
    elif field_path != "spec.host" and field_path not in allowed:
        errs.append(not_supported(child(path, "fieldPath"), field_path, allowed))
    return errs


def resource_field_selector(ref: dict[str, Any], path: str, *, volume: bool) -> list[FieldError]:
    errs: Errs = []
    resource = str_at(ref, "resource", path, errs)
    if volume and not str_at(ref, "containerName", path, errs):
        errs.append(required(child(path, "containerName")))
    elif not resource:
        errs.append(required(child(path, "resource")))
    elif resource not in _RESOURCE_FIELDS and not resource.startswith(
        ("requests.hugepages-", "limits.hugepages-")
    ):
        errs.append(not_supported(child(path, "resource"), resource, _RESOURCE_FIELDS))
    divisor = ref.get("divisor")
    try:
        q = parse_quantity(divisor) if divisor is not None else None
    except QuantityError as e:
        return [*errs, invalid_value(child(path, "divisor"), divisor, str(e))]
    if q is not None and not q.is_zero():
        kind = resource.split(".", 1)[-1]
        allowed = ["1m", "1"] if kind == "cpu" else _BYTE_DIVISOR_NAMES.split()
        label = {"cpu": "cpu", "memory": "memory", "ephemeral-storage": "local ephemeral storage"}.get(kind)
        if kind.startswith("hugepages-"):
            label = "hugepages"
        if label and q.canonical() not in allowed:
            detail = f"only divisor's values {', '.join(allowed)} are supported with the {label} resource"
            errs.append(invalid_value(child(path, "divisor"), resource, detail))
    return errs


def _key_selector(ref: dict[str, Any], path: str) -> list[FieldError]:
    errs: Errs = []
    errs.extend(name_errors(str_at(ref, "name", path, errs), child(path, "name"), c.is_dns1123_subdomain))
    k = str_at(ref, "key", path, errs)
    if not k:
        errs.append(required(child(path, "key")))
    else:
        errs.extend(invalid_value(child(path, "key"), k, m) for m in c.is_config_map_key(k))
    return errs


def validate_env(env: list[Any], path: str) -> list[FieldError]:
    errs: Errs = []
    for i, ev in enumerate(env):
        ipath = index(path, i)
        if not isinstance(ev, dict):
            errs.append(c.wrong_type(ipath, ev, "object"))
            continue
        name = str_at(ev, "name", ipath, errs)
        if not name:
            errs.append(required(child(ipath, "name")))
        else:
            errs.extend(invalid_value(child(ipath, "name"), name, m) for m in _relaxed_env_name(name))
        vpath = child(ipath, "valueFrom")
        value_from = dict_at(ev, "valueFrom", ipath, errs)
        if ev.get("valueFrom") is None:
            continue
        sources = 0
        for src, check in (
            ("fieldRef", lambda d, p: object_field_selector(d, _ENV_DOWNWARD, p)),
            ("resourceFieldRef", lambda d, p: resource_field_selector(d, p, volume=False)),
            ("configMapKeyRef", _key_selector),
            ("secretKeyRef", _key_selector),
        ):
            if value_from.get(src) is not None:
                sources += 1
                errs.extend(check(dict_at(value_from, src, vpath, errs), child(vpath, src)))
        if sources == 0:
            detail = (
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
            )
            errs.append(invalid_value(vpath, "", detail))
        elif str_at(ev, "value", ipath, errs):
            errs.append(invalid_value(vpath, "", "may not be specified when `value` is not empty"))
        elif sources > 1:
            errs.append(invalid_value(vpath, "", "may not have more than one field specified at a time"))
    return errs


def validate_env_from(env_from: list[Any], path: str) -> list[FieldError]:
    errs: Errs = []
    for i, ev in enumerate(env_from):
        ipath = index(path, i)
        if not isinstance(ev, dict):
            errs.append(c.wrong_type(ipath, ev, "object"))
            continue
        prefix = str_at(ev, "prefix", ipath, errs)
        if prefix:
            errs.extend(invalid_value(child(ipath, "prefix"), prefix, m) for m in _relaxed_env_name(prefix))
        sources = 0
        for src in ("configMapRef", "secretRef"):
            if ev.get(src) is None:
                continue
            sources += 1
            ref = dict_at(ev, src, ipath, errs)
            name = str_at(ref, "name", child(ipath, src), errs)
            npath = child(child(ipath, src), "name")
            if not name:
                errs.append(required(npath))
            else:
                errs.extend(name_errors(c.mask_trailing_dash(name), npath, c.is_dns1123_subdomain))
        if sources == 0:
            errs.append(invalid_value(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif sources > 1:
            errs.append(invalid_value(path, "", "may not have more than one field specified at a time"))
    return errs
