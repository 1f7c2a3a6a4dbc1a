"""revisionHistoryLimit: old, fully scaled-down ReplicaSets beyond the limit are deleted (§1.9)."""

from __future__ import annotations

from typing import Any

from tests.unit.deployment_world import NS, REPLICASETS, World, make_deployment


async def converge(world: World, rounds: int = 12) -> None:
    for _ in range(rounds):
        await world.sync()
        world.settle()


async def history(limit: int | None, images: list[str]) -> World:
    spec: dict[str, Any] = {} if limit is None else {"revisionHistoryLimit": limit}
    world = World(make_deployment(replicas=2, **spec))
    if limit is None:
        del world.deployment()["spec"]["revisionHistoryLimit"]
    await converge(world)
    for image in images:
        world.clock.advance(60)
        world.edit(lambda d, image=image: d["spec"]["template"]["spec"]["containers"][0].update(image=image))
        await converge(world)
    return world


def images(world: World) -> list[str]:
    return [rs["spec"]["template"]["spec"]["containers"][0]["image"] for rs in world.rss()]


async def test_limit_keeps_the_newest_old_replica_sets() -> None:
    world = await history(2, ["v2", "v3", "v4", "v5"])
    assert images(world) == ["v3", "v4", "v5"]  # v5 current, two old ones kept
    world.take()
    await world.sync_quiet()


async def test_limit_zero_deletes_every_scaled_down_old_replica_set() -> None:
    world = await history(0, ["v2"])
    assert images(world) == ["v2"]


async def test_no_limit_keeps_everything() -> None:
    world = await history(None, ["v2", "v3"])
    assert images(world) == ["nginx:1", "v2", "v3"]


async def test_an_old_replica_set_with_pods_or_unobserved_generation_is_not_deleted() -> None:
    world = await history(3, ["v2", "v3"])
    world.take()
    oldest = world.rss()[0]["metadata"]["name"]
    world.edit(lambda d: d["spec"].update(revisionHistoryLimit=0))
    # The oldest RS still reports a pod; the middle one has a generation its controller has not seen.
    world.set_rs_status(oldest, replicas=1, ready=0, available=0)
    middle = dict(world.rs(world.rss()[1]["metadata"]["name"]))
    middle["metadata"] = {**middle["metadata"], "generation": 5}
    world.listers[REPLICASETS].put(middle)
    await world.sync()
    actions, _ = world.take()
    assert [a for a in actions if a[0] == "delete"] == []
    world.set_rs_status(oldest, replicas=0)
    await world.sync()  # cleanup runs on the *stored* status being complete: first this status write
    actions, _ = world.take()
    assert [a[1] for a in actions] == ["apps/v1/deployments/status"]
    await world.sync()
    actions, _ = world.take()
    assert actions == [("delete", REPLICASETS, NS, oldest)]


async def test_a_paused_deployment_cleans_up_too() -> None:
    world = await history(5, ["v2", "v3"])
    world.edit(lambda d: d["spec"].update(paused=True, revisionHistoryLimit=1))
    world.take()
    await world.sync()
    actions, _ = world.take()
    assert [a[:3] for a in actions if a[0] == "delete"] == [("delete", REPLICASETS, NS)]
    assert images(world) == ["v2", "v3"]
