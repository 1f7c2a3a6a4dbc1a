"""Defaulters of the non-workload kinds: the exact fields kube-apiserver v1.32 fills in."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.resources.defaults.core import DEFAULTERS

RBAC = "rbac.authorization.k8s.io"


def run(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    DEFAULTERS[(group, kind)](obj)
    return obj


def test_namespace_gets_name_label_finalizer_and_active_phase() -> None:
    ns = run("", "Namespace", {"metadata": {"name": "team-a", "labels": {"x": "y"}}})
    assert ns == {
        "metadata": {"name": "team-a", "labels": {"x": "y", "kubernetes.io/metadata.name": "team-a"}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def test_namespace_keeps_an_explicit_empty_finalizer_list_and_phase() -> None:
    ns = run(
        "",
        "Namespace",
        {"metadata": {"name": "a"}, "spec": {"finalizers": []}, "status": {"phase": "Terminating"}},
    )
    assert ns["spec"] == {"finalizers": []}
    assert ns["status"] == {"phase": "Terminating"}


def test_namespace_without_name_gets_no_label() -> None:
    ns = run("", "Namespace", {"metadata": {"generateName": "ns-"}})
    assert ns["metadata"] == {"generateName": "ns-"}


def test_cluster_ip_service_defaults() -> None:
    svc = run(
        "",
        "Service",
        {
            "spec": {
                "selector": {"app": "web"},
                "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}],
            }
        },
    )
    assert svc == {
        "spec": {
            "selector": {"app": "web"},
            "ports": [
                {"port": 80, "protocol": "TCP", "targetPort": 80},
                {"port": 53, "protocol": "UDP", "targetPort": "dns"},
            ],
            "sessionAffinity": "None",
            "type": "ClusterIP",
            "internalTrafficPolicy": "Cluster",
            "ipFamilyPolicy": "SingleStack",
            "ipFamilies": ["IPv4"],
        },
        "status": {"loadBalancer": {}},
    }


def test_target_port_zero_or_empty_becomes_port() -> None:
    svc = run(
        "",
        "Service",
        {"spec": {"ports": [{"port": 8080, "targetPort": 0}, {"port": 9090, "targetPort": ""}]}},
    )
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == [8080, 9090]


def test_load_balancer_defaults_external_policy_and_node_port_allocation_flag() -> None:
    svc = run(
        "",
        "Service",
        {
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "lb"}]}},
        },
    )
    spec = svc["spec"]
    assert (
        spec["externalTrafficPolicy"],
        spec["allocateLoadBalancerNodePorts"],
        spec["internalTrafficPolicy"],
    ) == (
        "Cluster",
        True,
        "Cluster",
    )
    assert svc["status"]["loadBalancer"]["ingress"] == [
        {"ip": "1.2.3.4", "ipMode": "VIP"},
        {"hostname": "lb"},
    ]


def test_node_port_and_cluster_ip_with_external_ips_are_externally_accessible() -> None:
    assert run("", "Service", {"spec": {"type": "NodePort"}})["spec"]["externalTrafficPolicy"] == "Cluster"
    with_ips = run("", "Service", {"spec": {"externalIPs": ["1.2.3.4"]}})
    assert with_ips["spec"]["externalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in run("", "Service", {"spec": {}})["spec"]


def test_client_ip_affinity_gets_default_timeout_and_none_drops_config() -> None:
    svc = run("", "Service", {"spec": {"sessionAffinity": "ClientIP"}})
    assert svc["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    none = run("", "Service", {"spec": {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}}})
    assert "sessionAffinityConfig" not in none["spec"]


def test_cluster_ip_is_copied_to_cluster_ips_and_families_inferred() -> None:
    svc = run("", "Service", {"spec": {"clusterIP": "10.96.0.10"}})
    assert svc["spec"]["clusterIPs"] == ["10.96.0.10"]
    assert svc["spec"]["ipFamilies"] == ["IPv4"]


def test_headless_selectorless_service_requires_dual_stack_like_kube() -> None:
    svc = run("", "Service", {"spec": {"clusterIP": "None"}})
    assert (svc["spec"]["ipFamilyPolicy"], svc["spec"]["ipFamilies"]) == (
        "RequireDualStack",
        ["IPv4", "IPv6"],
    )
    with_selector = run("", "Service", {"spec": {"clusterIP": "None", "selector": {"a": "b"}}})
    assert (with_selector["spec"]["ipFamilyPolicy"], with_selector["spec"]["ipFamilies"]) == (
        "SingleStack",
        ["IPv4"],
    )


def test_external_name_service_gets_no_ip_fields_or_internal_policy() -> None:
    svc = run("", "Service", {"spec": {"type": "ExternalName", "externalName": "db.example.com"}})
    assert svc["spec"] == {
        "type": "ExternalName",
        "externalName": "db.example.com",
        "sessionAffinity": "None",
    }


def test_secret_type_defaults_to_opaque_and_string_data_is_merged() -> None:
    secret = run("", "Secret", {"data": {"a": "b2xk", "b": "eA=="}, "stringData": {"a": "new", "c": "ü"}})
    assert secret == {"type": "Opaque", "data": {"a": "bmV3", "b": "eA==", "c": "w7w="}}


def test_secret_string_data_that_is_not_a_string_map_is_left_for_validation() -> None:
    secret = run("", "Secret", {"stringData": {"a": 1}})
    assert secret == {"type": "Opaque", "stringData": {"a": 1}}


def test_endpoints_node_and_endpoint_slice_defaults() -> None:
    ep = run("", "Endpoints", {"subsets": [{"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}]})
    assert [p["protocol"] for p in ep["subsets"][0]["ports"]] == ["TCP", "UDP"]
    node = run("", "Node", {"status": {"capacity": {"cpu": "4", "pods": "110"}}})
    assert node["status"]["allocatable"] == {"cpu": "4", "pods": "110"}
    assert node["status"]["allocatable"] is not node["status"]["capacity"]
    eps = run("discovery.k8s.io", "EndpointSlice", {"ports": [{"port": 80}]})
    assert eps["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]


def test_ingress_class_parameters_scope_defaults_to_cluster() -> None:
    ic = run(
        "networking.k8s.io",
        "IngressClass",
        {"spec": {"controller": "a.io/b", "parameters": {"kind": "K", "name": "n"}}},
    )
    assert ic["spec"]["parameters"]["scope"] == "Cluster"


def test_role_binding_defaults_role_ref_group_and_subject_groups() -> None:
    rb = run(
        RBAC,
        "RoleBinding",
        {
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [
                {"kind": "User", "name": "u"},
                {"kind": "Group", "name": "g"},
                {"kind": "ServiceAccount", "name": "sa"},
            ],
        },
    )
    assert rb["roleRef"]["apiGroup"] == RBAC
    assert [s.get("apiGroup") for s in rb["subjects"]] == [RBAC, RBAC, None]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70000) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["spec", "status", "metadata", "data", "stringData", "type", "subsets", "ports", "roleRef", "subjects"]
)
objects = st.dictionaries(field_names, json_values, max_size=5)


@settings(max_examples=300, deadline=None)
@given(obj=objects)
def test_every_defaulter_survives_arbitrary_json_and_is_idempotent(obj: dict[str, Any]) -> None:
    for defaulter in DEFAULTERS.values():
        once = copy.deepcopy(obj)
        defaulter(once)
        twice = copy.deepcopy(once)
        defaulter(twice)
        assert twice == once, defaulter


service_specs = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName", ""]),
        "clusterIP": st.sampled_from(["", "None", "10.96.0.7", "fd00::7"]),
        "selector": st.sampled_from([{}, {"app": "x"}]),
        "sessionAffinity": st.sampled_from(["", "None", "ClientIP"]),
        "ports": st.lists(
            st.fixed_dictionaries(
                {"port": st.integers(1, 65535)},
                optional={"targetPort": st.sampled_from([0, "", "http", 8080])},
            ),
            max_size=3,
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(spec=service_specs)
def test_service_defaulting_is_idempotent(spec: dict[str, Any]) -> None:
    once = run("", "Service", {"spec": copy.deepcopy(spec)})
    assert run("", "Service", copy.deepcopy(once)) == once
    assert once["spec"]["sessionAffinity"] in ("None", "ClientIP")
    assert all(
        p["protocol"] == "TCP" and p["targetPort"] not in (0, "") for p in once["spec"].get("ports", [])
    )
