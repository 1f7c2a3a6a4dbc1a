"""Ingress, IngressClass and EndpointSlice validation (kube v1.32 paths and messages)."""

from __future__ import annotations

from typing import Any

from ferry.cluster.resources.defaults.core import default_endpoint_slice, default_ingress_class
from ferry.cluster.resources.validation.networking import (
    validate_endpoint_slice,
    validate_ingress,
    validate_ingress_class,
)

DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def msgs(errs: list[Any]) -> list[str]:
    return [e.error() for e in errs]


def ingress(spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", **meta}, "spec": spec}


def path(p: str = "/", path_type: str | None = "Prefix", **backend: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "path": p,
        "backend": backend or {"service": {"name": "web", "port": {"number": 80}}},
    }
    if path_type is not None:
        item["pathType"] = path_type
    return item


def rules(*paths: dict[str, Any], host: str = "web.example.com") -> dict[str, Any]:
    return {"rules": [{"host": host, "http": {"paths": list(paths)}}]}


def test_valid_ingress_passes() -> None:
    spec = rules(path("/"), path("/api", "Exact"))
    spec["tls"] = [{"hosts": ["web.example.com", "*.example.com"], "secretName": "web-tls"}]
    spec["ingressClassName"] = "nginx"
    assert validate_ingress(ingress(spec), None) == []


def test_ingress_needs_rules_or_default_backend() -> None:
    assert msgs(validate_ingress(ingress({}), None)) == [
        "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"
    ]
    assert (
        validate_ingress(
            ingress({"defaultBackend": {"service": {"name": "web", "port": {"name": "http"}}}}), None
        )
        == []
    )


def test_ingress_path_rules() -> None:
    spec = rules(
        path("api", "Prefix"),
        path("/a//b", "Exact"),
        path("/x", None),
        path("/y", "Regex"),
        path("/z/.", "Prefix"),
    )
    assert msgs(validate_ingress(ingress(spec), None)) == [
        'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path',
        "spec.rules[0].http.paths[1].path: Invalid value: \"/a//b\": must not contain '//'",
        "spec.rules[0].http.paths[2].pathType: Required value: pathType must be specified",
        'spec.rules[0].http.paths[3].pathType: Unsupported value: "Regex": supported values: "Exact", '
        '"ImplementationSpecific", "Prefix"',
        "spec.rules[0].http.paths[4].path: Invalid value: \"/z/.\": cannot end with '/.'",
    ]


def test_ingress_backend_rules() -> None:
    spec = rules(
        path("/a", service={"name": "Web", "port": {"number": 80}}),
        path("/b", service={"name": "web", "port": {"number": 80, "name": "http"}}),
        path("/c", service={"name": "web", "port": {}}),
        path("/d", service={"name": "web", "port": {"number": 70000}}),
        path("/e", resource={"kind": "Bucket", "name": "b"}, service={"name": "x", "port": {"number": 1}}),
    )
    assert msgs(validate_ingress(ingress(spec), None)) == [
        f'spec.rules[0].http.paths[0].backend.service.name: Invalid value: "Web": {DNS1035_MSG}',
        'spec.rules[0].http.paths[1].backend: Invalid value: "": cannot set both port name & port number',
        "spec.rules[0].http.paths[2].backend: Required value: port name or number is required",
        "spec.rules[0].http.paths[3].backend.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.rules[0].http.paths[4].backend: Invalid value: "": cannot set both resource and service backends',
    ]


def test_ingress_host_must_not_be_an_ip_and_class_annotation_must_agree() -> None:
    spec = rules(path("/"), host="10.0.0.1")
    spec["ingressClassName"] = "nginx"
    obj = ingress(spec, annotations={"kubernetes.io/ingress.class": "traefik"})
    assert msgs(validate_ingress(obj, None)) == [
        'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
        'annotations.kubernetes.io/ingress.class: Invalid value: "traefik": must match `ingressClassName` when both are specified',
    ]


def test_ingress_class_controller_and_parameters() -> None:
    ic: dict[str, Any] = {
        "spec": {"controller": "example.com/ingress", "parameters": {"kind": "Params", "name": "p"}}
    }
    default_ingress_class(ic)
    assert validate_ingress_class(ic, None) == []
    bad = {"spec": {"controller": "nginx", "parameters": {"kind": "P", "name": "p", "scope": "Namespace"}}}
    assert msgs(validate_ingress_class(bad, None)) == [
        'spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")',
        "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'",
    ]
    changed = {"spec": {"controller": "example.com/other"}}
    assert msgs(validate_ingress_class(changed, ic)) == [
        'spec.controller: Invalid value: "example.com/other": field is immutable'
    ]


def slice_(address_type: str = "IPv4", **extra: Any) -> dict[str, Any]:
    eps: dict[str, Any] = {
        "addressType": address_type,
        "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}, "nodeName": "node-1"}],
        "ports": [{"name": "http", "port": 8080}],
    }
    eps.update(extra)
    default_endpoint_slice(eps)
    return eps


def test_valid_endpoint_slice_passes() -> None:
    assert validate_endpoint_slice(slice_(), None) == []


def test_endpoint_slice_address_rules() -> None:
    eps = slice_(endpoints=[{"addresses": []}, {"addresses": ["fd00::1"]}, {"addresses": ["0.0.0.0"]}])
    assert msgs(validate_endpoint_slice(eps, None)) == [
        "endpoints[0].addresses: Required value: must contain at least 1 address",
        'endpoints[1].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address',
        'endpoints[2].addresses[0]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
    ]
    assert msgs(validate_endpoint_slice(slice_("IP"), None)) == [
        'addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'
    ]


def test_endpoint_slice_ports_and_limits() -> None:
    eps = slice_(ports=[{"name": "http", "port": 80}, {"name": "http", "port": 81, "protocol": "ICMP"}])
    assert msgs(validate_endpoint_slice(eps, None)) == [
        'ports[1].name: Duplicate value: "http"',
        'ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    ]
    many = slice_(endpoints=[{"addresses": [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(101)]}])
    assert msgs(validate_endpoint_slice(many, None)) == [
        "endpoints[0].addresses: Too many: 101: must have at most 100 items"
    ]


def test_endpoint_slice_address_type_is_immutable() -> None:
    old = slice_()
    new = slice_("FQDN", endpoints=[{"addresses": ["web.example.com"]}])
    assert msgs(validate_endpoint_slice(new, old)) == [
        'addressType: Invalid value: "FQDN": field is immutable'
    ]
