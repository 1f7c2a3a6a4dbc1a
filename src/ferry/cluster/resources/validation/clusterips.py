"""Service IP fields: ``clusterIP``/``clusterIPs``/``ipFamilies``/``ipFamilyPolicy`` rules.

Facts from ``ValidateServiceClusterIPsRelatedFields``, ``validateUpgradeDowngradeClusterIPs`` and
the service REST's ``normalizeClusterIPs`` (kube v1.32), plus two checks of the IP allocator for a
single-stack IPv4 cluster (``this cluster is not configured for dual-stack services``,
``not configured on this cluster``), because ferry's allocator does not make them.

Why the update path normalises first: kube rewrites ``clusterIPs`` from ``clusterIP`` against the
stored object before validating, so changing only ``clusterIP`` surfaces as
``spec.clusterIPs[0]: Invalid value: []string{"10.96.0.9"}: may not change once set``. That is
v1.32's wording for "clusterIP is immutable"; the pre-1.20 ``field is immutable`` message no
longer exists. :func:`normalized` does it on a copy, never on the object being written.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from ferry.cluster.apiserver.errors import duplicate, invalid_value, not_supported, required
from ferry.cluster.resources.validation.common import invalid_go
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    as_list,
    go_strings,
    opt_str_at,
    str_at,
    str_list_at,
)
from ferry.cluster.resources.validation.netcheck import validate_ip


def ip_family(ip: str) -> str | None:
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return None


def headless(ips: list[str]) -> bool:
    return len(ips) == 1 and ips[0] == "None"


def cluster_ip_errors(spec: dict[str, Any], svc_type: str, ips: list[str], errs: Errs) -> None:
    """``ValidateServiceClusterIPsRelatedFields`` plus the single-stack allocator checks."""
    if svc_type == "ExternalName":
        return
    cluster_ip = str_at(spec, "clusterIP", "spec", errs)
    if cluster_ip and not ips:
        errs.append(required("spec.clusterIPs"))
    elif cluster_ip and ips[0] != cluster_ip:
        errs.append(invalid_go("spec.clusterIPs", go_strings(ips), "first value must match `clusterIP`"))
    elif not cluster_ip and ips:
        errs.append(
            invalid_go("spec.clusterIPs", go_strings(ips), "must be empty when `clusterIP` is not specified")
        )
    families = str_list_at(spec, "ipFamilies", "spec", errs)
    for i, fam in enumerate(families):
        if fam not in ("IPv4", "IPv6"):
            errs.append(not_supported(f"spec.ipFamilies[{i}]", fam, ["IPv4", "IPv6"]))
        if fam in families[:i]:
            errs.append(duplicate(f"spec.ipFamilies[{i}]", fam))
    policy = opt_str_at(spec, "ipFamilyPolicy", "spec", errs)
    policies = ["PreferDualStack", "RequireDualStack", "SingleStack"]
    if policy is not None and policy not in policies:
        errs.append(not_supported("spec.ipFamilyPolicy", policy, policies))
    bad_ips = False
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                bad_ips = True
                errs.append(
                    invalid_go("spec.clusterIPs", go_strings(ips), "'None' must be the first and only value")
                )
            continue
        ip_errs = validate_ip(f"spec.clusterIPs[{i}]", ip)
        bad_ips = bad_ips or bool(ip_errs)
        errs.extend(ip_errs)
    if len(ips) > 2:
        errs.append(invalid_go("spec.clusterIPs", go_strings(ips), "may only hold up to 2 values"))
    if bad_ips:
        return
    if len(ips) > 1 and {ip_family(ip) for ip in ips} != {"IPv4", "IPv6"}:
        errs.append(
            invalid_go(
                "spec.clusterIPs", go_strings(ips), "may specify no more than one IP for each IP family"
            )
        )
    if not headless(ips):
        for i, (ip, fam) in enumerate(zip(ips, families, strict=False)):
            want = "IPv6" if fam == "IPv6" else "IPv4"
            if fam in ("IPv4", "IPv6") and ip_family(ip) != want:
                detail = f"expected an {want} value as indicated by `ipFamilies[{i}]`"
                errs.append(invalid_value(f"spec.clusterIPs[{i}]", ip, detail))
    selectorless_headless = headless(ips) and not spec.get("selector")
    if policy == "RequireDualStack" and not selectorless_headless:
        errs.append(
            invalid_value(
                "spec.ipFamilyPolicy", policy, "this cluster is not configured for dual-stack services"
            )
        )
    if not selectorless_headless:
        for i, fam in enumerate(families):
            if fam == "IPv6":
                errs.append(invalid_value(f"spec.ipFamilies[{i}]", fam, "not configured on this cluster"))


def normalized(spec: dict[str, Any], old_spec: dict[str, Any]) -> dict[str, Any]:
    """kube's ``normalizeClusterIPs`` for an update, on a copy."""
    new = copy.deepcopy(spec)
    old_ips, new_ips = old_spec.get("clusterIPs") or [], new.get("clusterIPs") or []
    old_ip, new_ip = old_spec.get("clusterIP") or "", new.get("clusterIP") or ""
    if old_ips and not new_ips and old_ip == new_ip:
        new["clusterIPs"] = new_ips = list(old_ips)
    if old_ip != new_ip and new_ips == old_ips:
        new["clusterIPs"] = [] if (old_ip and not new_ip) else [new_ip]
    return new


def upgrade_downgrade_errors(spec: dict[str, Any], old_spec: dict[str, Any], errs: Errs) -> None:
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return
    new_ips = as_list(spec.get("clusterIPs"))
    old_ips = as_list(old_spec.get("clusterIPs"))
    if headless(new_ips) and headless(old_ips):
        return
    changed = "may not change once set"
    if len(old_ips) == len(new_ips):
        for i, ip in enumerate(old_ips):
            if ip != new_ips[i]:
                errs.append(invalid_go(f"spec.clusterIPs[{i}]", go_strings(new_ips), changed))
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(
                invalid_go("spec.clusterIPs[0]", go_strings(new_ips), "primary clusterIP can not be unset")
            )
        elif new_ips[0] != old_ips[0]:
            errs.append(invalid_go("spec.clusterIPs[0]", go_strings(new_ips), changed))
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid_go("spec.clusterIPs[0]", go_strings(new_ips), changed))


__all__ = ["cluster_ip_errors", "headless", "ip_family", "normalized", "upgrade_downgrade_errors"]
