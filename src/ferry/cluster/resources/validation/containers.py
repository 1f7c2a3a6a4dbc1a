"""Containers and init containers of a PodSpec, and their resource requirements.

:func:`validate_containers` checks ``containers`` then ``initContainers`` in kube's order: for
each container the fields both kinds share (name, image, terminationMessagePolicy, ports, env,
envFrom, volume mounts, imagePullPolicy, resources, securityContext), then what differs
(restartPolicy; probes and lifecycle, which init containers may only have with
``restartPolicy: Always``), name uniqueness across both lists, and hostPort conflicts. Env,
probes and mounts are delegated to :mod:`.env`, :mod:`.probes` and :mod:`.volumes`.

Also here: ``ValidateContainerResourceRequirements`` (:func:`validate_resource_requirements`,
which PodSpec reuses for ``overhead``) and the securityContext subset that is checked both per
container and for the pod (:func:`validate_security_context`).
"""

from __future__ import annotations

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
from ferry.cluster.resources.validation import common as c
from ferry.cluster.resources.validation.env import validate_env, validate_env_from
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
from ferry.cluster.resources.validation.podcommon import MAX_INT32, is_valid_port_name, name_errors
from ferry.cluster.resources.validation.probes import validate_lifecycle, validate_probe
from ferry.cluster.resources.validation.volumes import validate_mounts

# ---- resources ----------------------------------------------------------------------------------


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


# ---- containers ---------------------------------------------------------------------------------


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


def validate_security_context(sc: dict[str, Any], path: str) -> list[FieldError]:
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
        errs.extend(name_errors(name, child(path, "name"), c.is_dns1123_label))
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
    errs.extend(validate_mounts(ctr, volumes, path))
    pull = str_at(ctr, "imagePullPolicy", path, errs)
    if not pull:
        errs.append(required(child(path, "imagePullPolicy")))
    elif pull not in ("Always", "IfNotPresent", "Never"):
        supported = ["Always", "IfNotPresent", "Never"]
        errs.append(not_supported(child(path, "imagePullPolicy"), pull, supported))
    errs.extend(validate_resource_requirements(ctr.get("resources"), child(path, "resources")))
    errs.extend(
        validate_security_context(dict_at(ctr, "securityContext", path, errs), child(path, "securityContext"))
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
