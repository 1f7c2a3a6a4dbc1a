"""PodSpec and PodTemplateSpec, and the rules for updating a Pod.

:func:`validate_pod_spec` is ``ValidatePodSpec``: terminationGracePeriodSeconds, the volumes
(whose valid subset the containers' mounts resolve against), the containers and the hostNetwork
port rule, then the pod-level fields: restart and DNS policies, nodeSelector, securityContext,
imagePullSecrets, DNS config, readiness and scheduling gates, names, tolerations, host aliases,
priority/runtime class, preemption policy and overhead. :func:`validate_pod_template_spec` wraps it for a template (used
by :mod:`.pods` for PodTemplate and by :mod:`.workloads` for every ``spec.template``).

:func:`validate_pod_update` is ``ValidatePodUpdate``'s immutability rule, applied to a spec that
has already been validated: only the fields listed in :data:`UPDATABLE_POD_FIELDS` may change,
and the error shows the rest of the difference.
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
from ferry.cluster.resources.validation import common as c
from ferry.cluster.resources.validation.containers import (
    validate_containers,
    validate_resource_requirements,
    validate_security_context,
)
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    as_list,
    bool_at,
    child,
    dict_at,
    dicts,
    index,
    int_at,
    list_at,
    str_at,
)
from ferry.cluster.resources.validation.podcommon import MAX_INT32, name_errors
from ferry.cluster.resources.validation.volumes import validate_volumes

UPDATABLE_POD_FIELDS = ",".join(
    [
        "`spec.containers[*].image`",
        "`spec.initContainers[*].image`",
        "`spec.activeDeadlineSeconds`",
        "`spec.tolerations` (only additions to existing tolerations)",
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    ]
)


# ---- PodSpec ------------------------------------------------------------------------------------


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
    errs.extend(validate_security_context(sc, child(path, "securityContext")))
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
            errs.extend(name_errors(value, child(path, name), fn))
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
            errs.extend(name_errors(value, child(path, name), c.is_dns1123_label))
    errs.extend(validate_tolerations(list_at(spec, "tolerations", path, errs), child(path, "tolerations")))
    for i, alias in enumerate(list_at(spec, "hostAliases", path, errs)):
        apath = index(child(path, "hostAliases"), i)
        alias = alias if isinstance(alias, dict) else {}
        ip = str_at(alias, "ip", apath, errs)
        if not _valid_ip(ip):
            detail = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            errs.append(invalid_value(child(apath, "ip"), ip, detail))
        for j, hostname in enumerate(list_at(alias, "hostnames", apath, errs)):
            errs.extend(
                name_errors(str(hostname), index(child(apath, "hostnames"), j), c.is_dns1123_subdomain)
            )
    for name in ("priorityClassName", "runtimeClassName"):
        value = str_at(spec, name, path, errs)
        if value or (name == "runtimeClassName" and spec.get(name) is not None):
            errs.extend(name_errors(value, child(path, name), c.is_dns1123_subdomain))
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


# ---- Pod updates --------------------------------------------------------------------------------


def image_whitespace_errors(spec: dict[str, Any]) -> list[FieldError]:
    errs: Errs = []
    for group in ("containers", "initContainers"):
        for i, ctr in enumerate(as_list(spec.get(group))):
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


def validate_pod_update(spec: dict[str, Any], old_spec: dict[str, Any]) -> list[FieldError]:
    """``ValidatePodUpdate``'s immutability rules (the new spec is already validated)."""
    errs: Errs = []
    for group in ("containers", "initContainers"):
        new_c, old_c = as_list(spec.get(group)), as_list(old_spec.get(group))
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
        for ctr, old_ctr in zip(as_list(munged.get(group)), as_list(old_spec.get(group)), strict=False):
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
