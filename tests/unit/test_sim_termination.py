"""sim: graceful termination — stop after min(grace, stop time), final status, DELETE(grace 0, uid)."""

from __future__ import annotations

import copy
import datetime as dt

from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, at, pod, run_until

DELETE_OPTIONS = {"gracePeriodSeconds": 0, "preconditions": {"uid": "uid-web"}}


async def running(stop_ms: int | None = None, start_ms: int = 0) -> tuple[Cluster, SimRuntime]:
    c = Cluster()
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=start_ms, container_events=False)
    )
    ann = {"sim.ferry.dev/stop-after-ms": str(stop_ms)} if stop_ms is not None else None
    p = pod("web", node="ferry-node-1", annotations=ann)
    c.add(p)
    sim.on_pod_add(p)
    await sim.step()
    c.take_actions()
    return c, sim


def delete(c: Cluster, grace: int) -> None:
    current = c.pods.get("default", "web")
    assert current is not None
    p = copy.deepcopy(current)
    when = c.clock.now() + dt.timedelta(seconds=grace)
    p["metadata"]["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    p["metadata"]["deletionGracePeriodSeconds"] = grace
    c.pods.put(p)


async def test_stops_in_time_exit_0_then_final_status_and_delete() -> None:
    c, sim = await running(stop_ms=5000)
    c.clock.advance(10)
    delete(c, 30)
    sim.on_pod_update({}, c.pods.get("default", "web") or {})
    assert await sim.step() == 0  # still running, still ready: nothing to write yet
    assert c.take_events() == [("default/web", "Normal", "Killing", "Stopping container app")]
    assert sim.next_due() == 5
    c.clock.advance(5)
    assert await sim.step() == 2
    actions = c.client.actions
    assert [a[:2] for a in actions] == [("update", "v1/pods/status"), ("delete", "v1/pods")]
    final = actions[0][3]["status"]
    assert final["phase"] == "Succeeded"
    assert final["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    assert final["containerStatuses"][0]["state"]["terminated"]["finishedAt"] == at(15)
    assert c.client.delete_options == [DELETE_OPTIONS]
    assert c.pods.get("default", "web") is None
    c.take_actions()
    assert await sim.step() == 0 and c.take_actions() == []


async def test_killed_at_the_grace_period_with_137() -> None:
    c, sim = await running(stop_ms=60_000)
    delete(c, 30)
    sim.on_pod_update({}, c.pods.get("default", "web") or {})
    writes = await run_until(c, sim, 40)
    assert [(t, s["phase"]) for t, s in writes] == [(30, "Failed")]
    term = writes[0][1]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "Error")


async def test_a_grace_period_below_two_seconds_still_gets_two() -> None:
    c, sim = await running(stop_ms=10_000)
    delete(c, 1)
    sim.on_pod_update({}, c.pods.get("default", "web") or {})
    writes = await run_until(c, sim, 5)
    assert [t for t, _ in writes] == [2]


async def test_deleted_while_creating_fails_with_unknown_status() -> None:
    c, sim = await running(start_ms=5000)
    delete(c, 30)
    sim.on_pod_update({}, c.pods.get("default", "web") or {})
    assert await sim.step() == 2
    final = c.client.actions[0][3]["status"]
    assert final["phase"] == "Failed"
    assert final["containerStatuses"][0]["state"] == {
        "terminated": {
            "exitCode": 137,
            "reason": "ContainerStatusUnknown",
            "message": "The container could not be located when the pod was terminated",
        }
    }
    assert c.client.delete_options == [DELETE_OPTIONS]


async def test_deletion_frees_the_pod_ip() -> None:
    c, sim = await running()
    gone = c.pods.get("default", "web")
    assert gone is not None
    c.pods.remove("default", "web")
    sim.on_pod_delete(gone)
    again = pod("web2", node="ferry-node-1")
    c.add(again)
    sim.on_pod_add(again)
    await sim.step()
    assert c.take_actions()[0][3]["status"]["podIP"] == "10.244.0.3"  # round-robin, like host-local IPAM
