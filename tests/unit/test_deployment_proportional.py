"""Scaling in the middle of a rollout scales every active ReplicaSet proportionally (§1.7)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from ferry.cluster.controllers.deployment.scaling import proportion, round_half_away
from tests.unit.deployment_world import DEPLOYMENTS, REPLICASETS, World, brief, make_deployment


def scale_to(n: int) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        d["spec"]["replicas"] = n

    return mutate


async def stalled_rollout() -> tuple[World, str, str]:
    """10 replicas, surge 3, unavailable 2, new image broken: RS1=8 available, RS2=5 never available."""
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    world = World(make_deployment(replicas=10, strategy=strategy))
    await world.sync()
    world.settle()
    await world.sync()
    world.clock.advance(60)
    world.edit(lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="broken"))
    for _ in range(4):
        await world.sync()
        for rs in world.rss():
            broken = rs["spec"]["template"]["spec"]["containers"][0]["image"] == "broken"
            world.set_rs_status(rs["metadata"]["name"], ready=0 if broken else None)
    await world.sync()
    world.take()
    rs1, rs2 = (rs["metadata"]["name"] for rs in world.rss())
    assert world.sizes() == {rs1: 8, rs2: 5}
    return world, rs1, rs2


async def test_scaling_10_to_30_mid_rollout_gives_20_and_13() -> None:
    world, rs1, rs2 = await stalled_rollout()
    world.edit(scale_to(30))
    await world.sync()
    actions, events = world.take()
    assert brief(actions) == [
        ("update", REPLICASETS, rs1, 20),
        ("update", REPLICASETS, rs2, 13),
        ("update", DEPLOYMENTS + "/status", "web", None),
    ]
    for action in actions[:2]:
        annotations = action[3]["metadata"]["annotations"]
        assert annotations["deployment.kubernetes.io/desired-replicas"] == "30"
        assert annotations["deployment.kubernetes.io/max-replicas"] == "33"
    assert events == [
        ("default/web", "Normal", "ScalingReplicaSet", f"Scaled up replica set {rs1} to 20 from 8"),
        ("default/web", "Normal", "ScalingReplicaSet", f"Scaled up replica set {rs2} to 13 from 5"),
    ]
    assert world.deployment()["status"]["observedGeneration"] == 3
    await world.sync_quiet()


async def test_scaling_back_down_shrinks_both_in_proportion() -> None:
    world, rs1, rs2 = await stalled_rollout()
    world.edit(scale_to(30))
    await world.sync()
    world.edit(scale_to(10))
    world.take()
    await world.sync()
    actions, events = world.take()
    assert brief(actions)[:2] == [("update", REPLICASETS, rs1, 8), ("update", REPLICASETS, rs2, 5)]
    assert [e[3] for e in events] == [
        f"Scaled down replica set {rs1} to 8 from 20",
        f"Scaled down replica set {rs2} to 5 from 13",
    ]


async def test_scaling_to_zero_empties_every_replica_set() -> None:
    world, rs1, rs2 = await stalled_rollout()
    world.edit(scale_to(0))
    await world.sync()
    assert world.sizes() == {rs1: 0, rs2: 0}


async def test_with_one_active_replica_set_scaling_goes_straight_to_the_new_size() -> None:
    world = World(make_deployment(replicas=3))
    await world.sync()
    world.settle()
    await world.sync()
    world.take()
    world.edit(scale_to(5))
    await world.sync()
    actions, events = world.take()
    (name,) = world.sizes()
    assert brief(actions) == [
        ("update", REPLICASETS, name, 5),
        ("update", DEPLOYMENTS + "/status", "web", None),
    ]
    assert events == [
        ("default/web", "Normal", "ScalingReplicaSet", f"Scaled up replica set {name} to 5 from 3")
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Fraction(5, 2), 3), (Fraction(-5, 2), -3), (Fraction(1, 2), 1), (Fraction(3, 2), 2)],
)
def test_round_is_half_away_from_zero_not_bankers(value: Fraction, expected: int) -> None:
    assert round_half_away(value) == expected


def test_proportion_rounds_a_half_up_where_python_round_would_not() -> None:
    d = make_deployment(
        replicas=4, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    )
    rs = {
        "metadata": {"name": "a", "annotations": {"deployment.kubernetes.io/max-replicas": "2"}},
        "spec": {"replicas": 1},
    }
    # 1 * (4 + 1) / 2 = 2.5 → 3, so +2 (Python's round would give 2, so +1).
    assert proportion(rs, d, to_add=10, added=0) == 2
    assert proportion(rs, d, to_add=1, added=0) == 1  # clamped to what is left to add
