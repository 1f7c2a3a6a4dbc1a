"""Validation of core/v1 Service, as ``ValidateService`` / ``ValidateServiceUpdate`` (kube v1.32).

Runs after defaulting and after the API server's allocator has assigned clusterIPs and
nodePorts, so ``clusterIP``/``clusterIPs`` are final here. Besides kube's validation proper, two
allocator checks users meet on a real cluster are reproduced, because ferry's allocator is simpler:
a requested nodePort outside 30000-32767 (``provided port is not in the valid range``) and
dual-stack requests on this single-stack IPv4 cluster.

The clusterIP/clusterIPs/ipFamilies rules, including the update-time normalisation that makes
``clusterIP`` immutable, live in ``clusterips.py``.
"""

from __future__ import annotations

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
from ferry.cluster.resources.validation.clusterips import (
    cluster_ip_errors,
    headless,
    normalized,
    upgrade_downgrade_errors,
)
from ferry.cluster.resources.validation.common import (
    IMMUTABLE,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    validate_labels,
)
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    as_int,
    as_str,
    dict_at,
    duplicate_go,
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
    number = int_at(port, "port", path, errs)
    if number is not None or port.get("port") is None:
        errs.extend(port_num_errors(f"{path}.port", number or 0))
    protocol = str_at(port, "protocol", path, errs)
    if not protocol:
        errs.append(required(f"{path}.protocol"))
    elif protocol not in PROTOCOLS:
        errs.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    target = port.get("targetPort")
    if isinstance(target, str):
        errs.extend(invalid_value(f"{path}.targetPort", target, m) for m in is_valid_port_name(target))
    elif is_int(target) or (target is None and port.get("port") is None):
        errs.extend(port_num_errors(f"{path}.targetPort", int(target or 0)))
    elif target is None:
        pass  # the defaulter could not copy a mistyped port; that port is reported already
    else:
        errs.append(invalid_value(f"{path}.targetPort", target, "must be an integer or a string"))
    app_protocol = opt_str_at(port, "appProtocol", path, errs)
    if app_protocol is not None:
        errs.extend(
            invalid_value(f"{path}.appProtocol", app_protocol, m) for m in is_qualified_name(app_protocol)
        )


def _type_rules(spec: dict[str, Any], svc_type: str, ips: list[str], errs: Errs) -> None:
    if svc_type in ("LoadBalancer", "NodePort") and headless(ips):
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
    if not raw_ports and not headless(ips) and svc_type != "ExternalName":
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
    cluster_ip_errors(spec, svc_type, ips, errs)
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


def validate_service(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = dict_at(obj, "spec", "", errs)
    if old is not None:
        old_spec = dict_at(old, "spec", "", [])
        spec = normalized(spec, old_spec)
        upgrade_downgrade_errors(spec, old_spec, errs)
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
