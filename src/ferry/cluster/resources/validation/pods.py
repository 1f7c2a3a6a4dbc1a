"""Validation of PodSpec and everything in it, as ``pkg/apis/core/validation`` (v1.32) does it.

Used for ``v1/Pod`` and ``v1/PodTemplate`` here, and by :mod:`.workloads` for every
``spec.template``. Paths, detail strings and the order of checks follow kube-apiserver, because
kubectl prints the 422 message verbatim (``spec.containers[0].image: Required value``) and a
multi-error message lists causes in that order.

Design:

* Input is the *defaulted* object: restartPolicy, dnsPolicy, imagePullPolicy, probe thresholds
  are present unless the client sent something odd, and the checks for "empty" mirror Go's
  zero-value tests (``len(x) == 0``, ``x == nil``).
* JSON is untrusted: typed reads go through :mod:`.jsonread`, so a wrong type becomes one
  ``FieldValueTypeInvalid`` error and the rest of the check proceeds as if the field were absent.
* Go iterates maps in random order; maps here are visited in sorted key order.
* Scope: containers (ports, env, envFrom, mounts, probes, lifecycle, resources, a subset of the
  securityContext), volumes (exactly one source, the common sources' required fields), restart
  and DNS policies, tolerations, DNS config, names and the Pod update rules. Affinity terms,
  topology spread constraints, Windows/Linux OS rules, sysctls, resource claims, pod-specific
  annotations and most securityContext fields are accepted without deep validation.
* Size: this module is over the house limit because the task gives its author only this file
  for all of PodSpec; it splits naturally into containers / volumes / spec+update.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from ferry.cluster.apiserver.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid_value,
    not_supported,
    required,
)
from ferry.cluster.resources.quantity import QuantityError, parse_quantity
from ferry.cluster.resources.types import Obj
from ferry.cluster.resources.validation import common as c
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    bool_at,
    child,
    dict_at,
    dicts,
    index,
    int_at,
    key,
    list_at,
    str_at,
)

MAX_INT32 = 2**31 - 1
FILE_MODE_MSG = "must be a number between 0 and 0777 (octal), both inclusive"
UPDATABLE_POD_FIELDS = ",".join(
    [
        "`spec.containers[*].image`",
        "`spec.initContainers[*].image`",
        "`spec.activeDeadlineSeconds`",
        "`spec.tolerations` (only additions to existing tolerations)",
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    ]
)
_PORT_NAME_RE = re.compile(r"[-a-z0-9]+")
_HTTP_HEADER_RE = re.compile(r"[-A-Za-z0-9]+")
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
_VOLUME_DOWNWARD = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
]
_CONVERTIBLE_FIELDS = {
    *_ENV_DOWNWARD,
    *_VOLUME_DOWNWARD,
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
# (JSON name, name used in the "more than 1 volume type" path: kube misspells two of them).
_SOURCE_NAMES = (
    "emptyDir hostPath gitRepo gcePersistentDisk awsElasticBlockStore secret nfs iscsi glusterfs flocker "
    "persistentVolumeClaim rbd cinder cephfs quobyte downwardAPI fc flexVolume configMap azureFile "
    "vsphereVolume photonPersistentDisk portworxVolume azureDisk storageos projected scaleIO csi ephemeral image"
)
_MISSPELLED = {"downwardAPI": "downwarAPI", "cephfs": "cephFS"}
_VOLUME_SOURCES = [(s, _MISSPELLED.get(s, s)) for s in _SOURCE_NAMES.split()]
_HOST_PATH_TYPE_NAMES = " BlockDevice CharDevice Directory DirectoryOrCreate File FileOrCreate Socket"
_HOST_PATH_TYPES = _HOST_PATH_TYPE_NAMES.split(" ")
_BYTE_DIVISOR_NAMES = "1 1k 1M 1G 1T 1P 1E 1Ki 1Mi 1Gi 1Ti 1Pi 1Ei"


# ---- small shared checks -----------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def nonnegative(value: int | None, path: str) -> list[FieldError]:
    return [invalid_value(path, value, c.NEGATIVE)] if value is not None and value < 0 else []


def is_valid_port_name(port: str) -> list[str]:
    errs: list[str] = []
    if len(port) > 15:
        errs.append(c.max_len_error(15))
    if not _PORT_NAME_RE.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_num_or_name(value: Any, path: str) -> list[FieldError]:
    """``ValidatePortNumOrName`` for an IntOrString (absent = int 0)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        port = value or 0
        ok = 1 <= port <= 65535
        return [] if ok else [invalid_value(path, port, c.inclusive_range_error(1, 65535))]
    if isinstance(value, str):
        return [invalid_value(path, value, m) for m in is_valid_port_name(value)]
    return [c.wrong_type(path, value, "integer or string")]


def _path_no_backsteps(target: str, path: str) -> list[FieldError]:
    if ".." in target.replace("\\", "/").split("/"):
        return [invalid_value(path, target, "must not contain '..'")]
    return []


def local_descending_path(target: str, path: str) -> list[FieldError]:
    errs = [invalid_value(path, target, "must be a relative path")] if target.startswith("/") else []
    return errs + _path_no_backsteps(target, path)


def local_non_reserved_path(target: str, path: str) -> list[FieldError]:
    errs = local_descending_path(target, path)
    if target.startswith("..") and not target.startswith("../"):
        errs.append(invalid_value(path, target, "must not start with '..'"))
    return errs


def _file_mode(obj: Any, name: str, path: str, errs: Errs) -> None:
    mode = int_at(obj, name, path, errs)
    if mode is not None and not 0 <= mode <= 0o777:
        errs.append(invalid_value(child(path, name), mode, FILE_MODE_MSG))


