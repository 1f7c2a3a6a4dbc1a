"""Creating the new ReplicaSet when its name is taken: our own RS (stale cache) or a hash collision (§1.3)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ferry.cluster.controllers.deployment.hashing import compute_hash
from ferry.cluster.controllers.runtime.fakes import FakeLister
from ferry.cluster.controllers.runtime.types import ApiStatusError
from tests.unit.deployment_world import DEPLOYMENTS, NS, REPLICASETS, World, make_deployment


def foreign_rs(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": NS, "uid": "foreign", "labels": {"app": "other"}},
        "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "other"}}, "spec": {}}},
    }


async def test_a_hash_collision_bumps_collision_count_and_the_retry_uses_a_new_name() -> None:
    d = make_deployment(replicas=2)
    taken = f"web-{compute_hash(d['spec']['template'], None)}"
    world = World(d, foreign_rs(taken))
    with pytest.raises(ApiStatusError) as raised:
        await world.sync()
    assert raised.value.already_exists
    actions, events = world.take()
    assert [(a[0], a[1]) for a in actions] == [("create", REPLICASETS), ("update", DEPLOYMENTS + "/status")]
    assert actions[0][3]["metadata"]["name"] == taken
    assert actions[1][3]["status"] == {"collisionCount": 1}
    assert events == []

    await world.sync()
    actions, _ = world.take()
    retry_name = f"web-{compute_hash(d['spec']['template'], 1)}"
    assert retry_name != taken
    assert (actions[0][0], actions[0][3]["metadata"]["name"]) == ("create", retry_name)
    assert world.deployment()["status"]["collisionCount"] == 1  # kept in every later status write
    assert world.rs(taken)["metadata"]["uid"] == "foreign"  # the other RS is untouched


class StaleList(FakeLister):
    """A cache whose list has not caught up yet with one object that ``get`` already returns."""

    def __init__(self, hidden: set[str]) -> None:
        super().__init__()
        self.hidden = hidden

    def list(self, namespace: str | None = None, predicate: Callable[[Any], bool] | None = None) -> list[Any]:
        return [o for o in super().list(namespace, predicate) if o["metadata"]["name"] not in self.hidden]


async def test_already_exists_for_our_own_replica_set_uses_it() -> None:
    world = World(make_deployment(replicas=2))
    await world.sync()
    created = copy.deepcopy(world.rss()[0])
    name = created["metadata"]["name"]

    # Replay the situation of a restart right after the create: the RS exists, the list misses it,
    # and the Deployment status does not mention it yet.
    stale = StaleList({name})
    stale.put(created)
    world.listers[REPLICASETS] = stale
    world.client.listers[REPLICASETS] = stale
    world.controller.replicasets = stale
    d = copy.deepcopy(world.deployment())
    d["status"] = {}
    d["metadata"]["annotations"] = {}
    world.put(d)
    world.take()

    await world.sync()
    actions, events = world.take()
    assert [(a[0], a[1]) for a in actions] == [
        ("create", REPLICASETS),
        ("update", DEPLOYMENTS + "/status"),  # revision only: no NewReplicaSetCreated for an existing RS
        ("update", DEPLOYMENTS + "/status"),
    ]
    first = actions[1][3]
    assert first["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
    assert "conditions" not in first.get("status", {})
    assert events == []  # no "Scaled up" for an RS this sync did not create
    assert world.deployment()["status"].get("collisionCount") is None


async def test_a_collision_count_of_zero_is_kept_because_it_changes_the_hash() -> None:
    d = make_deployment(replicas=1, status={"collisionCount": 0})
    world = World(d)
    await world.sync()
    actions, _ = world.take()
    assert actions[0][3]["metadata"]["name"] == f"web-{compute_hash(d['spec']['template'], 0)}"
    assert compute_hash(d["spec"]["template"], 0) != compute_hash(d["spec"]["template"], None)
    assert all(a[3]["status"]["collisionCount"] == 0 for a in actions[1:])
