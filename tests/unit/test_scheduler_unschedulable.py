"""Scheduler: no node fits → PodScheduled=False/Unschedulable with kube's FitError message, and an event."""

from __future__ import annotations

from typing import Any

from ferry.cluster.controllers.scheduler import Scheduler
from tests.unit.simkit import Cluster, container, node, pod

MASTER_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def big(name: str = "big", cpu: str = "3") -> dict[str, Any]:
    return pod(name, containers=[container(resources={"requests": {"cpu": cpu, "memory": "1Gi"}})])


async def sync_once(c: Cluster, key: str = "default/big") -> Scheduler:
    s = Scheduler(c.pods, c.nodes, c.client, c.recorder, c.clock)
    await s.sync(key)
    return s


async def test_kube_message_condition_and_event_then_nothing_on_resync() -> None:
    c = Cluster()
    c.add(node("n1", cpu="2"), node("n2", taints=[MASTER_TAINT]), node("n3", taints=[MASTER_TAINT]), big())
    s = await sync_once(c)
    msg = (
        "0/3 nodes are available: 1 Insufficient cpu, "
        "2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }."
    )
    expected = pod("big")["status"] | {
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": None,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "reason": "Unschedulable",
                "message": msg,
            }
        ]
    }
    actions = c.take_actions()
    assert [a[:3] for a in actions] == [("update", "v1/pods/status", "default")]
    assert actions[0][3]["status"] == expected
    assert actions[0][3]["metadata"]["resourceVersion"] == "1"  # the precondition
    assert c.take_events() == [("default/big", "Warning", "FailedScheduling", msg)]
    await s.sync("default/big")
    assert c.take_actions() == [] and c.take_events() == []


async def test_histogram_is_sorted_as_strings_and_resources_report_every_shortage() -> None:
    c = Cluster()
    small = [node(f"s{i}", cpu="1", memory="512Mi") for i in range(10)]
    c.add(*small, node("full", pods="0"), node("off", unschedulable=True), big())
    await sync_once(c)
    cond = c.take_actions()[0][3]["status"]["conditions"][0]
    assert cond["message"] == (
        "0/12 nodes are available: 1 Too many pods, 1 node(s) were unschedulable, "
        "10 Insufficient cpu, 10 Insufficient memory."
    )


async def test_node_selector_and_no_nodes() -> None:
    c = Cluster()
    c.add(node("n1", labels={"disk": "hdd"}), pod("p", nodeSelector={"disk": "ssd"}))
    await sync_once(c, "default/p")
    msg = c.take_actions()[0][3]["status"]["conditions"][0]["message"]
    assert msg == "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    c2 = Cluster()
    c2.add(pod("p"))
    await sync_once(c2, "default/p")
    assert c2.take_events() == [
        ("default/p", "Warning", "FailedScheduling", "no nodes available to schedule pods")
    ]


async def test_a_changed_message_keeps_the_transition_time() -> None:
    c = Cluster()
    c.add(node("n1", cpu="2"), big())
    s = await sync_once(c)
    c.take_actions()
    c.clock.advance(60)
    c.add(node("n2", cpu="1"))
    await s.sync("default/big")
    cond = c.take_actions()[0][3]["status"]["conditions"][0]
    assert cond["message"] == "0/2 nodes are available: 2 Insufficient cpu."
    assert cond["lastTransitionTime"] == "2026-01-01T00:00:00Z"


async def test_host_port_conflicts() -> None:
    c = Cluster()
    ported = container(ports=[{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}])
    c.add(node("n1"), pod("a", node="n1", containers=[ported]), pod("b", containers=[ported]))
    await sync_once(c, "default/b")
    msg = c.take_actions()[0][3]["status"]["conditions"][0]["message"]
    assert msg == "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
