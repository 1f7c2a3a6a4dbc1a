"""Validation of networking.k8s.io/v1 Ingress and IngressClass, and discovery.k8s.io/v1 EndpointSlice.

Facts from ``pkg/apis/networking/validation`` and ``pkg/apis/discovery/validation`` (kube v1.32,
``RelaxedServiceNameValidation`` off: backend Service names are DNS-1035 labels). EndpointSlices
are written by ferry's own EndpointSlice controller, so their validation is a guard against our
own bugs as much as against clients.
"""

from __future__ import annotations

import re
from typing import Any

from ferry.cluster.apiserver.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid_value,
    not_supported,
    required,
    too_long,
    too_many,
)
from ferry.cluster.resources.types import Obj, Validator
from ferry.cluster.resources.validation.common import (
    IMMUTABLE,
    invalid_go,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_path_segment_name,
    is_qualified_name,
    regex_error,
    validate_labels,
)
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    dict_at,
    int_at,
    list_at,
    opt_str_at,
    str_at,
    str_list_at,
)
from ferry.cluster.resources.validation.netcheck import (
    is_valid_port_name,
    parse_ip,
    port_num_errors,
    validate_ipv4,
    validate_ipv6,
    validate_non_special_ip,
)

PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]
INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")
MAX_CONTROLLER_LEN = 250
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
_HTTP_PATH_FMT = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
_HTTP_PATH_RE = re.compile(_HTTP_PATH_FMT)
_WILDCARD_RE = re.compile(r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_WILDCARD_MSG = (
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must "
    "consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character"
)
_WILDCARD_FMT = r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"


def _host_errors(host: str, path: str) -> list[FieldError]:
    if "*" in host:
        msgs = [] if len(host) <= 253 else ["must be no more than 253 characters"]
        if not _WILDCARD_RE.fullmatch(host):
            msgs.append(regex_error(_WILDCARD_MSG, _WILDCARD_FMT, "*.example.com"))
        return [invalid_value(path, host, m) for m in msgs]
    return [invalid_value(path, host, m) for m in is_dns1123_subdomain(host)]


def _typed_ref(ref: dict[str, Any], path: str, errs: Errs) -> None:
    api_group = opt_str_at(ref, "apiGroup", path, errs)
    if api_group is not None:
        errs.extend(invalid_value(f"{path}.apiGroup", api_group, m) for m in is_dns1123_subdomain(api_group))
    for name in ("kind", "name"):
        value = str_at(ref, name, path, errs)
        if not value:
            errs.append(required(f"{path}.{name}"))
        else:
            errs.extend(invalid_value(f"{path}.{name}", value, m) for m in is_path_segment_name(value))


def _backend(backend: dict[str, Any], path: str, errs: Errs) -> None:
    resource, service = backend.get("resource"), backend.get("service")
    if resource is not None and service is not None:
        errs.append(invalid_value(path, "", "cannot set both resource and service backends"))
        return
    if isinstance(resource, dict):
        _typed_ref(resource, f"{path}.resource", errs)
        return
    if not isinstance(service, dict):
        errs.append(invalid_value(path, "", "resource or service backend is required"))
        return
    name = str_at(service, "name", f"{path}.service", errs)
    if not name:
        errs.append(required(f"{path}.service.name"))
    else:
        errs.extend(invalid_value(f"{path}.service.name", name, m) for m in is_dns1035_label(name))
    port = dict_at(service, "port", f"{path}.service", errs)
    port_name = str_at(port, "name", f"{path}.service.port", errs)
    number = int_at(port, "number", f"{path}.service.port", errs) or 0
    if port_name and number:
        errs.append(invalid_value(path, "", "cannot set both port name & port number"))
    elif port_name:
        errs.extend(
            invalid_value(f"{path}.service.port.name", port_name, m) for m in is_valid_port_name(port_name)
        )
    elif number:
        errs.extend(port_num_errors(f"{path}.service.port.number", number))
    else:
        errs.append(required(path, "port name or number is required"))


def _http_path(item: Any, path: str, errs: Errs) -> None:
    if not isinstance(item, dict):
        errs.append(invalid_value(path, item, "must be an object"))
        return
    path_type = opt_str_at(item, "pathType", path, errs)
    if path_type is None:
        errs.append(required(f"{path}.pathType", "pathType must be specified"))
        return
    value = str_at(item, "path", path, errs)
    if path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.append(invalid_value(f"{path}.path", value, "must be an absolute path"))
        for seq in INVALID_PATH_SEQUENCES if value else ():
            if seq in value:
                errs.append(invalid_value(f"{path}.path", value, f"must not contain '{seq}'"))
        for suffix in INVALID_PATH_SUFFIXES if value else ():
            if value.endswith(suffix):
                errs.append(invalid_value(f"{path}.path", value, f"cannot end with '{suffix}'"))
    elif path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errs.append(invalid_value(f"{path}.path", value, "must be an absolute path"))
    else:
        errs.append(not_supported(f"{path}.pathType", path_type, PATH_TYPES))
    _backend(dict_at(item, "backend", path, errs), f"{path}.backend", errs)


def _rules(spec: dict[str, Any], errs: Errs) -> None:
    for i, rule in enumerate(list_at(spec, "rules", "spec", errs)):
        path = f"spec.rules[{i}]"
        host = str_at(rule, "host", path, errs)
        if host:
            if parse_ip(host) is not None:
                errs.append(invalid_value(f"{path}.host", host, "must be a DNS name, not an IP address"))
            errs.extend(_host_errors(host, f"{path}.host"))
        http = rule.get("http") if isinstance(rule, dict) else None
        if isinstance(http, dict):
            paths = list_at(http, "paths", f"{path}.http", errs)
            if not paths:
                errs.append(required(f"{path}.http.paths"))
            for j, item in enumerate(paths):
                _http_path(item, f"{path}.http.paths[{j}]", errs)


def validate_ingress(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = dict_at(obj, "spec", "", errs)
    rules = spec.get("rules")
    if not rules and spec.get("defaultBackend") is None:
        go = "[]networking.IngressRule{}" if isinstance(rules, list) else "[]networking.IngressRule(nil)"
        errs.append(invalid_go("spec", go, "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        _backend(dict_at(spec, "defaultBackend", "spec", errs), "spec.defaultBackend", errs)
    _rules(spec, errs)
    for i, tls in enumerate(list_at(spec, "tls", "spec", errs)):
        path = f"spec.tls[{i}]"
        for j, host in enumerate(str_list_at(tls, "hosts", path, errs)):
            errs.extend(_host_errors(host, f"{path}.hosts[{j}]"))
        secret = str_at(tls, "secretName", path, errs)
        if secret:
            errs.extend(invalid_value(f"{path}.secretName", secret, m) for m in is_dns1123_subdomain(secret))
    class_name = opt_str_at(spec, "ingressClassName", "spec", errs)
    if class_name is not None:
        errs.extend(
            invalid_value("spec.ingressClassName", class_name, m) for m in is_dns1123_subdomain(class_name)
        )
    annotations = dict_at(obj.get("metadata"), "annotations", "metadata", [])
    annotated = annotations.get(INGRESS_CLASS_ANNOTATION)
    if old is None and annotated is not None and class_name is not None and annotated != class_name:
        detail = "must match `ingressClassName` when both are specified"
        errs.append(invalid_value(f"annotations.{INGRESS_CLASS_ANNOTATION}", annotated, detail))
    return errs


def _controller(controller: str, errs: Errs) -> None:
    path = "spec.controller"
    if not controller:
        errs.append(required(path))
        return
    if len(controller) > MAX_CONTROLLER_LEN:
        errs.append(too_long(path, MAX_CONTROLLER_LEN))
    host, sep, rest = controller.partition("/")
    if not sep or not host or not rest:
        errs.append(invalid_value(path, controller, 'must be a domain-prefixed path (such as "acme.io/foo")'))
        return
    errs.extend(invalid_value(path, host, m) for m in is_dns1123_subdomain(host))
    if not _HTTP_PATH_RE.fullmatch(rest):
        errs.append(invalid_value(path, rest, regex_error("Invalid path", _HTTP_PATH_FMT)))


def validate_ingress_class(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = dict_at(obj, "spec", "", errs)
    controller = str_at(spec, "controller", "spec", errs)
    if old is not None:
        old_controller = dict_at(old, "spec", "", []).get("controller") or ""
        if controller != old_controller:
            errs.append(invalid_value("spec.controller", controller, IMMUTABLE))
    _controller(controller, errs)
    if spec.get("parameters") is None:
        return errs
    params = dict_at(spec, "parameters", "spec", errs)
    path = "spec.parameters"
    _typed_ref(params, path, errs)
    scope = opt_str_at(params, "scope", path, errs)
    namespace = opt_str_at(params, "namespace", path, errs)
    if scope is None:
        errs.append(required(f"{path}.scope"))
    elif scope not in ("Cluster", "Namespace"):
        errs.append(not_supported(f"{path}.scope", scope, ["Cluster", "Namespace"]))
    elif scope == "Namespace":
        if namespace is None:
            errs.append(required(f"{path}.namespace", "`parameters.scope` is set to 'Namespace'"))
        else:
            errs.extend(invalid_value(f"{path}.namespace", namespace, m) for m in is_dns1123_label(namespace))
    elif namespace is not None:
        errs.append(forbidden(f"{path}.namespace", "`parameters.scope` is set to 'Cluster'"))
    return errs


def _fqdn_errors(path: str, name: str) -> list[FieldError]:
    if not name:
        return [required(path)]
    name = name.removesuffix(".")
    if msgs := is_dns1123_subdomain(name):
        return [invalid_value(path, name, ",".join(msgs))]
    if len(name.split(".")) < 2:
        return [invalid_value(path, name, "should be a domain with at least two segments separated by dots")]
    for label in name.split("."):
        if msgs := is_dns1123_label(label):
            return [invalid_value(path, label, ",".join(msgs))]
    return []


def _endpoint(ep: Any, path: str, address_type: str, errs: Errs) -> None:
    if not isinstance(ep, dict):
        errs.append(invalid_value(path, ep, "must be an object"))
        return
    addresses = str_list_at(ep, "addresses", path, errs)
    if not addresses:
        errs.append(required(f"{path}.addresses", "must contain at least 1 address"))
    elif len(addresses) > 100:
        errs.append(too_many(f"{path}.addresses", len(addresses), 100))
    for j, address in enumerate(addresses):
        apath = f"{path}.addresses[{j}]"
        if address_type == "IPv4":
            errs.extend(validate_ipv4(apath, address) + validate_non_special_ip(apath, address))
        elif address_type == "IPv6":
            errs.extend(validate_ipv6(apath, address) + validate_non_special_ip(apath, address))
        elif address_type == "FQDN":
            errs.extend(_fqdn_errors(apath, address))
    node_name = opt_str_at(ep, "nodeName", path, errs)
    if node_name is not None:
        errs.extend(invalid_value(f"{path}.nodeName", node_name, m) for m in is_dns1123_subdomain(node_name))
    topology = ep.get("deprecatedTopology")
    if isinstance(topology, dict) and len(topology) > 16:
        errs.append(too_many(f"{path}.deprecatedTopology", len(topology), 16))
    errs.extend(validate_labels(topology, f"{path}.deprecatedTopology"))
    hostname = opt_str_at(ep, "hostname", path, errs)
    if hostname is not None:
        errs.extend(invalid_value(f"{path}.hostname", hostname, m) for m in is_dns1123_label(hostname))


def validate_endpoint_slice(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    address_type = str_at(obj, "addressType", "", errs)
    valid = ["FQDN", "IPv4", "IPv6"] + (["IP"] if old is not None else [])
    if not address_type:
        errs.append(required("addressType"))
    elif address_type not in valid:
        errs.append(not_supported("addressType", address_type, sorted(valid)))
    endpoints = list_at(obj, "endpoints", "", errs)
    if len(endpoints) > 1000:
        errs.append(too_many("endpoints", len(endpoints), 1000))
    else:
        for i, ep in enumerate(endpoints):
            _endpoint(ep, f"endpoints[{i}]", address_type, errs)
    ports = list_at(obj, "ports", "", errs)
    if len(ports) > 100:
        errs.append(too_many("ports", len(ports), 100))
        ports = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        path = f"ports[{i}]"
        name = str_at(port, "name", path, errs)
        if name:
            errs.extend(invalid_value(f"{path}.name", name, m) for m in is_dns1123_label(name))
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        names.add(name)
        protocol = opt_str_at(port, "protocol", path, errs)
        if protocol is None:
            errs.append(required(f"{path}.protocol"))
        elif protocol not in ("SCTP", "TCP", "UDP"):
            errs.append(not_supported(f"{path}.protocol", protocol, ["SCTP", "TCP", "UDP"]))
        app_protocol = opt_str_at(port, "appProtocol", path, errs)
        if app_protocol is not None:
            errs.extend(
                invalid_value(f"{path}.appProtocol", app_protocol, m) for m in is_qualified_name(app_protocol)
            )
    if old is not None and address_type != (old.get("addressType") or ""):
        errs.append(invalid_value("addressType", address_type, IMMUTABLE))
    return errs


VALIDATORS: dict[tuple[str, str], Validator] = {
    ("networking.k8s.io", "Ingress"): validate_ingress,
    ("networking.k8s.io", "IngressClass"): validate_ingress_class,
    ("discovery.k8s.io", "EndpointSlice"): validate_endpoint_slice,
}

__all__ = ["VALIDATORS", "validate_endpoint_slice", "validate_ingress", "validate_ingress_class"]
