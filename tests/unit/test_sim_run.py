"""sim: the ``run(stop)`` loop registers, reacts to handler wake-ups, and stops without leaking tasks."""

from __future__ import annotations

import asyncio

from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, pod


async def test_run_registers_steps_on_wakeup_and_stops() -> None:
    c = Cluster()
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0, container_events=False)
    )
    stop = asyncio.Event()
    before = asyncio.all_tasks()
    task = asyncio.create_task(sim.run(stop))
    for _ in range(20):
        await asyncio.sleep(0)
    assert c.nodes.get(None, "ferry-node-1") is not None
    p = pod("web", node="ferry-node-1")
    c.pods.put(p)
    sim.on_pod_add(p)  # the informer's callback: wakes the loop
    for _ in range(20):
        await asyncio.sleep(0)
    written = c.pods.get("default", "web")
    assert written is not None and written["status"]["phase"] == "Running"
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == before
