"""Validation of core/v1 Namespace, Node, ConfigMap, Secret, Endpoints and coordination Lease.

Facts from ``pkg/apis/core/validation/validation.go`` and ``pkg/apis/coordination/validation``
(kube v1.32). Generic ObjectMeta checks are not here: the server runs ``validate_object_meta``
for every kind, with the name rule from :data:`NAME_VALIDATORS` below (the catalog merges it).

Secret and ConfigMap payloads are untrusted JSON: ``data`` values must be base64 strings (kube's
decoder rejects others with a 400 before validation; we report a 422 at ``data[key]`` instead),
sizes are counted in decoded bytes against the 1 MiB limit (``MaxSecretSize``), and the
``immutable`` rule compares the stored and new payloads exactly (kube's ``reflect.DeepEqual``, so
``{}`` and an absent map differ only if one of them is non-empty).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from ferry.cluster.apiserver.errors import (
    FieldError,
    forbidden,
    invalid_value,
    not_supported,
    required,
    too_long,
)
from ferry.cluster.resources.types import Obj, Validator
from ferry.cluster.resources.validation.common import (
    IMMUTABLE,
    NameValidator,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_path_segment_name,
    is_qualified_name,
    is_valid_label_value,
)
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    dict_at,
    duplicate_go,
    int_at,
    list_at,
    opt_str_at,
    str_at,
)
from ferry.cluster.resources.validation.netcheck import (
    port_num_errors,
    validate_ip,
    validate_non_special_ip,
)

MAX_SECRET_SIZE_B = 1024 * 1024
STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
REDACTED = "<secret contents redacted>"
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_B64_CHARS = re.compile(r"[A-Za-z0-9+/=]")


def _b64_decode(value: str) -> bytes:
    """``base64.StdEncoding``: padded, strict alphabet; like Go, line breaks are skipped."""
    return base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)


def _b64_error(value: str) -> str | None:
    """Go's ``illegal base64 data at input byte N`` for a value StdEncoding cannot decode."""
    try:
        _b64_decode(value)
        return None
    except (binascii.Error, ValueError):
        pass
    value = value.replace("\r", "").replace("\n", "")
    for i, ch in enumerate(value):
        if not _B64_CHARS.fullmatch(ch) or (ch == "=" and i < len(value) - 2):
            return f"illegal base64 data at input byte {i}"
    return f"illegal base64 data at input byte {len(value) - len(value) % 4}"


def _b64_len(value: str) -> int:
    try:
        return len(_b64_decode(value))
    except (binascii.Error, ValueError):
        return 0


def _payload(obj: Obj, name: str, *, binary: bool, errs: Errs, redact: bool = False) -> dict[str, str]:
    """A ``data``/``binaryData`` map: keys checked as config keys, values as (base64) strings."""
    out: dict[str, str] = {}
    for k, v in sorted(dict_at(obj, name, "", errs).items()):
        errs.extend(invalid_value(f"{name}[{k}]", k, m) for m in is_config_map_key(k))
        if v is None:  # Go decodes a null map value as "" (data) or nil bytes (binaryData)
            out[k] = ""
            continue
        if not isinstance(v, str):
            errs.append(invalid_value(f"{name}[{k}]", REDACTED if redact else v, "must be a string"))
            continue
        if binary and (problem := _b64_error(v)):
            errs.append(invalid_value(f"{name}[{k}]", REDACTED if redact else v, problem))
            continue
        out[k] = v
    return out


def _immutable_payload(obj: Obj, old: Obj, names: tuple[str, ...], errs: Errs) -> None:
    if old.get("immutable") is not True:
        return
    if obj.get("immutable") is not True:
        errs.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
    for name in names:
        if (obj.get(name) or {}) != (old.get(name) or {}):
            errs.append(forbidden(name, IMMUTABLE_WHEN_SET))


def _immutable_flag(obj: Obj, errs: Errs) -> None:
    if obj.get("immutable") is not None and not isinstance(obj.get("immutable"), bool):
        errs.append(invalid_value("immutable", obj["immutable"], "must be of type boolean"))


