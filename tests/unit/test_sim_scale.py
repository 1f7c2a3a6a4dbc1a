"""sim at scale: one write per pod per step however many transitions, bounded concurrency, no task per pod."""

from __future__ import annotations

import asyncio
from typing import Any

from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, OptionsClient, pod


class SlowClient(OptionsClient):
    """Yields to the loop inside every status write and records how many were in flight at once."""

    inflight = 0
    peak = 0

    async def update(self, resource: str, namespace: str | None, body: Obj, *, subresource: str = "") -> Obj:
        self.inflight += 1
        self.peak = max(self.peak, self.inflight)
        for _ in range(3):
            await asyncio.sleep(0)
        self.inflight -= 1
        return await super().update(resource, namespace, body, subresource=subresource)


async def test_a_thousand_pods_three_steps_one_write_each() -> None:
    c = Cluster()
    cfg = SimConfig(nodes=10, start_delay_ms=500, container_events=False)
    sim = SimRuntime(c.pods, c.client, c.recorder, c.clock, cfg)
    tasks_before = len(asyncio.all_tasks())
    for i in range(1000):
        p = pod(
            f"p{i}", node=f"ferry-node-{i % 10 + 1}", annotations={"sim.ferry.dev/ready-after-ms": "1000"}
        )
        c.pods.put(p)
        sim.on_pod_add(p)
    phases: list[Any] = []
    for advance in (0, 0.5, 1.0):
        c.clock.advance(advance)
        assert await sim.step() == 1000
        statuses = [a[3]["status"] for a in c.take_actions()]
        phases.append({(s["phase"], s["containerStatuses"][0]["ready"]) for s in statuses})
    assert phases == [{("Pending", False)}, {("Running", False)}, {("Running", True)}]
    assert len(asyncio.all_tasks()) == tasks_before  # nothing left running per pod
    c.clock.advance(3600)
    assert await sim.step() == 0


async def test_writes_of_a_step_run_concurrently_up_to_the_limit() -> None:
    c = Cluster()
    c.client = SlowClient(c.listers, c.clock)
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0, max_inflight_writes=8)
    )
    for i in range(100):
        p = pod(f"p{i}", node="ferry-node-1")
        c.pods.put(p)
        sim.on_pod_add(p)
    assert await sim.step() == 100
    assert c.client.peak == 8
