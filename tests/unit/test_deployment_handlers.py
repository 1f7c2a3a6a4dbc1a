"""Event handlers: which Deployment keys each watch event enqueues (§1.1 triggers)."""

from __future__ import annotations

import copy
from typing import Any

from tests.unit.deployment_world import NS, World, make_deployment

KEY = "default/web"


def rs(
    name: str = "web-abc", *, owner_uid: str | None = "d-uid", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": NS,
        "uid": f"uid-{name}",
        "resourceVersion": "5",
        "labels": {"app": "web"} if labels is None else labels,
    }
    if owner_uid is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "web",
                "uid": owner_uid,
                "controller": True,
            }
        ]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": {"replicas": 1}}


def pod(name: str, owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"uid-{name}",
            "labels": {"app": "web"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "status": {"phase": "Running"},
    }


def test_deployment_events_enqueue_the_deployment() -> None:
    d = make_deployment()
    c = World(d).controller
    assert c.on_deployment_add(d) == [KEY]
    assert c.on_deployment_update(d, d) == [KEY]
    assert c.on_deployment_delete(d) == [KEY]


def test_replica_set_events_enqueue_the_controlling_deployment_only_if_the_uid_matches() -> None:
    c = World(make_deployment()).controller
    assert c.on_replicaset_add(rs()) == [KEY]
    assert c.on_replicaset_delete(rs()) == [KEY]
    assert c.on_replicaset_add(rs(owner_uid="another-generation-of-web")) == []


def test_an_orphan_enqueues_every_deployment_whose_selector_matches() -> None:
    empty = make_deployment("all")
    empty["spec"]["selector"] = {}
    c = World(make_deployment(), make_deployment("api", uid="api-uid"), empty).controller
    assert c.on_replicaset_add(rs(owner_uid=None)) == [KEY]  # "api" selects app=api; {} selects nothing here
    assert c.on_replicaset_add(rs(owner_uid=None, labels={})) == []
    assert c.on_replicaset_delete(rs(owner_uid=None)) == []  # nobody cares about a deleted orphan


def test_a_replica_set_being_deleted_is_handled_as_a_delete() -> None:
    c = World(make_deployment()).controller
    deleting = rs(owner_uid=None)
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert c.on_replicaset_add(deleting) == []


def test_replica_set_updates() -> None:
    c = World(make_deployment(), make_deployment("api", uid="api-uid")).controller
    old = rs()
    assert c.on_replicaset_update(old, copy.deepcopy(old)) == []  # resync: same resourceVersion
    cur = copy.deepcopy(old)
    cur["metadata"]["resourceVersion"] = "6"
    assert c.on_replicaset_update(old, cur) == [KEY]
    # Ownership moved from web to api: both are told.
    moved = copy.deepcopy(cur)
    moved["metadata"]["ownerReferences"][0].update(name="api", uid="api-uid")
    assert c.on_replicaset_update(old, moved) == [KEY, "default/api"]
    # An orphan whose labels changed: the Deployments that now match may adopt it.
    orphan_old, orphan_new = (
        rs(owner_uid=None, labels={"app": "x"}),
        rs(owner_uid=None, labels={"app": "api"}),
    )
    orphan_new["metadata"]["resourceVersion"] = "6"
    assert c.on_replicaset_update(orphan_old, orphan_new) == ["default/api"]


def test_pod_deletes_matter_only_to_a_recreate_deployment_with_no_pods_left() -> None:
    recreate = make_deployment(strategy={"type": "Recreate"})
    owner = rs()
    world = World(recreate, owner, pod("p1", owner), pod("p2", owner))
    c = world.controller
    world.listers["v1/pods"].remove(NS, "p1")
    assert c.on_pod_delete(pod("p1", owner)) == []  # p2 still there
    world.listers["v1/pods"].remove(NS, "p2")
    assert c.on_pod_delete(pod("p2", owner)) == [KEY]

    rolling = World(make_deployment(), owner).controller
    assert rolling.on_pod_delete(pod("p1", owner)) == []


def test_handlers_are_registered_per_resource() -> None:
    c = World().controller
    handlers = c.handlers()
    assert set(handlers) == {"apps/v1/deployments", "apps/v1/replicasets", "v1/pods"}
    assert handlers["v1/pods"].on_add is None and handlers["v1/pods"].on_delete is not None