def validate_config_map(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    if old is not None:
        _immutable_payload(obj, old, ("data", "binaryData"), errs)
    _immutable_flag(obj, errs)
    data = _payload(obj, "data", binary=False, errs=errs)
    binary = _payload(obj, "binaryData", binary=True, errs=errs)
    for k in sorted(data):
        if k in binary:
            errs.append(invalid_value(f"data[{k}]", k, "duplicate of key present in binaryData"))
    total = sum(len(v.encode("utf-8")) for v in data.values()) + sum(_b64_len(v) for v in binary.values())
    if total > MAX_SECRET_SIZE_B:
        errs.append(too_long("", MAX_SECRET_SIZE_B))
    return errs


def _go_json_error(raw: bytes) -> str | None:
    """The ``encoding/json`` error for unmarshalling ``raw`` into a map, or None."""
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            return "unexpected end of JSON input"
        char = text[exc.pos]
        if exc.msg.startswith("Extra data"):
            return f"invalid character '{char}' after top-level value"
        if exc.msg.startswith("Expecting property name"):
            return f"invalid character '{char}' looking for beginning of object key string"
        return f"invalid character '{char}' looking for beginning of value"
    if value is None or isinstance(value, dict):
        return None
    kind = {list: "array", str: "string", bool: "bool"}.get(type(value), "number")
    return f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"


def _secret_type_rules(obj: Obj, data: dict[str, str], errs: Errs) -> None:
    secret_type = obj.get("type") if isinstance(obj.get("type"), str) else ""
    if secret_type == "kubernetes.io/service-account-token":
        annotations = dict_at(obj.get("metadata"), "annotations", "metadata", [])
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif secret_type in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if secret_type == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            errs.append(required(f"data[{key}]"))
        elif problem := _go_json_error(_b64_decode(data[key])):
            errs.append(invalid_value(f"data[{key}]", REDACTED, problem))
    elif secret_type == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs.extend([required("data[username]"), required("data[password]")])
    elif secret_type == "kubernetes.io/ssh-auth":
        if not _b64_len(data.get("ssh-privatekey", "")):
            errs.append(required("data[ssh-privatekey]"))
    elif secret_type == "kubernetes.io/tls":
        errs.extend(required(f"data[{k}]") for k in ("tls.crt", "tls.key") if k not in data)


def validate_secret(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    if old is not None:
        if (obj.get("type") or "") != (old.get("type") or ""):
            errs.append(invalid_value("type", obj.get("type") or "", IMMUTABLE))
        _immutable_payload(obj, old, ("data",), errs)
    _immutable_flag(obj, errs)
    if obj.get("type") is not None and not isinstance(obj["type"], str):
        errs.append(invalid_value("type", obj["type"], "must be of type string"))
    if obj.get("stringData") is not None:
        errs.append(invalid_value("stringData", obj["stringData"], "must be a map of strings"))
    data = _payload(obj, "data", binary=True, errs=errs, redact=True)
    if sum(_b64_len(v) for v in data.values()) > MAX_SECRET_SIZE_B:
        errs.append(too_long("data", MAX_SECRET_SIZE_B))
    _secret_type_rules(obj, data, errs)
    return errs


def validate_namespace(obj: Obj, old: Obj | None) -> list[FieldError]:
    """Finalizer names in ``spec.finalizers`` (reported at the list path, without an index)."""
    errs: Errs = []
    spec = dict_at(obj, "spec", "", errs)
    for f in list_at(spec, "finalizers", "spec", errs):
        if not isinstance(f, str):
            errs.append(invalid_value("spec.finalizers", f, "must be of type string"))
            continue
        errs.extend(invalid_value("spec.finalizers", f, m) for m in is_qualified_name(f))
        if "/" not in f and f not in STANDARD_FINALIZERS:
            detail = "name is neither a standard finalizer name nor is it fully qualified"
            errs.append(invalid_value("spec.finalizers", f, detail))
    return errs


def validate_node(obj: Obj, old: Obj | None) -> list[FieldError]:
    """Taints (kube reports them under ``metadata.taints``) and pod CIDRs."""
    errs: Errs = []
    spec = dict_at(obj, "spec", "", errs)
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(list_at(spec, "taints", "spec", errs)):
        path = f"metadata.taints[{i}]"
        if not isinstance(taint, dict):
            errs.append(invalid_value(path, taint, "must be an object"))
            continue
        key, value = str_at(taint, "key", path, errs), str_at(taint, "value", path, errs)
        effect = str_at(taint, "effect", path, errs)
        errs.extend(invalid_value(f"{path}.key", key, m) for m in is_qualified_name(key))
        if msgs := is_valid_label_value(value):
            errs.append(invalid_value(f"{path}.value", value, ";".join(msgs)))
        if not effect:
            errs.append(required(f"{path}.effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{path}.effect", effect, TAINT_EFFECTS))
        if (effect, key) in seen:
            go = f'core.Taint{{Key:"{key}", Value:"{value}", Effect:"{effect}", TimeAdded:(*v1.Time)(nil)}}'
            errs.append(duplicate_go(path, go, "taints must be unique by key and effect pair"))
        seen.add((effect, key))
    return errs


def _endpoint_address(addr: Any, path: str, errs: Errs) -> None:
    if not isinstance(addr, dict):
        errs.append(invalid_value(path, addr, "must be an object"))
        return
    ip = str_at(addr, "ip", path, errs)
    errs.extend(validate_ip(f"{path}.ip", ip))
    hostname = str_at(addr, "hostname", path, errs)
    if hostname:
        errs.extend(invalid_value(f"{path}.hostname", hostname, m) for m in is_dns1123_label(hostname))
    node_name = opt_str_at(addr, "nodeName", path, errs)
    if node_name is not None:
        errs.extend(invalid_value(f"{path}.nodeName", node_name, m) for m in is_dns1123_subdomain(node_name))
    errs.extend(validate_non_special_ip(f"{path}.ip", ip))


def endpoint_port_errors(port: Any, path: str, require_name: bool, errs: Errs) -> None:
    """``validateEndpointPort`` (shared with EndpointSlice ports' protocol rules)."""
    if not isinstance(port, dict):
        errs.append(invalid_value(path, port, "must be an object"))
        return
    name = str_at(port, "name", path, errs)
    if require_name and not name:
        errs.append(required(f"{path}.name"))
    elif name:
        errs.extend(invalid_value(f"{path}.name", name, m) for m in is_dns1123_label(name))
    number = int_at(port, "port", path, errs)
    if number is not None or port.get("port") is None:
        errs.extend(port_num_errors(f"{path}.port", number or 0))
    protocol = str_at(port, "protocol", path, errs)
    if not protocol:
        errs.append(required(f"{path}.protocol"))
    elif protocol not in ("SCTP", "TCP", "UDP"):
        errs.append(not_supported(f"{path}.protocol", protocol, ["SCTP", "TCP", "UDP"]))
    app_protocol = opt_str_at(port, "appProtocol", path, errs)
    if app_protocol is not None:
        errs.extend(
            invalid_value(f"{path}.appProtocol", app_protocol, m) for m in is_qualified_name(app_protocol)
        )


def validate_endpoints(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    for i, subset in enumerate(list_at(obj, "subsets", "", errs)):
        path = f"subsets[{i}]"
        addresses = list_at(subset, "addresses", path, errs)
        not_ready = list_at(subset, "notReadyAddresses", path, errs)
        if not addresses and not not_ready:
            errs.append(required(path, "must specify `addresses` or `notReadyAddresses`"))
        for j, addr in enumerate(addresses):
            _endpoint_address(addr, f"{path}.addresses[{j}]", errs)
        for j, addr in enumerate(not_ready):
            _endpoint_address(addr, f"{path}.notReadyAddresses[{j}]", errs)
        ports = list_at(subset, "ports", path, errs)
        for j, port in enumerate(ports):
            endpoint_port_errors(port, f"{path}.ports[{j}]", len(ports) > 1, errs)
    return errs


def validate_lease(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = dict_at(obj, "spec", "", errs)
    duration = int_at(spec, "leaseDurationSeconds", "spec", errs)
    if duration is not None and duration <= 0:
        errs.append(invalid_value("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = int_at(spec, "leaseTransitions", "spec", errs)
    if transitions is not None and transitions < 0:
        errs.append(invalid_value("spec.leaseTransitions", transitions, "must be greater than or equal to 0"))
    for name in ("holderIdentity", "acquireTime", "renewTime"):
        opt_str_at(spec, name, "spec", errs)
    return errs


# Name rules of the kinds owned here (``ValidateNameFunc`` of each registry strategy).
NAME_VALIDATORS: dict[tuple[str, str], NameValidator] = {
    ("", "Namespace"): is_dns1123_label,
    ("", "Service"): is_dns1035_label,
    ("", "Node"): is_dns1123_subdomain,
    ("", "ConfigMap"): is_dns1123_subdomain,
    ("", "Secret"): is_dns1123_subdomain,
    ("", "ServiceAccount"): is_dns1123_subdomain,
    ("", "Endpoints"): is_dns1123_subdomain,
    ("", "Event"): is_path_segment_name,
    ("events.k8s.io", "Event"): is_dns1123_subdomain,
    ("discovery.k8s.io", "EndpointSlice"): is_dns1123_subdomain,
    ("networking.k8s.io", "Ingress"): is_dns1123_subdomain,
    ("networking.k8s.io", "IngressClass"): is_dns1123_subdomain,
    ("coordination.k8s.io", "Lease"): is_dns1123_subdomain,
    ("rbac.authorization.k8s.io", "Role"): is_path_segment_name,
    ("rbac.authorization.k8s.io", "ClusterRole"): is_path_segment_name,
    ("rbac.authorization.k8s.io", "RoleBinding"): is_path_segment_name,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): is_path_segment_name,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): is_dns1123_subdomain,
}

VALIDATORS: dict[tuple[str, str], Validator] = {
    ("", "Namespace"): validate_namespace,
    ("", "Node"): validate_node,
    ("", "ConfigMap"): validate_config_map,
    ("", "Secret"): validate_secret,
    ("", "Endpoints"): validate_endpoints,
    ("coordination.k8s.io", "Lease"): validate_lease,
}

__all__ = [
    "NAME_VALIDATORS",
    "VALIDATORS",
    "endpoint_port_errors",
    "validate_config_map",
    "validate_endpoints",
    "validate_lease",
    "validate_namespace",
    "validate_node",
    "validate_secret",
]
