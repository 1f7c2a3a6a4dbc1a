"""sim: a bound pod goes ContainerCreating → Running → Ready with the kubelet's exact status."""

from __future__ import annotations

from typing import Any

from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, pod

NODE = "ferry-node-1"


def status_writes(c: Cluster) -> list[dict[str, Any]]:
    out = []
    for a in c.take_actions():
        assert a[:2] == ("update", "v1/pods/status"), a
        out.append(a[3]["status"])
    return out


def cond(type_: str, status: str, at: str, reason: str = "", message: str = "") -> dict[str, Any]:
    out = {"type": type_, "status": status, "lastProbeTime": None, "lastTransitionTime": at}
    return out | ({"reason": reason} if reason else {}) | ({"message": message} if message else {})


T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"
UNREADY = "containers with unready status: [app]"


async def test_creating_then_running_and_ready_then_quiet() -> None:
    c = Cluster()
    sim = SimRuntime(c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=1000))
    p = pod("web", node=NODE)
    c.add(p)
    assert sim.on_pod_add(p) == ["default/web"]
    assert await sim.step() == 1
    [creating] = status_writes(c)
    common = {
        "qosClass": "BestEffort",
        "hostIP": "172.18.0.2",
        "hostIPs": [{"ip": "172.18.0.2"}],
        "startTime": T0,
    }
    common |= {"podIP": "10.244.0.2", "podIPs": [{"ip": "10.244.0.2"}]}
    app = {"name": "app", "lastState": {}, "restartCount": 0, "image": "nginx:1.25"}
    assert creating == common | {
        "phase": "Pending",
        "conditions": [
            cond("PodReadyToStartContainers", "True", T0),
            cond("Initialized", "True", T0),
            cond("Ready", "False", T0, "ContainersNotReady", UNREADY),
            cond("ContainersReady", "False", T0, "ContainersNotReady", UNREADY),
            cond("PodScheduled", "True", T0),
        ],
        "containerStatuses": [
            app
            | {
                "state": {"waiting": {"reason": "ContainerCreating"}},
                "ready": False,
                "imageID": "",
                "started": False,
            }
        ],
    }
    assert await sim.step() == 0 and c.take_actions() == []
    assert sim.next_due() == 1.0

    c.clock.advance(1)
    assert await sim.step() == 1
    [running] = status_writes(c)
    [cs] = running["containerStatuses"]
    assert cs["state"] == {"running": {"startedAt": T1}} and cs["ready"] is True and cs["started"] is True
    assert cs["containerID"].startswith("sim://") and len(cs["containerID"]) == 6 + 64
    assert cs["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert running["phase"] == "Running"
    assert running["conditions"] == [
        cond("PodReadyToStartContainers", "True", T0),
        cond("Initialized", "True", T0),
        cond("Ready", "True", T1),
        cond("ContainersReady", "True", T1),
        cond("PodScheduled", "True", T0),
    ]
    assert [e[2:] for e in c.take_events()] == [
        ("Pulled", 'Container image "nginx:1.25" already present on machine'),
        ("Created", "Created container: app"),
        ("Started", "Started container app"),
    ]
    c.clock.advance(3600)
    assert await sim.step() == 0 and c.take_actions() == []


async def test_foreign_conditions_come_first_and_pods_of_other_nodes_are_ignored() -> None:
    c = Cluster()
    sim = SimRuntime(c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0))
    p = pod("web", node=NODE)
    p["status"]["conditions"].insert(0, cond("example.com/Gate", "True", T0))
    other = pod("elsewhere", node="someone-else")
    c.add(p, other)
    assert sim.on_pod_add(other) == []
    sim.on_pod_add(p)
    await sim.step()
    [st] = status_writes(c)
    assert [x["type"] for x in st["conditions"]] == [
        "example.com/Gate",
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert st["phase"] == "Running"  # no start delay: one write, straight to Running


async def test_one_write_per_pod_per_step_and_ips_are_unique() -> None:
    c = Cluster()
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(nodes=3, start_delay_ms=0, container_events=False)
    )
    pods = [pod(f"p{i}", node=f"ferry-node-{i % 3 + 1}") for i in range(300)]
    for p in pods:
        c.add(p)
        sim.on_pod_add(p)
    assert await sim.step() == 300
    writes = status_writes(c)
    assert len({(w["hostIP"], w["podIP"]) for w in writes}) == 300
    assert {w["podIP"].rsplit(".", 1)[0] for w in writes} == {"10.244.0", "10.244.1", "10.244.2"}
    assert await sim.step() == 0
