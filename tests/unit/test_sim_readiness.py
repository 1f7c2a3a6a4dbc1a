"""sim: readiness per behaviour (ready-after, never-ready by annotation or image tag, probe delay, gates)."""

from __future__ import annotations

from typing import Any

from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, at, cond, container, pod, run_until


async def drive(p: dict[str, Any], seconds: float) -> list[tuple[float, dict[str, Any]]]:
    c = Cluster()
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0, container_events=False)
    )
    c.add(p)
    sim.on_pod_add(p)
    return await run_until(c, sim, seconds)


def ready_of(status: dict[str, Any]) -> dict[str, Any]:
    return next(x for x in status["conditions"] if x["type"] == "Ready")


async def test_ready_after_ms() -> None:
    writes = await drive(
        pod("web", node="ferry-node-1", annotations={"sim.ferry.dev/ready-after-ms": "5000"}), 60
    )
    assert [(t, s["containerStatuses"][0]["ready"]) for t, s in writes] == [(0, False), (5, True)]
    assert ready_of(writes[-1][1]) == cond("Ready", "True", at(5))


async def test_never_ready_by_annotation_or_image_tag() -> None:
    for p in (
        pod("a", node="ferry-node-1", annotations={"sim.ferry.dev/never-ready": "true"}),
        pod("b", node="ferry-node-1", containers=[container(image="example/api:2.0-never-ready")]),
    ):
        writes = await drive(p, 3600)
        assert len(writes) == 1 and writes[0][1]["phase"] == "Running"
        assert writes[0][1]["containerStatuses"][0]["started"] is True
        assert writes[0][1]["containerStatuses"][0]["ready"] is False


async def test_readiness_probe_initial_delay_is_the_default() -> None:
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 3, "periodSeconds": 10}
    writes = await drive(pod("web", node="ferry-node-1", containers=[container(readinessProbe=probe)]), 60)
    assert [(t, s["containerStatuses"][0]["ready"]) for t, s in writes] == [(0, False), (3, True)]


async def test_readiness_gates() -> None:
    p = pod("web", node="ferry-node-1", readinessGates=[{"conditionType": "example.com/lb"}])
    [(_, st)] = await drive(p, 10)
    assert ready_of(st) == cond(
        "Ready",
        "False",
        at(0),
        "ReadinessGatesNotReady",
        'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
    )
    assert next(x for x in st["conditions"] if x["type"] == "ContainersReady")["status"] == "True"
    p["status"]["conditions"].append(cond("example.com/lb", "False", at(0)))
    [(_, st)] = await drive(p, 10)
    assert (
        ready_of(st)["message"]
        == 'the status of pod readiness gate "example.com/lb" is not "True", but False'
    )
    p["status"]["conditions"][-1]["status"] = "True"
    [(_, st)] = await drive(p, 10)
    assert ready_of(st)["status"] == "True"


async def test_one_of_two_containers_unready_is_named() -> None:
    p = pod(
        "web",
        node="ferry-node-1",
        containers=[container("b-sidecar"), container("a-main", image="app:never-ready")],
    )
    [(_, st)] = await drive(p, 10)
    assert ready_of(st)["message"] == "containers with unready status: [a-main]"
    assert [cs["name"] for cs in st["containerStatuses"]] == ["a-main", "b-sidecar"]  # sorted by name
