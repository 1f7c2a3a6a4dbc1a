"""Recreate: scale old to 0, wait until no old pod runs, only then create the new ReplicaSet."""

from __future__ import annotations

from typing import Any

from tests.unit.deployment_world import DEPLOYMENTS, NS, PODS, REPLICASETS, World, brief, make_deployment


def pod(
    name: str, rs: dict[str, Any], phase: str = "Running", *, terminating: bool = False
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"pod-{name}",
            "labels": dict(rs["spec"]["template"]["metadata"]["labels"]),
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs["metadata"]["name"]}
                | {"uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
            ],
        },
        "status": {"phase": phase},
    }
    if terminating:
        p["metadata"]["deletionTimestamp"] = "2026-01-01T00:02:00Z"
    return p


async def started_recreate_world() -> tuple[World, dict[str, Any]]:
    world = World(make_deployment(replicas=3, strategy={"type": "Recreate"}))
    await world.sync()
    world.settle()
    await world.sync()
    old = world.rss()[0]
    for i in range(3):
        world.put(pod(f"old-{i}", old))
    world.take()
    world.clock.advance(60)
    world.edit(lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2"))
    return world, old


async def test_recreate_scales_old_down_first_and_creates_nothing() -> None:
    world, old = await started_recreate_world()
    old_name = old["metadata"]["name"]
    await world.sync()
    actions, events = world.take()
    assert brief(actions) == [
        ("update", REPLICASETS, old_name, 0),
        ("update", DEPLOYMENTS + "/status", "web", None),
    ]
    assert events == [
        ("default/web", "Normal", "ScalingReplicaSet", f"Scaled down replica set {old_name} to 0 from 3")
    ]
    assert len(world.rss()) == 1
    # Old pods still counted by the RS: wait, without writing anything.
    await world.sync_quiet()


async def test_recreate_waits_for_terminating_pods_then_creates_the_new_rs_at_full_size() -> None:
    world, old = await started_recreate_world()
    old_name = old["metadata"]["name"]
    await world.sync()
    world.take()

    # The RS controller deleted the pods: its status says 0, but two pods are still terminating.
    world.set_rs_status(old_name, replicas=0)
    world.listers[PODS].remove(NS, "old-0")
    for i in (1, 2):
        world.put(pod(f"old-{i}", old, terminating=True))
    await world.sync()
    actions, _ = world.take()
    assert brief(actions) == [("update", DEPLOYMENTS + "/status", "web", None)]  # counts only, no new RS
    assert len(world.rss()) == 1
    await world.sync_quiet()

    # The pod-delete handler fires only once the last pod of the Deployment is gone.
    world.listers[PODS].remove(NS, "old-1")
    assert world.controller.on_pod_delete(pod("old-1", old)) == []
    world.listers[PODS].remove(NS, "old-2")
    assert world.controller.on_pod_delete(pod("old-2", old)) == ["default/web"]

    await world.sync()
    actions, events = world.take()
    new_name = next(n for n in world.sizes() if n != old_name)
    assert brief(actions) == [
        ("create", REPLICASETS, new_name, 3),
        ("update", DEPLOYMENTS + "/status", "web", None),
        ("update", DEPLOYMENTS + "/status", "web", None),
    ]
    assert events == [
        ("default/web", "Normal", "ScalingReplicaSet", f"Scaled up replica set {new_name} to 3")
    ]
    await world.sync_quiet()


async def test_succeeded_and_failed_old_pods_do_not_block_recreate() -> None:
    world, old = await started_recreate_world()
    await world.sync()
    world.set_rs_status(old["metadata"]["name"], replicas=0)
    world.put(pod("old-0", old, "Succeeded"))
    world.put(pod("old-1", old, "Failed"))
    world.listers[PODS].remove(NS, "old-2")
    world.take()
    await world.sync()
    actions, _ = world.take()
    assert [a[0] for a in actions if a[1] == REPLICASETS] == ["create"]


async def test_recreate_never_shows_updated_pods_next_to_old_ones() -> None:
    world, old = await started_recreate_world()
    for _ in range(4):
        await world.sync()
        status = world.deployment()["status"]
        assert status.get("updatedReplicas", 0) == 0 or status.get("replicas", 0) == status.get(
            "updatedReplicas"
        )
        world.set_rs_status(old["metadata"]["name"], replicas=0)
        for i in range(3):
            world.listers[PODS].remove(NS, f"old-{i}")
    world.settle()
    await world.sync()
    status = world.deployment()["status"]
    assert status["updatedReplicas"] == status["replicas"] == 3
