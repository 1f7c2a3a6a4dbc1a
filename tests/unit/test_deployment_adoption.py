"""Claiming ReplicaSets: adopting orphans (after a live recheck), releasing ones that stopped matching (§1.2)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ferry.cluster.controllers.deployment import DeploymentSyncError
from ferry.cluster.controllers.runtime.types import ApiStatusError
from tests.unit.deployment_world import DEPLOYMENTS, NS, REPLICASETS, World, make_deployment

OWNER_REF = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "name": "web",
    "uid": "d-uid",
    "controller": True,
    "blockOwnerDeletion": True,
}


async def orphaned_world() -> tuple[World, dict[str, Any]]:
    """A Deployment deleted with --cascade=orphan: its RS remains, without an owner, and a new one appears."""
    world = World(make_deployment(replicas=2))
    await world.sync()
    world.settle()
    await world.sync()
    rs = copy.deepcopy(world.rss()[0])
    del rs["metadata"]["ownerReferences"]
    world.listers[REPLICASETS].put(rs)
    world.listers[DEPLOYMENTS].remove(NS, "web")
    world.put(make_deployment(replicas=2, uid="d2-uid"))
    world.take()
    return world, rs


async def test_an_identical_new_deployment_adopts_the_orphaned_replica_set_and_creates_none() -> None:
    world, rs = await orphaned_world()
    name = rs["metadata"]["name"]
    await world.sync()
    actions, _ = world.take()
    assert actions[0] == ("get", DEPLOYMENTS, NS, "web")  # the live recheck before the first adoption
    assert actions[1] == (
        "patch",
        REPLICASETS,
        NS,
        name,
        "strategic",
        {"metadata": {"ownerReferences": [{**OWNER_REF, "uid": "d2-uid"}], "uid": rs["metadata"]["uid"]}},
    )
    assert all(a[0] != "create" for a in actions)
    adopted = world.rs(name)
    assert adopted["metadata"]["uid"] == rs["metadata"]["uid"]
    assert adopted["metadata"]["ownerReferences"][0]["uid"] == "d2-uid"
    assert adopted["spec"]["selector"] == rs["spec"]["selector"]  # adoption never rewrites the selector
    # Everything settles without a second ReplicaSet.
    for _ in range(3):
        await world.sync()
    world.take()
    assert len(world.rss()) == 1
    await world.sync_quiet()


async def test_no_adoption_when_the_live_deployment_has_a_different_uid() -> None:
    world, _ = await orphaned_world()
    fresh = copy.deepcopy(world.deployment())
    fresh["metadata"]["uid"] = "someone-else"

    async def live_get(resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        world.client.actions.append(("get", resource, namespace, name))
        return fresh

    world.client.get = live_get  # type: ignore[method-assign]
    with pytest.raises(DeploymentSyncError, match=r"can't adopt ReplicaSet default/.*is gone"):
        await world.sync()
    actions, _ = world.take()
    assert actions == [("get", DEPLOYMENTS, NS, "web")]


async def test_an_owned_replica_set_that_no_longer_matches_is_released() -> None:
    world = World(make_deployment(replicas=2))
    await world.sync()
    rs = copy.deepcopy(world.rss()[0])
    rs["metadata"]["labels"] = {"app": "moved"}
    world.listers[REPLICASETS].put(rs)
    world.take()
    with pytest.raises(ApiStatusError):
        await world.sync()
    actions, _ = world.take()
    assert actions[0] == (
        "patch",
        REPLICASETS,
        NS,
        rs["metadata"]["name"],
        "strategic",
        {
            "metadata": {
                "uid": rs["metadata"]["uid"],
                "ownerReferences": [{"$patch": "delete", "uid": "d-uid"}],
            }
        },
    )
    # Released, the Deployment has no RS and makes one; the released RS still holds the name, so it is a
    # hash collision, and the retry creates the RS under a new name.
    assert [(a[0], a[1]) for a in actions[1:]] == [
        ("create", REPLICASETS),
        ("update", DEPLOYMENTS + "/status"),
    ]
    await world.sync()
    actions, _ = world.take()
    assert actions[0][0] == "create" and actions[0][3]["metadata"]["name"] != rs["metadata"]["name"]


async def test_replica_sets_controlled_by_someone_else_are_left_alone() -> None:
    world = World(make_deployment(replicas=1))
    other = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "other",
            "namespace": NS,
            "uid": "o",
            "labels": {"app": "web"},
            "ownerReferences": [{**OWNER_REF, "name": "x", "uid": "x-uid"}],
        },
        "spec": {"replicas": 5, "template": make_deployment()["spec"]["template"]},
    }
    world.put(other)
    await world.sync()
    actions, _ = world.take()
    assert actions[0][:2] == ("create", REPLICASETS)
    assert world.rs("other") == other


async def test_a_deployment_being_deleted_adopts_nothing_and_only_writes_status() -> None:
    world, rs = await orphaned_world()
    d = copy.deepcopy(world.deployment())
    d["metadata"]["deletionTimestamp"] = "2026-01-01T00:05:00Z"
    world.put(d)
    await world.sync()
    actions, _ = world.take()
    assert [(a[0], a[1]) for a in actions] == [("update", DEPLOYMENTS + "/status")]
    assert "ownerReferences" not in world.rs(rs["metadata"]["name"])["metadata"]