def _names(value: str, path: str, fn: c.NameValidator) -> list[FieldError]:
    return [invalid_value(path, value, m) for m in fn(value)]


# ---- resources -------------------------------------------------------------------------------


def _resource_name_errors(name: str, path: str) -> list[FieldError]:
    errs = [invalid_value(path, name, m) for m in c.is_qualified_name(name)]
    if errs:
        return errs
    if "/" not in name:
        standard = name in ("cpu", "memory", "ephemeral-storage") or name.startswith("hugepages-")
        if not standard:
            errs.append(invalid_value(path, name, "must be a standard resource type or fully qualified"))
            errs.append(invalid_value(path, name, "must be a standard resource for containers"))
    elif "kubernetes.io/" not in name and (
        name.startswith("requests.") or c.is_qualified_name("requests." + name)
    ):
        errs.append(invalid_value(path, name, "doesn't follow extended resource name standard"))
    return errs


def _overcommit_allowed(name: str) -> bool:
    native = "/" not in name or "kubernetes.io/" in name
    return native and not name.startswith("hugepages-")


def validate_resource_requirements(res: Any, path: str) -> list[FieldError]:
    """``ValidateContainerResourceRequirements``: names, quantities, requests ≤ limits."""
    errs: Errs = []
    if res is None:
        return errs
    if not isinstance(res, dict):
        return [c.wrong_type(path, res, "object")]
    parsed: dict[str, dict[str, Any]] = {}
    for part in ("limits", "requests"):
        parsed[part] = {}
        for name, raw in sorted(dict_at(res, part, path, errs).items()):
            fpath = key(child(path, part), name)
            errs.extend(_resource_name_errors(name, fpath))
            try:
                q = parse_quantity(raw)
            except QuantityError as e:
                errs.append(invalid_value(fpath, raw, str(e)))
                continue
            parsed[part][name] = q
            if q.value < 0:
                errs.append(invalid_value(fpath, q.canonical(), c.NEGATIVE))
            if "/" in name and "kubernetes.io/" not in name and q.value.denominator != 1:
                errs.append(invalid_value(fpath, q.canonical(), "must be an integer"))
            if part == "requests":
                limit = parsed["limits"].get(name)
                req_path = child(path, "requests")
                if limit is not None:
                    if q != limit and not _overcommit_allowed(name):
                        detail = f"must be equal to {name} limit of {limit.canonical()}"
                        errs.append(invalid_value(req_path, q.canonical(), detail))
                    elif q > limit:
                        detail = f"must be less than or equal to {name} limit of {limit.canonical()}"
                        errs.append(invalid_value(req_path, q.canonical(), detail))
                elif not _overcommit_allowed(name):
                    errs.append(
                        required(child(path, "limits"), "Limit must be set for non overcommitable resources")
                    )
    names = set(parsed["limits"]) | set(parsed["requests"])
    if not names & {"cpu", "memory"} and any(n.startswith("hugepages-") for n in names):
        errs.append(forbidden(path, "HugePages require cpu or memory"))
    return errs


# ---- env ---------------------------------------------------------------------------------------


def _relaxed_env_name(name: str) -> list[str]:
    if not name:
        return ["environment variable name must be non-empty"]
    if any(not (0x20 <= ord(ch) < 0x7F) or ch == "=" for ch in name):
        return [
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
        ]
    return []


def _object_field_selector(ref: dict[str, Any], allowed: list[str], path: str) -> list[FieldError]:
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


