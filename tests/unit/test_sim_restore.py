"""sim: a restarted sim takes over pods from their status — nothing restarts, nothing is rewritten."""

from __future__ import annotations

from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, pod, run_until

CONFIG = SimConfig(start_delay_ms=0, container_events=False)


async def test_running_pods_are_adopted_without_writes() -> None:
    c = Cluster()
    first = SimRuntime(c.pods, c.client, c.recorder, c.clock, CONFIG)
    p = pod("web", node="ferry-node-1", annotations={"sim.ferry.dev/ready-after-ms": "2000"})
    c.add(p)
    first.on_pod_add(p)
    await run_until(c, first, 30)
    c.clock.advance(100)
    second = SimRuntime(c.pods, c.client, c.recorder, c.clock, CONFIG)
    current = c.pods.get("default", "web")
    assert current is not None
    second.on_pod_add(current)
    assert await second.step() == 0 and c.take_actions() == []
    fresh = pod("new", node="ferry-node-1")
    c.add(fresh)
    second.on_pod_add(fresh)
    await second.step()
    assert c.take_actions()[0][3]["status"]["podIP"] == "10.244.0.3"  # .2 stays with the adopted pod


async def test_a_crash_looping_container_restarts_at_once_after_a_restart() -> None:
    c = Cluster()
    first = SimRuntime(c.pods, c.client, c.recorder, c.clock, CONFIG)
    p = pod("web", node="ferry-node-1", annotations={"sim.ferry.dev/crash-after-ms": "1000"})
    c.add(p)
    first.on_pod_add(p)
    writes = await run_until(c, first, 5)
    assert writes[-1][1]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    second = SimRuntime(c.pods, c.client, c.recorder, c.clock, CONFIG)
    current = c.pods.get("default", "web")
    assert current is not None
    second.on_pod_add(current)
    await second.step()
    [st] = [a[3]["status"] for a in c.take_actions()]
    assert "running" in st["containerStatuses"][0]["state"]
    assert st["containerStatuses"][0]["restartCount"] == 2
