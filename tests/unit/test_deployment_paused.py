"""Paused: template edits create nothing, scaling still works, Progressing says paused/resumed (§1.8)."""

from __future__ import annotations

from typing import Any

from tests.unit.deployment_world import DEPLOYMENTS, REPLICASETS, World, brief, condition, make_deployment


def set_paused(value: bool) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        d["spec"]["paused"] = value

    return mutate


def set_image(image: str) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image

    return mutate


async def running_world(replicas: int = 4) -> World:
    world = World(make_deployment(replicas=replicas))
    await world.sync()
    world.settle()
    await world.sync()
    world.take()
    world.clock.advance(60)
    return world


async def test_pausing_sets_progressing_unknown_and_a_template_edit_creates_nothing() -> None:
    world = await running_world()
    world.edit(set_paused(True))
    world.edit(set_image("nginx:2"))
    await world.sync()
    actions, events = world.take()
    assert [(a[0], a[1]) for a in actions] == [("update", DEPLOYMENTS + "/status")] * 2
    assert events == []
    assert len(world.rss()) == 1
    assert condition(world.deployment(), "Progressing") == {
        "type": "Progressing",
        "status": "Unknown",
        "lastUpdateTime": "2026-01-01T00:01:00Z",
        "lastTransitionTime": "2026-01-01T00:01:00Z",
        "reason": "DeploymentPaused",
        "message": "Deployment is paused",
    }
    assert world.deployment()["status"]["observedGeneration"] == 3
    world.clock.advance(3600)  # no deadline is evaluated while paused: no requeue
    assert await world.sync_quiet() is None


async def test_a_paused_deployment_still_scales() -> None:
    world = await running_world()
    world.edit(set_paused(True))
    await world.sync()
    world.take()
    world.edit(lambda d: d["spec"].update(replicas=6))
    await world.sync()
    actions, _ = world.take()
    (name,) = world.sizes()
    assert brief(actions) == [
        ("update", REPLICASETS, name, 6),
        ("update", DEPLOYMENTS + "/status", "web", None),
    ]


async def test_resuming_sets_deployment_resumed_then_the_rollout_proceeds() -> None:
    world = await running_world()
    world.edit(set_paused(True))
    world.edit(set_image("nginx:2"))
    await world.sync()
    world.take()
    world.clock.advance(5)
    world.edit(set_paused(False))
    await world.sync()
    actions, _ = world.take()
    assert [a[0] for a in actions if a[1] == REPLICASETS] == ["create", "update"]  # new RS, old scaled down
    resumed_write = actions[0][3]
    assert resumed_write["status"]["conditions"][-1]["reason"] == "DeploymentResumed"
    assert resumed_write["status"]["conditions"][-1]["message"] == "Deployment is resumed"
    # The status at the end says a new RS was created (Progressing True again).
    assert condition(world.deployment(), "Progressing")["reason"] == "NewReplicaSetCreated"
