"""Validation of core/v1 Service, as ``ValidateService`` / ``ValidateServiceUpdate`` (kube v1.32).

Runs after defaulting and after the API server's allocator has assigned clusterIPs and
nodePorts, so ``clusterIP``/``clusterIPs`` are final here. Besides kube's validation proper, two
allocator checks users meet on a real cluster are reproduced, because ferry's allocator is simpler:
a requested nodePort outside 30000-32767 (``provided port is not in the valid range``) and
dual-stack requests on this single-stack IPv4 cluster.

On update kube first normalises ``clusterIPs`` from ``clusterIP`` against the stored object
(``normalizeClusterIPs``): changing only ``clusterIP`` rewrites ``clusterIPs[0]``, and the change
is then refused with ``spec.clusterIPs[0]: Invalid value: []string{"10.96.0.9"}: may not change
once set``. That is kube v1.32's wording for "clusterIP is immutable" (the pre-1.20 "field is
immutable" message no longer exists). We normalise a private copy the same way before checking.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from ferry.cluster.apiserver.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid_value,
    not_supported,
    required,
)
from ferry.cluster.resources.types import Obj
from ferry.cluster.resources.validation.common import (
    IMMUTABLE,
    invalid_go,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    validate_labels,
)
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    as_int,
    as_list,
    as_str,
    dict_at,
    duplicate_go,
    go_strings,
    int_at,
    is_int,
    list_at,
    opt_str_at,
    str_at,
    str_list_at,
)
from ferry.cluster.resources.validation.netcheck import (
    is_valid_port_name,
    port_num_errors,
    validate_ip,
    validate_non_special_ip,
)

PROTOCOLS = ["SCTP", "TCP", "UDP"]
TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
NODE_PORT_RANGE = (30000, 32767)
MAX_CLIENT_IP_TIMEOUT_SECONDS = 86400
_LB_ONLY = "may only be used when `type` is 'LoadBalancer'"
_TOPOLOGY_HINTS = "service.kubernetes.io/topology-aware-hints"
_TOPOLOGY_MODE = "service.kubernetes.io/topology-mode"


def externally_accessible(spec: dict[str, Any]) -> bool:
    """``apiservice.ExternallyAccessible``: NodePort, LoadBalancer, or ClusterIP with externalIPs."""
    svc_type = spec.get("type")
    if svc_type in ("LoadBalancer", "NodePort"):
        return True
    external = spec.get("externalIPs")
    return svc_type == "ClusterIP" and isinstance(external, list) and len(external) > 0


def _family(ip: str) -> str | None:
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return None


def _headless(ips: list[str]) -> bool:
    return len(ips) == 1 and ips[0] == "None"


def _port(port: Any, i: int, require_name: bool, names: set[str], errs: Errs) -> None:
    path = f"spec.ports[{i}]"
    name = str_at(port, "name", path, errs)
    if require_name and not name:
        errs.append(required(f"{path}.name"))
    elif name:
        errs.extend(invalid_value(f"{path}.name", name, m) for m in is_dns1123_label(name))
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
    number = int_at(port, "port", path, errs) or 0
    errs.extend(port_num_errors(f"{path}.port", number))
    protocol = str_at(port, "protocol", path, errs)
    if not protocol:
        errs.append(required(f"{path}.protocol"))
    elif protocol not in PROTOCOLS:
        errs.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    target = port.get("targetPort")
    if isinstance(target, str):
        errs.extend(invalid_value(f"{path}.targetPort", target, m) for m in is_valid_port_name(target))
    elif is_int(target) or target is None:
        errs.extend(port_num_errors(f"{path}.targetPort", int(target or 0)))
    else:
        errs.append(invalid_value(f"{path}.targetPort", target, "must be an integer or a string"))
    app_protocol = opt_str_at(port, "appProtocol", path, errs)
    if app_protocol is not None:
        errs.extend(
            invalid_value(f"{path}.appProtocol", app_protocol, m) for m in is_qualified_name(app_protocol)
        )


def _type_rules(spec: dict[str, Any], svc_type: str, ips: list[str], errs: Errs) -> None:
    if svc_type in ("LoadBalancer", "NodePort") and _headless(ips):
        errs.append(
            invalid_value("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {svc_type} services")
        )
    if svc_type != "ExternalName":
        return
    for name in ("clusterIPs", "ipFamilies"):
        if spec.get(name):
            errs.append(forbidden(f"spec.{name}", "may not be set for ExternalName services"))
    if spec.get("ipFamilyPolicy") is not None:
        errs.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
    cname = str_at(spec, "externalName", "spec", errs).removesuffix(".")
    if cname:
        errs.extend(invalid_value("spec.externalName", cname, m) for m in is_dns1123_subdomain(cname))
    else:
        errs.append(required("spec.externalName"))


def _session_affinity(spec: dict[str, Any], errs: Errs) -> None:
    affinity = str_at(spec, "sessionAffinity", "spec", errs)
    if not affinity:
        errs.append(required("spec.sessionAffinity"))
    elif affinity not in ("ClientIP", "None"):
        errs.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    config = spec.get("sessionAffinityConfig")
    when = "when session affinity type is ClientIP"
    if affinity == "ClientIP":
        client_ip = config.get("clientIP") if isinstance(config, dict) else None
        timeout = client_ip.get("timeoutSeconds") if isinstance(client_ip, dict) else None
        if not isinstance(config, dict):
            errs.append(required("spec.sessionAffinityConfig", when))
        elif not isinstance(client_ip, dict):
            errs.append(required("spec.sessionAffinityConfig.clientIP", when))
        elif timeout is None:
            errs.append(required("spec.sessionAffinityConfig.clientIP.timeoutSeconds", when))
        elif not is_int(timeout) or not 0 < timeout <= MAX_CLIENT_IP_TIMEOUT_SECONDS:
            detail = f"must be greater than 0 and less than {MAX_CLIENT_IP_TIMEOUT_SECONDS}"
            errs.append(invalid_value("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout, detail))
    elif affinity == "None" and config is not None:
        errs.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))


def _cluster_ips(spec: dict[str, Any], svc_type: str, ips: list[str], errs: Errs) -> None:
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
    if len(ips) > 1 and {_family(ip) for ip in ips} != {"IPv4", "IPv6"}:
        errs.append(
            invalid_go(
                "spec.clusterIPs", go_strings(ips), "may specify no more than one IP for each IP family"
            )
        )
    if not _headless(ips):
        for i, (ip, fam) in enumerate(zip(ips, families, strict=False)):
            want = "IPv6" if fam == "IPv6" else "IPv4"
            if fam in ("IPv4", "IPv6") and _family(ip) != want:
                detail = f"expected an {want} value as indicated by `ipFamilies[{i}]`"
                errs.append(invalid_value(f"spec.clusterIPs[{i}]", ip, detail))
    selectorless_headless = _headless(ips) and not spec.get("selector")
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


def _ports_rules(spec: dict[str, Any], svc_type: str, ports: list[dict[str, Any]], errs: Errs) -> None:
    seen_node: set[tuple[str, int]] = set()
    seen_port: set[tuple[str, int]] = set()
    lo, hi = NODE_PORT_RANGE
    for i, port in enumerate(ports):
        node_port = as_int(port.get("nodePort"))
        protocol = as_str(port.get("protocol"))
        if node_port is not None and node_port != 0:
            if svc_type == "ClusterIP":
                errs.append(
                    forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
                )
            elif not lo <= node_port <= hi:
                detail = f"provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
                errs.append(invalid_value(f"spec.ports[{i}].nodePort", node_port, detail))
            if (protocol, node_port) in seen_node:
                errs.append(duplicate(f"spec.ports[{i}].nodePort", node_port))
            seen_node.add((protocol, node_port))
    for i, port in enumerate(ports):
        protocol = as_str(port.get("protocol"))
        number = as_int(port.get("port")) or 0
        if (protocol, number) in seen_port:
            go = (
                f'core.ServicePort{{Name:"", Protocol:"{protocol}", AppProtocol:(*string)(nil), Port:{number}, '
                'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'
            )
            errs.append(duplicate_go(f"spec.ports[{i}]", go))
        seen_port.add((protocol, number))


def _load_balancer(spec: dict[str, Any], svc_type: str, errs: Errs) -> None:
    ranges = str_list_at(spec, "loadBalancerSourceRanges", "spec", errs)
    if ranges:
        if svc_type != "LoadBalancer":
            errs.append(forbidden("spec.LoadBalancerSourceRanges", _LB_ONLY))
        for i, cidr in enumerate(ranges):
            try:
                ipaddress.ip_network(cidr.strip(), strict=False)
                ok = "/" in cidr
            except ValueError:
                ok = False
            if not ok:
                detail = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
                errs.append(invalid_value(f"spec.LoadBalancerSourceRanges[{i}]", cidr.strip(), detail))
    allocate = spec.get("allocateLoadBalancerNodePorts")
    if allocate is not None and svc_type != "LoadBalancer":
        errs.append(forbidden("spec.allocateLoadBalancerNodePorts", _LB_ONLY))
    if svc_type == "LoadBalancer" and allocate is None:
        errs.append(required("allocateLoadBalancerNodePorts"))
    lb_class = opt_str_at(spec, "loadBalancerClass", "spec", errs)
    if lb_class is not None:
        if svc_type == "LoadBalancer":
            errs.extend(
                invalid_value("spec.loadBalancerClass", lb_class, m) for m in is_qualified_name(lb_class)
            )
        else:
            errs.append(forbidden("spec.loadBalancerClass", _LB_ONLY))


def _traffic(spec: dict[str, Any], svc_type: str, errs: Errs) -> None:
    etp = str_at(spec, "externalTrafficPolicy", "spec", errs)
    if not externally_accessible(spec):
        if etp:
            detail = "may only be set for externally-accessible services"
            errs.append(invalid_value("spec.externalTrafficPolicy", etp, detail))
    elif not etp:
        errs.append(required("spec.externalTrafficPolicy"))
    elif etp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    hc = int_at(spec, "healthCheckNodePort", "spec", errs) or 0
    if not (svc_type == "LoadBalancer" and etp == "Local"):
        if hc:
            detail = "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"
            errs.append(invalid_value("spec.healthCheckNodePort", hc, detail))
    elif not hc:
        errs.append(required("spec.healthCheckNodePort"))
    else:
        errs.extend(port_num_errors("spec.healthCheckNodePort", hc))
    itp = opt_str_at(spec, "internalTrafficPolicy", "spec", errs)
    if itp is None and svc_type in ("NodePort", "LoadBalancer", "ClusterIP"):
        errs.append(required("spec.internalTrafficPolicy"))
    if itp is not None and itp not in ("Cluster", "Local"):
        errs.append(not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    distribution = opt_str_at(spec, "trafficDistribution", "spec", errs)
    if distribution is not None and distribution != "PreferClose":
        errs.append(not_supported("spec.trafficDistribution", distribution, ["PreferClose"]))


def _validate(obj: Obj, spec: dict[str, Any], errs: Errs) -> None:
    annotations = dict_at(obj.get("metadata"), "annotations", "metadata", [])
    mode, hints = annotations.get(_TOPOLOGY_MODE), annotations.get(_TOPOLOGY_HINTS)
    if mode is not None and hints is not None and mode != hints:
        detail = f"must match annotations[{_TOPOLOGY_HINTS}] when both are specified"
        errs.append(invalid_value(f"metadata.annotations[{_TOPOLOGY_MODE}]", mode, detail))
    svc_type = str_at(spec, "type", "spec", errs)
    ips = str_list_at(spec, "clusterIPs", "spec", errs)
    raw_ports = list_at(spec, "ports", "spec", errs)
    if not raw_ports and not _headless(ips) and svc_type != "ExternalName":
        errs.append(required("spec.ports"))
    _type_rules(spec, svc_type, ips, errs)
    ports: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, port in enumerate(raw_ports):
        if not isinstance(port, dict):
            errs.append(invalid_value(f"spec.ports[{i}]", port, "must be an object"))
            continue
        ports.append(port)
        _port(port, i, len(raw_ports) > 1, names, errs)
    if spec.get("selector") is not None:
        errs.extend(validate_labels(spec.get("selector"), "spec.selector"))
    _session_affinity(spec, errs)
    _cluster_ips(spec, svc_type, ips, errs)
    for i, ip in enumerate(str_list_at(spec, "externalIPs", "spec", errs)):
        ip_errs = validate_ip(f"spec.externalIPs[{i}]", ip)
        errs.extend(ip_errs or validate_non_special_ip(f"spec.externalIPs[{i}]", ip))
    if not svc_type:
        errs.append(required("spec.type"))
    elif svc_type not in TYPES:
        errs.append(not_supported("spec.type", svc_type, TYPES))
    _ports_rules(spec, svc_type, ports, errs)
    _load_balancer(spec, svc_type, errs)
    _traffic(spec, svc_type, errs)


def _normalized(spec: dict[str, Any], old_spec: dict[str, Any]) -> dict[str, Any]:
    """kube's ``normalizeClusterIPs`` for an update, on a copy."""
    new = copy.deepcopy(spec)
    old_ips, new_ips = old_spec.get("clusterIPs") or [], new.get("clusterIPs") or []
    old_ip, new_ip = old_spec.get("clusterIP") or "", new.get("clusterIP") or ""
    if old_ips and not new_ips and old_ip == new_ip:
        new["clusterIPs"] = new_ips = list(old_ips)
    if old_ip != new_ip and new_ips == old_ips:
        new["clusterIPs"] = [] if (old_ip and not new_ip) else [new_ip]
    return new