def _resource_field_selector(ref: dict[str, Any], path: str, *, volume: bool) -> list[FieldError]:
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
    errs.extend(_names(str_at(ref, "name", path, errs), child(path, "name"), c.is_dns1123_subdomain))
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
            ("fieldRef", lambda d, p: _object_field_selector(d, _ENV_DOWNWARD, p)),
            ("resourceFieldRef", lambda d, p: _resource_field_selector(d, p, volume=False)),
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
                errs.extend(_names(c.mask_trailing_dash(name), npath, c.is_dns1123_subdomain))
        if sources == 0:
            errs.append(invalid_value(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif sources > 1:
            errs.append(invalid_value(path, "", "may not have more than one field specified at a time"))
    return errs


# ---- probes and handlers ----------------------------------------------------------------------


def _handler(
    handler: dict[str, Any], path: str, kinds: tuple[str, ...], grace: int | None
) -> list[FieldError]:
    errs: Errs = []
    count = 0
    for kind in kinds:
        if handler.get(kind) is None:
            continue
        hpath = child(path, kind)
        if count:
            errs.append(forbidden(hpath, "may not specify more than 1 handler type"))
            continue
        count += 1
        body = dict_at(handler, kind, path, errs)
        if kind == "exec" and not list_at(body, "command", hpath, errs):
            errs.append(required(child(hpath, "command")))
        elif kind == "httpGet":
            if not str_at(body, "path", hpath, errs):
                errs.append(required(child(hpath, "path")))
            errs.extend(port_num_or_name(body.get("port"), child(hpath, "port")))
            scheme = str_at(body, "scheme", hpath, errs)
            if scheme not in ("HTTP", "HTTPS"):
                errs.append(not_supported(child(hpath, "scheme"), scheme, ["HTTP", "HTTPS"]))
            for header in list_at(body, "httpHeaders", hpath, errs):
                hname = header.get("name", "") if isinstance(header, dict) else ""
                if not isinstance(hname, str) or not _HTTP_HEADER_RE.fullmatch(hname):
                    detail = c.regex_error(
                        "a valid HTTP header must consist of alphanumeric characters or '-'",
                        "[-A-Za-z0-9]+",
                        "X-Header-Name",
                    )
                    errs.append(invalid_value(child(hpath, "httpHeaders"), hname, detail))
        elif kind in ("tcpSocket", "grpc"):
            port = body.get("port")
            if kind == "grpc" and isinstance(port, str):
                errs.append(c.wrong_type(child(hpath, "port"), port, "integer"))
            else:
                errs.extend(port_num_or_name(port, child(hpath, "port")))
        elif kind == "sleep":
            seconds = int_at(body, "seconds", hpath, errs) or 0
            if grace is not None and not 0 < seconds <= grace:
                detail = (
                    f"must be greater than 0 and less than terminationGracePeriodSeconds ({grace}). "
                    "Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep."
                )
                errs.append(invalid_value(hpath, seconds, detail))
    if count == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


def validate_probe(probe: Any, path: str, *, kind: str, grace: int | None) -> list[FieldError]:
    """``kind`` is ``liveness``, ``readiness`` or ``startup``."""
    if probe is None:
        return []
    if not isinstance(probe, dict):
        return [c.wrong_type(path, probe, "object")]
    errs = _handler(probe, path, ("exec", "httpGet", "tcpSocket", "grpc"), grace)
    for name in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        errs.extend(nonnegative(int_at(probe, name, path, errs), child(path, name)))
    tgps = int_at(probe, "terminationGracePeriodSeconds", path, errs)
    if tgps is not None and tgps <= 0:
        errs.append(
            invalid_value(child(path, "terminationGracePeriodSeconds"), tgps, "must be greater than 0")
        )
    if kind in ("liveness", "startup"):
        success = int_at(probe, "successThreshold", path, [])
        if success is not None and success != 1:
            errs.append(invalid_value(child(path, "successThreshold"), success, "must be 1"))
    elif tgps is not None:
        detail = "must not be set for readinessProbes"
        errs.append(invalid_value(child(path, "terminationGracePeriodSeconds"), tgps, detail))
    return errs


def validate_lifecycle(lifecycle: dict[str, Any], path: str, grace: int | None) -> list[FieldError]:
    errs: Errs = []
    for hook in ("postStart", "preStop"):
        if lifecycle.get(hook) is not None:
            body = dict_at(lifecycle, hook, path, errs)
            errs.extend(_handler(body, child(path, hook), ("exec", "httpGet", "tcpSocket", "sleep"), grace))
    return errs


# ---- containers --------------------------------------------------------------------------------


def _validate_ports(ports: list[Any], path: str) -> list[FieldError]:
    errs: Errs = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        ipath = index(path, i)
        if not isinstance(port, dict):
            errs.append(c.wrong_type(ipath, port, "object"))
            continue
        name = str_at(port, "name", ipath, errs)
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                errs.extend(invalid_value(child(ipath, "name"), name, m) for m in msgs)
            elif name in names:
                errs.append(duplicate(child(ipath, "name"), name))
            names.add(name)
        container_port = int_at(port, "containerPort", ipath, errs) or 0
        if container_port == 0:
            errs.append(required(child(ipath, "containerPort")))
        elif not 1 <= container_port <= 65535:
            errs.append(
                invalid_value(
                    child(ipath, "containerPort"), container_port, c.inclusive_range_error(1, 65535)
                )
            )
        host_port = int_at(port, "hostPort", ipath, errs) or 0
        if host_port and not 1 <= host_port <= 65535:
            errs.append(invalid_value(child(ipath, "hostPort"), host_port, c.inclusive_range_error(1, 65535)))
        protocol = str_at(port, "protocol", ipath, errs)
        if not protocol:
            errs.append(required(child(ipath, "protocol")))
        elif protocol not in ("SCTP", "TCP", "UDP"):
            errs.append(not_supported(child(ipath, "protocol"), protocol, ["SCTP", "TCP", "UDP"]))
    return errs


def _validate_mounts(
    container: dict[str, Any], volumes: dict[str, dict[str, Any]], path: str
) -> list[FieldError]:
    errs: Errs = []
    mpath = child(path, "volumeMounts")
    seen: set[str] = set()
    devices = {
        str(d.get("name")): d.get("devicePath")
        for d in dicts(container.get("volumeDevices"))
        if isinstance(d.get("name"), str)
    }
    for i, mount in enumerate(list_at(container, "volumeMounts", path, errs)):
        ipath = index(mpath, i)
        if not isinstance(mount, dict):
            errs.append(c.wrong_type(ipath, mount, "object"))
            continue
        name = str_at(mount, "name", ipath, errs)
        mount_path = str_at(mount, "mountPath", ipath, errs)
        if not name:
            errs.append(required(child(ipath, "name")))
        if name not in volumes:
            errs.append(FieldError("FieldValueNotFound", child(ipath, "name"), "", name, True))
        if not mount_path:
            errs.append(required(child(ipath, "mountPath")))
        if mount_path in seen:
            errs.append(invalid_value(child(ipath, "mountPath"), mount_path, "must be unique"))
        seen.add(mount_path)
        if name in devices:
            errs.append(invalid_value(child(ipath, "name"), name, "must not already exist in volumeDevices"))
        if mount_path in devices.values():
            detail = "must not already exist as a path in volumeDevices"
            errs.append(invalid_value(child(ipath, "mountPath"), mount_path, detail))
        sub_path = str_at(mount, "subPath", ipath, errs)
        if sub_path:
            errs.extend(local_descending_path(sub_path, child(mpath, "subPath")))
        sub_expr = str_at(mount, "subPathExpr", ipath, errs)
        if sub_expr:
            if sub_path:
                detail = "subPathExpr and subPath are mutually exclusive"
                errs.append(invalid_value(child(ipath, "subPathExpr"), sub_expr, detail))
            errs.extend(local_descending_path(sub_expr, child(mpath, "subPathExpr")))
        propagation = mount.get("mountPropagation")
        if propagation is not None:
            supported = ["Bidirectional", "HostToContainer", "None"]
            if propagation not in supported:
                errs.append(not_supported(child(mpath, "mountPropagation"), propagation, supported))
            privileged = dict_at(container, "securityContext", path, []).get("privileged") is True
            if propagation == "Bidirectional" and not privileged:
                detail = "Bidirectional mount propagation is available only to privileged containers"
                errs.append(forbidden(child(mpath, "mountPropagation"), detail))
    return errs


def _validate_security_context(sc: dict[str, Any], path: str) -> list[FieldError]:
    errs: Errs = []
    for name in ("runAsUser", "runAsGroup"):
        value = int_at(sc, name, path, errs)
        if value is not None and not 0 <= value <= MAX_INT32:
            errs.append(invalid_value(child(path, name), value, c.inclusive_range_error(0, MAX_INT32)))
    if bool_at(sc, "privileged", path, errs) and bool_at(sc, "allowPrivilegeEscalation", path, errs) is False:
        detail = "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"
        errs.append(invalid_value(path, sc, detail))
    return errs


def _container_common(ctr: dict[str, Any], volumes: dict[str, dict[str, Any]], path: str) -> list[FieldError]:
    errs: Errs = []
    name = str_at(ctr, "name", path, errs)
    if not name:
        errs.append(required(child(path, "name")))
    else:
        errs.extend(_names(name, child(path, "name"), c.is_dns1123_label))
    if not str_at(ctr, "image", path, errs):
        errs.append(required(child(path, "image")))
    policy = str_at(ctr, "terminationMessagePolicy", path, errs)
    if not policy:
        errs.append(required(child(path, "terminationMessagePolicy")))
    elif policy not in ("File", "FallbackToLogsOnError"):
        supported = ["File", "FallbackToLogsOnError"]
        errs.append(not_supported(child(path, "terminationMessagePolicy"), policy, supported))
    errs.extend(_validate_ports(list_at(ctr, "ports", path, errs), child(path, "ports")))
    errs.extend(validate_env(list_at(ctr, "env", path, errs), child(path, "env")))
    errs.extend(validate_env_from(list_at(ctr, "envFrom", path, errs), child(path, "envFrom")))
    errs.extend(_validate_mounts(ctr, volumes, path))
    pull = str_at(ctr, "imagePullPolicy", path, errs)
    if not pull:
        errs.append(required(child(path, "imagePullPolicy")))
    elif pull not in ("Always", "IfNotPresent", "Never"):
        supported = ["Always", "IfNotPresent", "Never"]
        errs.append(not_supported(child(path, "imagePullPolicy"), pull, supported))
    errs.extend(validate_resource_requirements(ctr.get("resources"), child(path, "resources")))
    errs.extend(
        _validate_security_context(
            dict_at(ctr, "securityContext", path, errs), child(path, "securityContext")
        )
    )
    return errs


def _host_port_conflicts(containers: list[dict[str, Any]], path: str) -> list[FieldError]:
    errs: Errs = []
    seen: set[str] = set()
    for ci, ctr in enumerate(containers):
        for pi, port in enumerate(dicts(ctr.get("ports"))):
            host_port = port.get("hostPort")
            if not host_port:
                continue
            entry = f"{port.get('protocol', '')}/{port.get('hostIP', '')}/{host_port}"
            if entry in seen:
                errs.append(duplicate(child(index(child(index(path, ci), "ports"), pi), "hostPort"), entry))
            seen.add(entry)
    return errs


def _objects(items: list[Any], path: str, errs: Errs) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            out.append(item)
        else:
            errs.append(c.wrong_type(index(path, i), item, "object"))
            out.append({})
    return out


def validate_containers(spec: dict[str, Any], volumes: dict[str, Any], path: str, grace: int | None) -> Errs:
    errs: Errs = []
    cpath = child(path, "containers")
    containers = _objects(list_at(spec, "containers", path, errs), cpath, errs)
    if not containers:
        return [*errs, required(cpath)]
    names: set[str] = set()
    for i, ctr in enumerate(containers):
        ipath = index(cpath, i)
        errs.extend(_container_common(ctr, volumes, ipath))
        name = str_at(ctr, "name", ipath, [])
        if name in names:
            errs.append(duplicate(child(ipath, "name"), name))
        names.add(name)
        if ctr.get("lifecycle") is not None:
            errs.extend(
                validate_lifecycle(dict_at(ctr, "lifecycle", ipath, errs), child(ipath, "lifecycle"), grace)
            )
        for kind in ("liveness", "readiness", "startup"):
            errs.extend(
                validate_probe(ctr.get(kind + "Probe"), child(ipath, kind + "Probe"), kind=kind, grace=grace)
            )
        if ctr.get("restartPolicy") is not None:
            errs.append(forbidden(child(ipath, "restartPolicy"), "may not be set for non-init containers"))
    errs.extend(_host_port_conflicts(containers, cpath))
    ipath_base = child(path, "initContainers")
    for i, ctr in enumerate(_objects(list_at(spec, "initContainers", path, errs), ipath_base, errs)):
        ipath = index(ipath_base, i)
        errs.extend(_container_common(ctr, volumes, ipath))
        policy = ctr.get("restartPolicy")
        if policy is not None and policy != "Always":
            errs.append(not_supported(child(ipath, "restartPolicy"), policy, ["Always"]))
        name = str_at(ctr, "name", ipath, [])
        if name in names:
            errs.append(duplicate(child(ipath, "name"), name))
        elif name:
            names.add(name)
        errs.extend(_host_port_conflicts([ctr], ipath_base))
        for hook in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
            if ctr.get(hook) is None:
                continue
            if policy == "Always":
                if hook == "lifecycle":
                    errs.extend(
                        validate_lifecycle(dict_at(ctr, hook, ipath, errs), child(ipath, hook), grace)
                    )
                else:
                    kind = hook.removesuffix("Probe")
                    errs.extend(validate_probe(ctr.get(hook), child(ipath, hook), kind=kind, grace=grace))
            else:
                detail = "may not be set for init containers without restartPolicy=Always"
                errs.append(forbidden(child(ipath, hook), detail))
    return errs


# ---- volumes -----------------------------------------------------------------------------------


def _key_to_paths(source: dict[str, Any], path: str, errs: Errs) -> None:
    for i, item in enumerate(list_at(source, "items", path, errs)):
        ipath = index(child(path, "items"), i)
        item = item if isinstance(item, dict) else {}
        if not str_at(item, "key", ipath, errs):
            errs.append(required(child(ipath, "key")))
        item_path = str_at(item, "path", ipath, errs)
        if not item_path:
            errs.append(required(child(ipath, "path")))
        errs.extend(local_non_reserved_path(item_path, child(ipath, "path")))
        _file_mode(item, "mode", ipath, errs)


def _downward_files(source: dict[str, Any], path: str, errs: Errs) -> None:
    for item in list_at(source, "items", path, errs):
        item = item if isinstance(item, dict) else {}
        file_path = str_at(item, "path", path, errs)
        if not file_path:
            errs.append(required(child(path, "path")))
        errs.extend(local_non_reserved_path(file_path, child(path, "path")))
        if item.get("fieldRef") is not None:
            errs.extend(
                _object_field_selector(
                    dict_at(item, "fieldRef", path, errs), _VOLUME_DOWNWARD, child(path, "fieldRef")
                )
            )
            if item.get("resourceFieldRef") is not None:
                detail = "fieldRef and resourceFieldRef can not be specified simultaneously"
                errs.append(invalid_value(path, "resource", detail))
        elif item.get("resourceFieldRef") is not None:
            ref = dict_at(item, "resourceFieldRef", path, errs)
            errs.extend(_resource_field_selector(ref, child(path, "resourceFieldRef"), volume=True))
        else:
            errs.append(required(path, "one of fieldRef and resourceFieldRef is required"))
        _file_mode(item, "mode", path, errs)


def _volume_source(kind: str, source: dict[str, Any], path: str, errs: Errs) -> None:
    """Required fields of the volume sources pods commonly use; others are only type-counted."""
    simple_required = {
        "secret": ["secretName"],
        "configMap": ["name"],
        "persistentVolumeClaim": ["claimName"],
        "csi": ["driver"],
        "nfs": ["server", "path"],
        "gitRepo": ["repository"],
        "iscsi": ["targetPortal", "iqn"],
        "rbd": ["monitors", "image"],
        "cephfs": ["monitors"],
        "azureFile": ["secretName", "shareName"],
        "azureDisk": ["diskName", "diskURI"],
    }
    for name in simple_required.get(kind, []):
        if not source.get(name):
            errs.append(required(child(path, name)))
    if kind in ("secret", "configMap", "downwardAPI", "projected"):
        _file_mode(source, "defaultMode", path, errs)
    if kind in ("secret", "configMap"):
        _key_to_paths(source, path, errs)
    elif kind == "hostPath":
        host_path = str_at(source, "path", path, errs)
        if not host_path:
            errs.append(required(child(path, "path")))
            return
        errs.extend(_path_no_backsteps(host_path, child(path, "path")))
        host_type = source.get("type")
        if host_type is not None and host_type not in _HOST_PATH_TYPES:
            errs.append(not_supported(child(path, "type"), host_type, _HOST_PATH_TYPES))
    elif kind == "emptyDir" and source.get("sizeLimit") is not None:
        try:
            if parse_quantity(source["sizeLimit"]).value < 0:
                detail = "SizeLimit field must be a valid resource quantity"
                errs.append(forbidden(child(path, "sizeLimit"), detail))
        except QuantityError as e:
            errs.append(invalid_value(child(path, "sizeLimit"), source["sizeLimit"], str(e)))
    elif kind == "nfs" and not str(source.get("path", "")).startswith("/"):
        errs.append(invalid_value(child(path, "path"), source.get("path", ""), "must be an absolute path"))
    elif kind == "downwardAPI":
        _downward_files(source, path, errs)
    elif kind == "projected":
        for i, src in enumerate(list_at(source, "sources", path, errs)):
            spath = index(child(path, "sources"), i)
            src = src if isinstance(src, dict) else {}
            present = [
                k
                for k in ("secret", "configMap", "downwardAPI", "serviceAccountToken", "clusterTrustBundle")
                if src.get(k) is not None
            ]
            for k in present:
                body = dict_at(src, k, spath, errs)
                if k in ("secret", "configMap"):
                    if not body.get("name"):
                        errs.append(required(child(child(spath, k), "name")))
                    _key_to_paths(body, child(spath, k), errs)
                elif k == "downwardAPI":
                    _downward_files(body, child(spath, k), errs)
                elif k == "serviceAccountToken":
                    expiration = int_at(body, "expirationSeconds", child(spath, k), errs) or 0
                    epath = child(child(spath, k), "expirationSeconds")
                    if expiration < 600:
                        errs.append(
                            invalid_value(
                                epath, expiration, "may not specify a duration less than 10 minutes"
                            )
                        )
                    if expiration > 1 << 32:
                        errs.append(
                            invalid_value(
                                epath, expiration, "may not specify a duration larger than 2^32 seconds"
                            )
                        )
                    token_path = str_at(body, "path", child(spath, k), errs)
                    if not token_path:
                        errs.append(required(child(path, "path")))
                    else:
                        errs.extend(local_non_reserved_path(token_path, child(path, "path")))
            if len(present) > 1:
                errs.append(forbidden(spath, "may not specify more than 1 volume type per source"))
    elif kind == "ephemeral" and source.get("volumeClaimTemplate") is None:
        errs.append(required(child(path, "volumeClaimTemplate")))


def validate_volumes(volumes: list[Any], path: str) -> tuple[dict[str, dict[str, Any]], list[FieldError]]:
    """``ValidateVolumes``: names unique DNS labels, exactly one source; returns the valid ones."""
    errs: Errs = []
    valid: dict[str, dict[str, Any]] = {}
    for i, vol in enumerate(volumes):
        ipath = index(path, i)
        if not isinstance(vol, dict):
            errs.append(c.wrong_type(ipath, vol, "object"))
            continue
        verrs: Errs = []
        count = 0
        for kind, shown in _VOLUME_SOURCES:
            if vol.get(kind) is None:
                continue
            if count:
                verrs.append(forbidden(child(ipath, shown), "may not specify more than 1 volume type"))
                continue
            count += 1
            _volume_source(kind, dict_at(vol, kind, ipath, verrs), child(ipath, kind), verrs)
        if count == 0:
            verrs.append(required(ipath, "must specify a volume type"))
        name = str_at(vol, "name", ipath, verrs)
        if not name:
            verrs.append(required(child(ipath, "name")))
        else:
            verrs.extend(_names(name, child(ipath, "name"), c.is_dns1123_label))
        if name in valid:
            verrs.append(duplicate(child(ipath, "name"), name))
        if verrs:
            errs.extend(verrs)
        else:
            valid[name] = vol
    return valid, errs


# ---- PodSpec -----------------------------------------------------------------------------------


def validate_tolerations(tolerations: list[Any], path: str) -> list[FieldError]:
    errs: Errs = []
    for i, tol in enumerate(tolerations):
        ipath = index(path, i)
        tol = tol if isinstance(tol, dict) else {}
        tkey = str_at(tol, "key", ipath, errs)
        operator = str_at(tol, "operator", ipath, errs)
        effect = str_at(tol, "effect", ipath, errs)
        value = str_at(tol, "value", ipath, errs)
        if tkey:
            errs.extend(invalid_value(child(ipath, "key"), tkey, m) for m in c.is_qualified_name(tkey))
        if not tkey and operator != "Exists":
            detail = (
                'operator must be Exists when `key` is empty, which means "match all values and all keys"'
            )
            errs.append(invalid_value(child(ipath, "operator"), operator, detail))
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            detail = "effect must be 'NoExecute' when `tolerationSeconds` is set"
            errs.append(invalid_value(child(ipath, "effect"), effect, detail))
        if operator in ("Equal", ""):
            msgs = c.is_valid_label_value(value)
            if msgs:
                errs.append(invalid_value(child(ipath, "operator"), value, ";".join(msgs)))
        elif operator == "Exists":
            if value:
                detail = "value must be empty when `operator` is 'Exists'"
                errs.append(invalid_value(child(ipath, "operator"), value, detail))
        else:
            errs.append(not_supported(child(ipath, "operator"), operator, ["Equal", "Exists"]))
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            supported = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
            errs.append(not_supported(child(ipath, "effect"), effect, supported))
    return errs


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _validate_dns_config(spec: dict[str, Any], dns_policy: str, path: str) -> list[FieldError]:
    errs: Errs = []
    cpath = child(path, "dnsConfig")
    config = spec.get("dnsConfig")
    if dns_policy == "None":
        if config is None:
            return [required(cpath, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not list_at(config, "nameservers", cpath, []):
            detail = "must provide at least one DNS nameserver when `dnsPolicy` is None"
            return [required(child(cpath, "nameservers"), detail)]
    if config is None:
        return errs
    body = dict_at(spec, "dnsConfig", path, errs)
    nameservers = list_at(body, "nameservers", cpath, errs)
    if len(nameservers) > 3:
        errs.append(
            invalid_value(child(cpath, "nameservers"), nameservers, "must not have more than 3 nameservers")
        )
    for i, ns in enumerate(nameservers):
        if not isinstance(ns, str) or not _valid_ip(ns):
            detail = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            errs.append(invalid_value(index(child(cpath, "nameservers"), i), ns, detail))
    searches = list_at(body, "searches", cpath, errs)
    if len(searches) > 32:
        errs.append(
            invalid_value(child(cpath, "searches"), searches, "must not have more than 32 search paths")
        )
    for i, search in enumerate(searches):
        if isinstance(search, str) and search != ".":
            trimmed = search.removesuffix(".")
            if not re.fullmatch(
                r"_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*", trimmed
            ):
                detail = c.regex_error(
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' "
                    "or '.', and must start and end with an alphanumeric character",
                    "_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*",
                    "example.com",
                )
                errs.append(invalid_value(index(child(cpath, "searches"), i), trimmed, detail))
    for i, option in enumerate(list_at(body, "options", cpath, errs)):
        if not isinstance(option, dict) or not option.get("name"):
            errs.append(required(index(child(cpath, "options"), i), "must not be empty"))
    return errs


def _enum(value: str, path: str, supported: list[str]) -> list[FieldError]:
    if not value:
        return [required(path)]
    return [] if value in supported else [not_supported(path, value, supported)]


def validate_pod_spec(spec: Any, path: str, *, is_pod: bool = False) -> list[FieldError]:
    """``ValidatePodSpec`` (+ the pod-only host-network rule when ``is_pod``)."""
    if not isinstance(spec, dict):
        return [c.wrong_type(path, spec, "object")]
    errs: Errs = []
    grace = int_at(spec, "terminationGracePeriodSeconds", path, errs)
    if spec.get("terminationGracePeriodSeconds") is None:
        errs.append(required(child(path, "terminationGracePeriodSeconds")))
    volumes, verrs = validate_volumes(list_at(spec, "volumes", path, errs), child(path, "volumes"))
    errs.extend(verrs)
    errs.extend(validate_containers(spec, volumes, path, grace))
    if bool_at(spec, "hostNetwork", path, errs):
        for i, ctr in enumerate(dicts(spec.get("containers"))):
            for j, port in enumerate(dicts(ctr.get("ports"))):
                hp, cp = port.get("hostPort") or 0, port.get("containerPort") or 0
                if (is_pod or hp != 0) and hp != cp:
                    ppath = child(index(child(index(child(path, "containers"), i), "ports"), j), "hostPort")
                    errs.append(
                        invalid_value(ppath, hp, "must match `containerPort` when `hostNetwork` is true")
                    )
    restart = str_at(spec, "restartPolicy", path, errs)
    errs.extend(_enum(restart, child(path, "restartPolicy"), ["Always", "OnFailure", "Never"]))
    dns_policy = str_at(spec, "dnsPolicy", path, errs)
    dns_supported = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
    errs.extend(_enum(dns_policy, child(path, "dnsPolicy"), dns_supported))
    errs.extend(c.validate_labels(spec.get("nodeSelector"), child(path, "nodeSelector")))
    sc = dict_at(spec, "securityContext", path, errs)
    errs.extend(_validate_security_context(sc, child(path, "securityContext")))
    fs_group = int_at(sc, "fsGroup", child(path, "securityContext"), errs)
    if fs_group is not None and not 0 <= fs_group <= MAX_INT32:
        fpath = child(child(path, "securityContext"), "fsGroup")
        errs.append(invalid_value(fpath, fs_group, c.inclusive_range_error(0, MAX_INT32)))
    for i, secret in enumerate(list_at(spec, "imagePullSecrets", path, errs)):
        if not isinstance(secret, dict) or set(secret) - {"name"}:
            errs.append(
                invalid_value(index(child(path, "imagePullSecrets"), i), secret, "only name may be set")
            )
    errs.extend(_validate_dns_config(spec, dns_policy, path))
    for i, gate in enumerate(list_at(spec, "readinessGates", path, errs)):
        gpath = child(index(child(path, "readinessGates"), i), "conditionType")
        cond = gate.get("conditionType", "") if isinstance(gate, dict) else ""
        errs.extend(invalid_value(gpath, cond, m) for m in c.is_qualified_name(str(cond)))
    gates_seen: set[str] = set()
    for i, gate in enumerate(list_at(spec, "schedulingGates", path, errs)):
        gname = str(gate.get("name", "")) if isinstance(gate, dict) else ""
        gpath = index(child(path, "schedulingGates"), i)
        errs.extend(invalid_value(gpath, gname, m) for m in c.is_qualified_name(gname))
        if gname in gates_seen:
            errs.append(duplicate(gpath, gname))
        gates_seen.add(gname)
    for name, fn in (("serviceAccountName", c.is_dns1123_subdomain), ("nodeName", c.is_dns1123_subdomain)):
        value = str_at(spec, name, path, errs)
        if value:
            errs.extend(_names(value, child(path, name), fn))
    deadline = int_at(spec, "activeDeadlineSeconds", path, errs)
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        errs.append(
            invalid_value(
                child(path, "activeDeadlineSeconds"), deadline, c.inclusive_range_error(1, MAX_INT32)
            )
        )
    for name in ("hostname", "subdomain"):
        value = str_at(spec, name, path, errs)
        if value:
            errs.extend(_names(value, child(path, name), c.is_dns1123_label))
    errs.extend(validate_tolerations(list_at(spec, "tolerations", path, errs), child(path, "tolerations")))
    for i, alias in enumerate(list_at(spec, "hostAliases", path, errs)):
        apath = index(child(path, "hostAliases"), i)
        alias = alias if isinstance(alias, dict) else {}
        ip = str_at(alias, "ip", apath, errs)
        if not _valid_ip(ip):
            detail = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            errs.append(invalid_value(child(apath, "ip"), ip, detail))
        for j, hostname in enumerate(list_at(alias, "hostnames", apath, errs)):
            errs.extend(_names(str(hostname), index(child(apath, "hostnames"), j), c.is_dns1123_subdomain))
    for name in ("priorityClassName", "runtimeClassName"):
        value = str_at(spec, name, path, errs)
        if value or (name == "runtimeClassName" and spec.get(name) is not None):
            errs.extend(_names(value, child(path, name), c.is_dns1123_subdomain))
    if spec.get("preemptionPolicy") is not None:
        preemption = str_at(spec, "preemptionPolicy", path, errs)
        errs.extend(_enum(preemption, child(path, "preemptionPolicy"), ["PreemptLowerPriority", "Never"]))
    if spec.get("overhead") is not None:
        errs.extend(validate_resource_requirements({"limits": spec["overhead"]}, child(path, "overhead")))
    return errs


def validate_pod_template_spec(template: Any, path: str) -> list[FieldError]:
    """``ValidatePodTemplateSpec``; note kube reports template labels at ``<path>.labels``."""
    if template is None:
        return [required(path)]
    if not isinstance(template, dict):
        return [c.wrong_type(path, template, "object")]
    errs: Errs = []
    meta = dict_at(template, "metadata", path, errs)
    errs.extend(c.validate_labels(meta.get("labels"), child(path, "labels")))
    errs.extend(c.validate_annotations(meta.get("annotations"), child(path, "annotations")))
    spec = template.get("spec")
    errs.extend(validate_pod_spec(spec if spec is not None else {}, child(path, "spec")))
    if isinstance(spec, dict) and spec.get("ephemeralContainers"):
        detail = "ephemeral containers not allowed in pod template"
        errs.append(forbidden(child(child(path, "spec"), "ephemeralContainers"), detail))
    return errs


def _image_whitespace(spec: dict[str, Any]) -> list[FieldError]:
    errs: Errs = []
    for group in ("containers", "initContainers"):
        for i, ctr in enumerate(_as_list(spec.get(group))):
            image = ctr.get("image") if isinstance(ctr, dict) else None
            if isinstance(image, str) and image != image.strip():
                detail = "must not have leading or trailing whitespace"
                errs.append(invalid_value(f"spec.{group}[{i}].image", image, detail))
    return errs


def _spec_diff(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for k in sorted(set(old) | set(new)):
            lines.extend(_spec_diff(old.get(k), new.get(k), f"{path}.{k}" if path else k))
        return lines
    if old == new or (not old and not new and old in (None, [], {}) and new in (None, [], {})):
        return []
    return [
        f"  - {path}: {json.dumps(old, sort_keys=True)}",
        f"  + {path}: {json.dumps(new, sort_keys=True)}",
    ]


def _pod_update(spec: dict[str, Any], old_spec: dict[str, Any]) -> list[FieldError]:
    """``ValidatePodUpdate``'s immutability rules (the new spec is already validated)."""
    errs: Errs = []
    for group in ("containers", "initContainers"):
        new_c, old_c = _as_list(spec.get(group)), _as_list(old_spec.get(group))
        if len(new_c) != len(old_c):
            return [*errs, forbidden(f"spec.{group}", "pod updates may not add or remove containers")]
        for i, ctr in enumerate(new_c):
            if isinstance(ctr, dict) and not ctr.get("image"):
                errs.append(required(f"spec.{group}[{i}].image"))
    new_deadline, old_deadline = spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if isinstance(new_deadline, int):
        if not 0 <= new_deadline <= MAX_INT32:
            detail = c.inclusive_range_error(0, MAX_INT32)
            return [*errs, invalid_value("spec.activeDeadlineSeconds", new_deadline, detail)]
        if isinstance(old_deadline, int) and old_deadline < new_deadline:
            detail = "must be less than or equal to previous value"
            return [*errs, invalid_value("spec.activeDeadlineSeconds", new_deadline, detail)]
    elif old_deadline is not None:
        detail = "must not update from a positive integer to nil value"
        errs.append(invalid_value("spec.activeDeadlineSeconds", None, detail))
    new_tols = dicts(spec.get("tolerations"))
    for old_tol in dicts(old_spec.get("tolerations")):
        strip = {k: v for k, v in old_tol.items() if k != "tolerationSeconds"}
        if not any({k: v for k, v in t.items() if k != "tolerationSeconds"} == strip for t in new_tols):
            errs.append(
                forbidden(
                    "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"
                )
            )
            break
    munged = json.loads(json.dumps(spec))
    for group in ("containers", "initContainers"):
        for ctr, old_ctr in zip(_as_list(munged.get(group)), _as_list(old_spec.get(group)), strict=False):
            if isinstance(ctr, dict) and isinstance(old_ctr, dict):
                ctr["image"] = old_ctr.get("image")
    for name in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        munged.pop(name, None)
        if old_spec.get(name) is not None:
            munged[name] = old_spec[name]
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    diff = _spec_diff(old_spec, munged)
    if diff:
        detail = f"pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n" + "\n".join(diff)
        errs.append(forbidden("spec", detail))
    return errs


def validate_pod(obj: Obj, old: Obj | None) -> list[FieldError]:
    """Validator for ``v1/Pod`` (metadata is validated by the generic server)."""
    spec = obj.get("spec")
    errs = validate_pod_spec(spec if spec is not None else {}, "spec", is_pod=True)
    if not isinstance(spec, dict):
        return errs
    errs.extend(_image_whitespace(spec))
    if old is None:
        if spec.get("ephemeralContainers"):
            errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
        if spec.get("nodeName") and spec.get("schedulingGates"):
            detail = "cannot be set until all schedulingGates have been cleared"
            errs.append(forbidden("spec.nodeName", detail))
        return errs
    old_spec = old.get("spec")
    if isinstance(old_spec, dict):
        errs.extend(_pod_update(spec, old_spec))
    return errs


def validate_pod_template(obj: Obj, old: Obj | None) -> list[FieldError]:
    """Validator for ``v1/PodTemplate`` (its PodTemplateSpec sits at ``template``)."""
    return validate_pod_template_spec(obj.get("template"), "template")


VALIDATORS = {
    ("", "Pod"): validate_pod,
    ("", "PodTemplate"): validate_pod_template,
}
