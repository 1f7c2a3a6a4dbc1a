"""A rolling update driven step by step: maxSurge and maxUnavailable hold at every moment.

The test plays the ReplicaSet controller in two half-steps per round: first pods are created or
deleted to match spec (new pods not yet available), then the new pods become available. The
Deployment controller syncs after each half-step. After every sync:

* Σ spec.replicas and Σ pods ≤ replicas + maxSurge;
* Σ available ≥ replicas - maxUnavailable;
* the sync scaled in at most one direction.
"""

from __future__ import annotations

from typing import Any

import pytest

from ferry.cluster.controllers.deployment.fenceposts import max_surge, max_unavailable
from tests.unit.deployment_world import REPLICASETS, World, brief, condition, make_deployment


def strategy(surge: Any, unavailable: Any) -> dict[str, Any]:
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


def set_image(image: str) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image

    return mutate


class Rollout:
    """The world plus the checks made after every sync."""

    def __init__(self, world: World) -> None:
        self.world = world
        d = world.deployment()
        self.replicas = d["spec"]["replicas"]
        self.ceiling = self.replicas + max_surge(d)
        self.floor = self.replicas - max_unavailable(d)
        self.steps = 0

    def check(self) -> None:
        rss = self.world.rss()
        assert sum(r["spec"]["replicas"] for r in rss) <= self.ceiling
        assert sum(r.get("status", {}).get("replicas", 0) for r in rss) <= self.ceiling
        assert sum(r.get("status", {}).get("availableReplicas", 0) for r in rss) >= self.floor

    async def sync(self) -> None:
        await self.world.sync()
        actions, _ = self.world.take()
        directions = set()
        before = {r["metadata"]["name"]: r for r in self.world.rss()}
        for verb, resource, name, size in brief(actions):
            if verb == "update" and resource == REPLICASETS and name in before and size is not None:
                directions.add("up" if size > self.last_sizes.get(name, 0) else "down")
        assert len(directions) <= 1, brief(actions)
        self.steps += 1
        self.check()

    async def run(self, *, max_rounds: int = 50) -> None:
        for _ in range(max_rounds):
            self.last_sizes = self.world.sizes()
            # Half-step 1: pods created/deleted to match spec; new pods are not yet available.
            for rs in self.world.rss():
                name, spec = rs["metadata"]["name"], rs["spec"]["replicas"]
                available = min(rs.get("status", {}).get("availableReplicas", 0), spec)
                self.world.set_rs_status(name, replicas=spec, ready=available, available=available)
            self.check()
            await self.sync()
            self.last_sizes = self.world.sizes()
            # Half-step 2: every pod is available.
            self.world.settle()
            self.check()
            await self.sync()
            d = self.world.deployment()
            if (condition(d, "Progressing") or {}).get("reason") == "NewReplicaSetAvailable" and all(
                r["spec"]["replicas"] == 0 for r in self.world.rss()[:-1]
            ):
                return
        raise AssertionError(f"no convergence: {self.world.sizes()}")


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable"),
    [
        (10, "25%", "25%"),
        (10, 0, 1),
        (10, 1, 0),
        (1, "25%", "25%"),
        (5, "100%", 0),
        (7, "30%", "30%"),
        (3, 0, "50%"),
    ],
)
async def test_rolling_update_keeps_surge_and_availability_at_every_step(
    replicas: int, surge: Any, unavailable: Any
) -> None:
    world = World(make_deployment(replicas=replicas, strategy=strategy(surge, unavailable)))
    await world.sync()
    world.settle()
    await world.sync()
    world.take()
    world.clock.advance(60)
    world.edit(set_image("nginx:2"))

    rollout = Rollout(world)
    rollout.last_sizes = world.sizes()
    await rollout.sync()  # the sync that creates the new ReplicaSet
    await rollout.run()

    old, new = world.rss()
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (0, replicas)
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    d = world.deployment()
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert d["status"]["updatedReplicas"] == d["status"]["availableReplicas"] == replicas
    assert d["status"]["observedGeneration"] == 2
    await world.sync_quiet()


async def test_the_first_step_of_a_rollout_10_replicas_25_percent() -> None:
    world = World(make_deployment(replicas=10))
    await world.sync()
    world.settle()
    await world.sync()
    world.take()
    old_name = world.rss()[0]["metadata"]["name"]
    world.clock.advance(60)
    world.edit(set_image("nginx:2"))

    await world.sync()
    actions, events = world.take()
    new_name = next(n for n in world.sizes() if n != old_name)
    # New RS at surge (13 - 10 = 3), revision on the Deployment, then old scaled down by 2 (unavailable).
    assert brief(actions) == [
        ("create", REPLICASETS, new_name, 3),
        ("update", "apps/v1/deployments/status", "web", None),
        ("update", REPLICASETS, old_name, 8),
        ("update", "apps/v1/deployments/status", "web", None),
    ]
    assert actions[2][3]["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "10"
    assert events == [
        ("default/web", "Normal", "ScalingReplicaSet", f"Scaled up replica set {new_name} to 3"),
        ("default/web", "Normal", "ScalingReplicaSet", f"Scaled down replica set {old_name} to 8 from 10"),
    ]
    # The old RS shrinking made room: the next sync grows the new RS into it (13 - 8 = 5).
    await world.sync()
    actions, events = world.take()
    assert brief(actions) == [
        ("update", REPLICASETS, new_name, 5),
        ("update", "apps/v1/deployments/status", "web", None),
    ]
    assert events == [
        ("default/web", "Normal", "ScalingReplicaSet", f"Scaled up replica set {new_name} to 5 from 3")
    ]
    # Nothing more until the ReplicaSet controller reports: the new pods are not available yet.
    result = await world.sync_quiet()
    assert result is not None and result.requeue_after_seconds == 601.0


async def test_a_new_template_that_never_becomes_available_stalls_at_8_and_5() -> None:
    """Kube's own example: 10 replicas, maxUnavailable 2, maxSurge 3, crash-looping new pods."""
    world = World(make_deployment(replicas=10, strategy=strategy(3, 2)))
    await world.sync()
    world.settle()
    await world.sync()
    world.clock.advance(60)
    world.edit(set_image("broken"))
    for _ in range(6):
        await world.sync()
        for rs in world.rss():
            name = rs["metadata"]["name"]
            broken = rs["spec"]["template"]["spec"]["containers"][0]["image"] == "broken"
            world.set_rs_status(name, ready=0 if broken else None)
    old, new = world.rss()
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (8, 5)
    world.take()
    await world.sync_quiet()
