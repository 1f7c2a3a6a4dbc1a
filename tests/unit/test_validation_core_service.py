"""Service validation: kube v1.32 paths and messages, after defaulting and allocation."""

from __future__ import annotations

import copy
from typing import Any

from ferry.cluster.apiserver.errors import invalid
from ferry.cluster.resources.defaults.core import default_service
from ferry.cluster.resources.validation.service import validate_service

DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def service(spec: dict[str, Any], *, allocate: str | None = "10.96.0.10") -> dict[str, Any]:
    """A defaulted Service, with the clusterIP the allocator would have assigned."""
    svc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
    }
    svc["spec"] = spec
    if allocate and spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
        spec["clusterIP"] = allocate
    default_service(svc)
    return svc


def errors(svc: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [e.error() for e in validate_service(svc, old)]


def test_valid_cluster_ip_service_passes() -> None:
    assert errors(service({"selector": {"app": "web"}, "ports": [{"port": 80}]})) == []


def test_ports_are_required_unless_headless_or_external_name() -> None:
    assert errors(service({})) == ["spec.ports: Required value"]
    assert errors(service({"clusterIP": "None"})) == []
    assert errors(service({"type": "ExternalName", "externalName": "db.example.com"})) == []


def test_port_names_required_when_several_unique_and_dns_labels() -> None:
    svc = service(
        {
            "ports": [
                {"port": 80, "name": "http"},
                {"port": 81, "name": "http"},
                {"port": 82},
                {"port": 83, "name": "Web"},
            ]
        }
    )
    assert errors(svc) == [
        'spec.ports[1].name: Duplicate value: "http"',
        "spec.ports[2].name: Required value",
        f'spec.ports[3].name: Invalid value: "Web": {DNS1123_LABEL_MSG}',
    ]


def test_port_range_protocol_and_target_port_rules() -> None:
    svc = service({"ports": [{"port": 0, "protocol": "ICMP", "targetPort": "8080"}]})
    assert errors(svc) == [
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
        'spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z)',
    ]
    big = service({"ports": [{"port": 65536, "targetPort": 70000}]})
    assert errors(big) == [
        "spec.ports[0].port: Invalid value: 65536: must be between 1 and 65535, inclusive",
        "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ]


def test_duplicate_port_and_protocol_pair_is_reported_with_go_struct() -> None:
    svc = service({"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]})
    assert errors(svc) == [
        'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), '
        'Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'
    ]


def test_node_port_rules() -> None:
    on_cluster_ip = service({"ports": [{"port": 80, "nodePort": 30080}]})
    assert errors(on_cluster_ip) == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
    ]
    out_of_range = service({"type": "NodePort", "ports": [{"port": 80, "nodePort": 8080}]})
    assert errors(out_of_range) == [
        "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. "
        "The range of valid ports is 30000-32767"
    ]
    dup = service(
        {
            "type": "NodePort",
            "ports": [
                {"port": 80, "name": "a", "nodePort": 30001},
                {"port": 81, "name": "b", "nodePort": 30001},
            ],
        }
    )
    assert errors(dup) == ["spec.ports[1].nodePort: Duplicate value: 30001"]


def test_type_and_selector_values() -> None:
    svc = service({"type": "Weird", "selector": {"app": "a b"}, "ports": [{"port": 80}]})
    assert errors(svc) == [
        'spec.selector: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric '
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
        "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        'spec.type: Unsupported value: "Weird": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ]


def test_external_name_must_be_a_dns_name_and_carry_no_ips() -> None:
    ok = service({"type": "ExternalName", "externalName": "db.example.com."})
    assert errors(ok) == []
    missing = service({"type": "ExternalName"})
    assert errors(missing) == ["spec.externalName: Required value"]
    with_ip = service({"type": "ExternalName", "externalName": "x.io", "clusterIP": "10.0.0.1"})
    assert errors(with_ip) == ["spec.clusterIPs: Forbidden: may not be set for ExternalName services"]


def test_headless_is_not_allowed_for_node_port_and_load_balancer() -> None:
    svc = service({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]})
    assert (
        errors(svc)[0]
        == "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"
    )


def test_cluster_ips_must_match_cluster_ip() -> None:
    svc = service({"ports": [{"port": 80}]})
    svc["spec"]["clusterIPs"] = ["10.96.0.99"]
    assert errors(svc) == [
        'spec.clusterIPs: Invalid value: []string{"10.96.0.99"}: first value must match `clusterIP`'
    ]
    bad_ip = service({"ports": [{"port": 80}], "clusterIP": "10.96.0.300"})
    assert errors(bad_ip) == [
        'spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'
    ]


def test_single_stack_cluster_refuses_dual_stack_requests() -> None:
    svc = service({"ports": [{"port": 80}], "ipFamilyPolicy": "RequireDualStack"})
    assert errors(svc) == [
        'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services'
    ]


def test_cluster_ip_is_immutable_on_update_with_kube_132_wording() -> None:
    old = service({"selector": {"app": "web"}, "ports": [{"port": 80}]})
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    assert errors(new, old) == [
        'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set'
    ]
    message = invalid("Service", "", "web", validate_service(new, old)).message
    assert (
        message
        == 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set'
    )


def test_update_from_client_that_omits_cluster_ips_keeps_them() -> None:
    old = service({"ports": [{"port": 80}]})
    new = copy.deepcopy(old)
    del new["spec"]["clusterIPs"]
    assert errors(new, old) == []


def test_session_affinity_rules() -> None:
    svc = service(
        {
            "ports": [{"port": 80}],
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}},
        }
    )
    assert errors(svc) == [
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400"
    ]
    sticky = service({"ports": [{"port": 80}], "sessionAffinity": "Sticky"})
    assert errors(sticky) == [
        'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'
    ]


def test_load_balancer_only_fields() -> None:
    svc = service(
        {"ports": [{"port": 80}], "loadBalancerSourceRanges": ["10.0.0.0/8"], "loadBalancerClass": "x.io/lb"}
    )
    assert errors(svc) == [
        "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
        "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'",
    ]
    svc = service({"ports": [{"port": 80}], "externalTrafficPolicy": "Local"})
    assert errors(svc) == [
        'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'
    ]


def test_local_load_balancer_needs_a_health_check_node_port() -> None:
    svc = service(
        {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "ports": [{"port": 80, "nodePort": 30080}]}
    )
    assert errors(svc) == ["spec.healthCheckNodePort: Required value"]
    svc["spec"]["healthCheckNodePort"] = 30555
    assert errors(svc) == []


def test_mistyped_fields_are_reported_not_raised() -> None:
    svc = {"metadata": {"name": "x"}, "spec": {"ports": "80", "type": 3, "clusterIPs": "x", "selector": []}}
    assert errors(svc) == [
        "spec.type: Invalid value: 3: must be of type string",
        'spec.clusterIPs: Invalid value: "x": must be of type array',
        'spec.ports: Invalid value: "80": must be of type array',
        "spec.ports: Required value",
        "spec.selector: Invalid value: []: must be of type object",
        "spec.sessionAffinity: Required value",
        "spec.type: Required value",
    ]


def test_mistyped_port_number_is_one_error_not_two() -> None:
    svc = service({"ports": [{"port": "80"}]})
    assert errors(svc) == ['spec.ports[0].port: Invalid value: "80": must be of type integer']
    missing = service({"ports": [{"name": "http"}]})
    assert errors(missing) == [
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
    ]