def _upgrade_downgrade(spec: dict[str, Any], old_spec: dict[str, Any], errs: Errs) -> None:
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return
    new_ips = as_list(spec.get("clusterIPs"))
    old_ips = as_list(old_spec.get("clusterIPs"))
    if _headless(new_ips) and _headless(old_ips):
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


def validate_service(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = dict_at(obj, "spec", "", errs)
    if old is not None:
        old_spec = dict_at(old, "spec", "", [])
        spec = _normalized(spec, old_spec)
        _upgrade_downgrade(spec, old_spec, errs)
        both_lb = spec.get("type") == old_spec.get("type") == "LoadBalancer"
        if both_lb and spec.get("loadBalancerClass") != old_spec.get("loadBalancerClass"):
            errs.append(
                invalid_value(
                    "spec.loadBalancerClass", spec.get("loadBalancerClass"), "may not change once set"
                )
            )
        local = [
            s.get("type") == "LoadBalancer" and s.get("externalTrafficPolicy") == "Local"
            for s in (spec, old_spec)
        ]
        if all(local) and spec.get("healthCheckNodePort") != old_spec.get("healthCheckNodePort"):
            errs.append(forbidden("spec.healthCheckNodePort", IMMUTABLE))
    _validate(obj, spec, errs)
    return errs


VALIDATORS = {("", "Service"): validate_service}

__all__ = ["VALIDATORS", "externally_accessible", "validate_service"]
