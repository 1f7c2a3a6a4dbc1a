"""Keeping the existing new ReplicaSet in step with its Deployment: annotations, minReadySeconds,
the revision annotation, and what a failed create reports (§1.3, §1.4)."""

from __future__ import annotations

import pytest

from ferry.cluster.controllers.runtime.types import ApiStatusError
from tests.unit.deployment_world import DEPLOYMENTS, REPLICASETS, World, brief, condition, make_deployment


async def running_world() -> World:
    world = World(make_deployment(replicas=2, annotations={"kubernetes.io/change-cause": "v1"}))
    await world.sync()
    world.settle()
    await world.sync()
    world.take()
    return world


async def test_a_new_deployment_annotation_is_copied_to_the_new_replica_set() -> None:
    world = await running_world()
    (name,) = world.sizes()
    world.edit(
        lambda d: d["metadata"]["annotations"].update(
            {"kubernetes.io/change-cause": "annotated", "team": "a"}
        )
    )
    await world.sync()
    actions, events = world.take()
    assert brief(actions) == [
        ("update", REPLICASETS, name, 2),
        ("update", DEPLOYMENTS + "/status", "web", None),
    ]
    annotations = actions[0][3]["metadata"]["annotations"]
    assert annotations["kubernetes.io/change-cause"] == "annotated"
    assert annotations["team"] == "a"
    assert annotations["deployment.kubernetes.io/revision"] == "1"
    assert events == []
    await world.sync_quiet()


async def test_min_ready_seconds_follows_the_deployment_without_a_new_replica_set() -> None:
    world = await running_world()
    (name,) = world.sizes()
    world.edit(lambda d: d["spec"].update(minReadySeconds=10))
    await world.sync()
    actions, _ = world.take()
    assert actions[0][:2] == ("update", REPLICASETS)
    assert actions[0][3]["spec"]["minReadySeconds"] == 10
    assert list(world.sizes()) == [name]


async def test_the_deployment_revision_annotation_is_repaired_from_the_replica_set() -> None:
    world = await running_world()
    world.edit(lambda d: d["metadata"]["annotations"].update({"deployment.kubernetes.io/revision": "7"}))
    await world.sync()
    actions, _ = world.take()
    assert actions[0][1] == DEPLOYMENTS + "/status"
    assert actions[0][3]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"


async def test_a_replica_set_that_cannot_be_created_is_reported_on_progressing_and_as_an_event() -> None:
    world = World(make_deployment(replicas=2))
    forbidden = ApiStatusError(
        {
            "code": 403,
            "reason": "Forbidden",
            "message": 'replicasets.apps "web-x" is forbidden: exceeded quota',
        }
    )
    world.client.fail[("create", REPLICASETS)] = forbidden
    with pytest.raises(ApiStatusError):
        await world.sync()
    actions, events = world.take()
    assert [(a[0], a[1]) for a in actions] == [("create", REPLICASETS), ("update", DEPLOYMENTS + "/status")]
    rs_name = actions[0][3]["metadata"]["name"]
    message = f'Failed to create new replica set "{rs_name}": {forbidden}'
    cond = condition(world.deployment(), "Progressing")
    assert cond is not None
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "ReplicaSetCreateError", message)
    assert events == [("default/web", "Warning", "ReplicaSetCreateError", message)]

    del world.client.fail[("create", REPLICASETS)]
    await world.sync()
    cond = condition(world.deployment(), "Progressing")
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "NewReplicaSetCreated")
