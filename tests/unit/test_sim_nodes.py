"""sim: Node registration (or take-over), leases renewed every 10 s, node status heartbeats every 5 min."""

from __future__ import annotations

from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, node, pod


async def test_registers_nodes_and_leases() -> None:
    c = Cluster()
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(nodes=2, cpu="4", memory="8Gi", max_pods=50)
    )
    await sim.register()
    actions = c.take_actions()
    assert [a[:3] for a in actions] == [
        ("create", "v1/nodes", None),
        ("get", "coordination.k8s.io/v1/leases", "kube-node-lease"),
        ("create", "coordination.k8s.io/v1/leases", "kube-node-lease"),
        ("create", "v1/nodes", None),
        ("get", "coordination.k8s.io/v1/leases", "kube-node-lease"),
        ("create", "coordination.k8s.io/v1/leases", "kube-node-lease"),
    ]
    n1 = actions[0][3]
    assert n1["metadata"]["name"] == "ferry-node-1"
    assert n1["metadata"]["labels"]["kubernetes.io/hostname"] == "ferry-node-1"
    assert n1["spec"] == {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]}
    assert actions[3][3]["spec"]["podCIDR"] == "10.244.1.0/24"
    st = n1["status"]
    assert st["allocatable"] == st["capacity"]
    assert st["capacity"] | {} == {
        "cpu": "4",
        "memory": "8Gi",
        "ephemeral-storage": "100Gi",
        "pods": "50",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
    }
    assert [(x["type"], x["status"], x["reason"]) for x in st["conditions"]] == [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID"),
        ("Ready", "True", "KubeletReady"),
    ]
    assert st["addresses"] == [
        {"type": "InternalIP", "address": "172.18.0.2"},
        {"type": "Hostname", "address": "ferry-node-1"},
    ]
    info = st["nodeInfo"]
    assert info["containerRuntimeVersion"] == "sim://1.0" and info["kubeletVersion"].startswith("v1.32.")
    assert info["kubeletVersion"].endswith("+ferry")
    lease = actions[2][3]
    assert lease["spec"] == {
        "holderIdentity": "ferry-node-1",
        "leaseDurationSeconds": 40,
        "renewTime": "2026-01-01T00:00:00.000000Z",
    }
    assert lease["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "name": "ferry-node-1",
            "uid": c.nodes.get(None, "ferry-node-1")["metadata"]["uid"],
        }  # type: ignore[index]
    ]

    c.clock.advance(10)
    await sim.step()
    renewals = c.take_actions()
    assert [a[:3] for a in renewals] == [("update", "coordination.k8s.io/v1/leases", "kube-node-lease")] * 2
    assert renewals[0][3]["spec"]["renewTime"] == "2026-01-01T00:00:10.000000Z"
    assert renewals[0][3]["metadata"]["resourceVersion"]  # written against the lease it holds

    c.clock.advance(290)
    await sim.step()
    beats = [a[:3] for a in c.take_actions() if a[1] == "v1/nodes" or a[1] == "v1/nodes/status"]
    assert beats == [("get", "v1/nodes", None), ("update", "v1/nodes/status", None)] * 2
    n = c.nodes.get(None, "ferry-node-1")
    assert n is not None and {x["lastHeartbeatTime"] for x in n["status"]["conditions"]} == {
        "2026-01-01T00:05:00Z"
    }


async def test_takes_over_an_existing_node_and_its_pod_cidr() -> None:
    c = Cluster()
    existing = node("ferry-node-1")
    existing["spec"] = {"podCIDR": "10.244.7.0/24", "podCIDRs": ["10.244.7.0/24"]}
    c.add(existing)
    sim = SimRuntime(c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0))
    await sim.register()
    assert [a[:2] for a in c.take_actions()][:3] == [
        ("create", "v1/nodes"),
        ("get", "v1/nodes"),
        ("update", "v1/nodes/status"),
    ]
    taken = c.nodes.get(None, "ferry-node-1")
    assert taken is not None and taken["status"]["conditions"][-1]["type"] == "Ready"
    p = pod("web", node="ferry-node-1")
    c.add(p)
    sim.on_pod_add(p)
    await sim.step()
    assert c.take_actions()[0][3]["status"]["podIP"] == "10.244.7.2"


def test_node_subnets_grow_with_max_pods() -> None:
    c = Cluster()
    sim = SimRuntime(c.pods, c.client, c.recorder, c.clock, SimConfig(nodes=2, max_pods=10_000))
    assert [str(n.cidr) for n in sim.nodes.values()] == ["10.244.0.0/18", "10.244.64.0/18"]
