"""Core-group Tables: Service, Endpoints, EndpointSlice, ConfigMap, Secret, Namespace, Node, SA, Event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ferry.cluster.resources.printers import PRINTERS

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(seconds: int) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return PRINTERS[(group, kind)][1](obj, NOW)


def names(group: str, kind: str) -> list[str]:
    return [c.name for c in PRINTERS[(group, kind)][0]]


def service(kind: str, status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "creationTimestamp": ago(183600)},
        "spec": {"type": kind, "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], **spec},
        "status": status or {"loadBalancer": {}},
    }


def test_service_columns() -> None:
    assert names("", "Service") == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    assert PRINTERS[("", "Service")][0][6].priority == 1


def test_cluster_ip_service() -> None:
    obj = service("ClusterIP", ports=[{"port": 80, "protocol": "TCP"}], selector={"app": "web"})
    assert row("", "Service", obj) == [
        "web",
        "ClusterIP",
        "10.96.0.10",
        "<none>",
        "80/TCP",
        "2d3h",
        "app=web",
    ]


def test_node_port_and_external_ips() -> None:
    ports = [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]
    obj = service("NodePort", ports=ports, externalIPs=["1.2.3.4", "5.6.7.8"])
    assert row("", "Service", obj)[3:5] == ["1.2.3.4,5.6.7.8", "80:30080/TCP,53/UDP"]


@pytest.mark.parametrize(
    ("ingress", "external", "expected"),
    [
        ([], [], "<pending>"),
        (
            [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.9"}],
            [],
            "203.0.113.9,lb.example.com",
        ),
        ([{"ip": "203.0.113.9"}], ["10.1.1.1"], "203.0.113.9,10.1.1.1"),
        ([], ["10.1.1.1"], "10.1.1.1"),
    ],
)
def test_load_balancer_external_ip(ingress: list[dict[str, str]], external: list[str], expected: str) -> None:
    obj = service("LoadBalancer", {"loadBalancer": {"ingress": ingress}}, externalIPs=external)
    assert row("", "Service", obj)[3] == expected


def test_external_name_headless_and_portless() -> None:
    obj = service("ExternalName", externalName="db.example.com", clusterIPs=[], clusterIP="")
    assert row("", "Service", obj)[2:5] == ["<none>", "db.example.com", "<none>"]
    headless = service("ClusterIP", clusterIPs=["None"], clusterIP="None")
    assert row("", "Service", headless)[2] == "None"
    legacy = service("ClusterIP", clusterIPs=None)  # written before clusterIPs existed
    assert row("", "Service", legacy)[2] == "10.96.0.10"
    assert row("", "Service", service(""))[3] == "<unknown>"


def endpoints(*subsets: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "web", "creationTimestamp": ago(5)}, "subsets": list(subsets)}


def test_endpoints_cells() -> None:
    assert names("", "Endpoints") == ["Name", "Endpoints", "Age"]
    assert row("", "Endpoints", endpoints()) == ["web", "<none>", "5s"]
    two = {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}]}
    assert row("", "Endpoints", endpoints(two))[1] == "10.0.0.1:80,10.0.0.2:80"
    four = {"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)], "ports": [{"port": 80}]}
    assert row("", "Endpoints", endpoints(four))[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more..."
    # Every (address, port) pair counts towards "more", across subsets.
    two_ports = {
        "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
        "ports": [{"port": 80}, {"port": 443}],
    }
    assert (
        row("", "Endpoints", endpoints(two_ports, two))[1]
        == "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 3 more..."
    )
    v6 = {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 8080}]}
    assert row("", "Endpoints", endpoints(v6))[1] == "[fd00::1]:8080"
    headless = {"addresses": [{"ip": "10.0.0.9"}]}
    assert row("", "Endpoints", endpoints(headless))[1] == "10.0.0.9"
    assert row("", "Endpoints", endpoints({"notReadyAddresses": [{"ip": "10.0.0.1"}]}))[1] == ""


def test_endpointslice_cells() -> None:
    assert names("discovery.k8s.io", "EndpointSlice") == ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    obj = {
        "metadata": {"name": "web-abcde", "creationTimestamp": ago(60)},
        "addressType": "IPv4",
        "ports": [{"port": 80, "name": "http"}, {"name": "dns"}, {}, {"port": 9090}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}],
    }
    assert row("discovery.k8s.io", "EndpointSlice", obj) == [
        "web-abcde",
        "IPv4",
        "80,dns,* + 1 more...",
        "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
        "60s",
    ]
    empty = {"metadata": {"name": "e"}, "addressType": "IPv6"}
    assert row("discovery.k8s.io", "EndpointSlice", empty)[2:4] == ["<unset>", "<unset>"]


def test_configmap_secret_namespace_serviceaccount() -> None:
    meta = {"name": "x", "creationTimestamp": ago(20)}
    assert row(
        "", "ConfigMap", {"metadata": meta, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    ) == ["x", 3, "20s"]
    assert names("", "Secret") == ["Name", "Type", "Data", "Age"]
    secret = {
        "metadata": meta,
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "", "tls.key": ""},
        "stringData": {"x": "y"},
    }
    assert row("", "Secret", secret) == ["x", "kubernetes.io/tls", 3, "20s"]
    assert row("", "Namespace", {"metadata": meta, "status": {"phase": "Terminating"}}) == [
        "x",
        "Terminating",
        "20s",
    ]
    assert row("", "ServiceAccount", {"metadata": meta, "secrets": [{"name": "t"}]}) == ["x", 1, "20s"]
    assert row("", "ServiceAccount", {"metadata": meta}) == ["x", 0, "20s"]


def node(**extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {
            "name": "n1",
            "creationTimestamp": ago(700000),
            "labels": {
                "node-role.kubernetes.io/control-plane": "",
                "node-role.kubernetes.io/": "",
                "kubernetes.io/role": "infra",
            },
        },
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.4",
                "osImage": "Debian GNU/Linux 12",
                "kernelVersion": "6.1.0",
            },
            "addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "172.18.0.2"},
            ],
        },
    }
    obj.update(extra)
    return obj


def test_node_row() -> None:
    assert names("", "Node") == [
        "Name",
        "Status",
        "Roles",
        "Age",
        "Version",
        "Internal-IP",
        "External-IP",
        "OS-Image",
        "Kernel-Version",
        "Container-Runtime",
    ]
    assert row("", "Node", node()) == [
        "n1",
        "Ready",
        "control-plane,infra",
        "8d",
        "v1.32.4",
        "172.18.0.2",
        "<none>",
        "Debian GNU/Linux 12",
        "6.1.0",
        "<unknown>",
    ]


def test_node_status_variants() -> None:
    cordoned = node(spec={"unschedulable": True})
    assert row("", "Node", cordoned)[1] == "Ready,SchedulingDisabled"
    not_ready = node()
    not_ready["status"]["conditions"] = [{"type": "Ready", "status": "Unknown"}]
    assert row("", "Node", not_ready)[1] == "NotReady"
    bare = {"metadata": {"name": "n2"}, "spec": {"unschedulable": True}}
    assert row("", "Node", bare)[1:3] == ["Unknown,SchedulingDisabled", "<none>"]


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "metadata": {"name": "web.17c0", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff",
        "type": "Warning",
        "message": "Back-off restarting failed container app in pod web-1\n",
        "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": ago(600),
        "lastTimestamp": ago(300),
        "count": 3,
    }
    base.update(fields)
    return base


def test_event_columns() -> None:
    cols = PRINTERS[("", "Event")][0]
    assert [(c.name, c.priority) for c in cols] == [
        ("Last Seen", 0),
        ("Type", 0),
        ("Reason", 0),
        ("Object", 0),
        ("Subobject", 1),
        ("Source", 1),
        ("Message", 0),
        ("First Seen", 1),
        ("Count", 1),
        ("Name", 1),
    ]
    assert cols[9].format == "name"


def test_event_row() -> None:
    assert row("", "Event", event()) == [
        "5m",
        "Warning",
        "BackOff",
        "pod/web-1",
        "spec.containers{app}",
        "kubelet, n1",
        "Back-off restarting failed container app in pod web-1",
        "10m",
        3,
        "web.17c0",
    ]


def test_event_timestamps_count_and_source_fallbacks() -> None:
    singleton = event(
        firstTimestamp=None,
        lastTimestamp=None,
        count=None,
        eventTime="2024-05-01T11:59:00.000000Z",
        source={},
        reportingComponent="default-scheduler",
        reportingInstance="",
    )
    cells = row("", "Event", singleton)
    assert (cells[0], cells[5], cells[7], cells[8]) == ("60s", "default-scheduler", "60s", 1)
    series = event(series={"count": 7, "lastObservedTime": "2024-05-01T11:59:50.000000Z"})
    assert (row("", "Event", series)[0], row("", "Event", series)[8]) == ("10s", 7)
    cluster_scoped = event(involvedObject={"kind": "Node"})
    assert row("", "Event", cluster_scoped)[3] == "node"


def test_events_k8s_io_event_uses_the_same_columns() -> None:
    obj = {
        "metadata": {"name": "web.17c0"},
        "regarding": {"kind": "Deployment", "name": "web"},
        "note": "Scaled up replica set web-5d9c to 3",
        "reason": "ScalingReplicaSet",
        "type": "Normal",
        "reportingController": "deployment-controller",
        "eventTime": "2024-05-01T11:58:00.000000Z",
        "deprecatedCount": 2,
    }
    assert PRINTERS[("events.k8s.io", "Event")][0] == PRINTERS[("", "Event")][0]
    assert row("events.k8s.io", "Event", obj) == [
        "2m",
        "Normal",
        "ScalingReplicaSet",
        "deployment/web",
        "",
        "deployment-controller",
        "Scaled up replica set web-5d9c to 3",
        "2m",
        2,
        "web.17c0",
    ]
