"""A brand-new Deployment: its first ReplicaSet, exactly as kube creates it, then status."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.deployment import SyncResult
from ferry.cluster.controllers.deployment.hashing import compute_hash
from tests.unit.deployment_world import DEPLOYMENTS, NS, REPLICASETS, World, condition, make_deployment

T0 = "2026-01-01T00:00:00Z"


async def test_first_sync_creates_the_replica_set_at_full_size_then_writes_status() -> None:
    d = make_deployment(replicas=10, minReadySeconds=5, annotations={"kubernetes.io/change-cause": "first"})
    world = World(d)
    assert await world.sync() is None
    actions, events = world.take()

    pod_hash = compute_hash(d["spec"]["template"], None)
    rs_name = f"web-{pod_hash}"
    template = copy.deepcopy(d["spec"]["template"])
    template["metadata"]["labels"]["pod-template-hash"] = pod_hash
    expected_rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": rs_name,
            "namespace": NS,
            "labels": {"app": "web", "pod-template-hash": pod_hash},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "d-uid",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "annotations": {
                "kubernetes.io/change-cause": "first",
                "deployment.kubernetes.io/revision": "1",
                "deployment.kubernetes.io/desired-replicas": "10",
                "deployment.kubernetes.io/max-replicas": "13",
            },
        },
        "spec": {
            "replicas": 10,
            "minReadySeconds": 5,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": pod_hash}},
            "template": template,
        },
    }
    assert [a[:3] for a in actions] == [
        ("create", REPLICASETS, NS),
        ("update", DEPLOYMENTS + "/status", NS),
        ("update", DEPLOYMENTS + "/status", NS),
    ]
    assert actions[0][3] == expected_rs

    # The first status write: revision annotation (through /status) and Progressing=NewReplicaSetCreated.
    first = actions[1][3]
    assert first["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert first["metadata"]["generation"] == 1  # /status does not bump it
    assert first["status"]["conditions"] == [
        {
            "type": "Progressing",
            "status": "True",
            "lastUpdateTime": T0,
            "lastTransitionTime": T0,
            "reason": "NewReplicaSetCreated",
            "message": f'Created new replica set "{rs_name}"',
        }
    ]
    # The rollout status: counts from the (not yet running) RS, Available appended after Progressing.
    second = actions[2][3]
    assert second["status"] == {
        "observedGeneration": 1,
        "unavailableReplicas": 10,
        "conditions": [
            first["status"]["conditions"][0],
            {
                "type": "Available",
                "status": "False",
                "lastUpdateTime": T0,
                "lastTransitionTime": T0,
                "reason": "MinimumReplicasUnavailable",
                "message": "Deployment does not have minimum availability.",
            },
        ],
    }
    assert events == [
        ("default/web", "Normal", "ScalingReplicaSet", f"Scaled up replica set {rs_name} to 10")
    ]

    # Nothing new: no writes, and a progress check scheduled at lastUpdateTime + 600 s (+1 s).
    assert await world.sync_quiet() == SyncResult(requeue_after_seconds=601.0)


async def test_pods_becoming_available_complete_the_rollout() -> None:
    world = World(make_deployment(replicas=3))
    await world.sync()
    world.take()
    world.clock.advance(30)
    world.settle()
    assert await world.sync() is None
    actions, events = world.take()
    assert [a[1] for a in actions] == [DEPLOYMENTS + "/status"]
    d = world.deployment()
    assert d["status"] == {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "conditions": d["status"]["conditions"],
    }
    # Order by last change: Available (flipped now) then Progressing (re-set now).
    assert [c["type"] for c in d["status"]["conditions"]] == ["Available", "Progressing"]
    assert condition(d, "Progressing") == {
        "type": "Progressing",
        "status": "True",
        "lastUpdateTime": "2026-01-01T00:00:30Z",
        "lastTransitionTime": T0,  # it was already True: only the reason changed
        "reason": "NewReplicaSetAvailable",
        "message": f'ReplicaSet "{world.rss()[0]["metadata"]["name"]}" has successfully progressed.',
    }
    assert events == []
    assert await world.sync_quiet() is None  # complete: no progress check needed


async def test_an_empty_selector_selects_all_and_only_records_observed_generation() -> None:
    d = make_deployment()
    d["spec"]["selector"] = {}
    world = World(d)
    await world.sync()
    actions, events = world.take()
    assert [(a[0], a[1]) for a in actions] == [("update", DEPLOYMENTS + "/status")]
    assert actions[0][3]["status"] == {"observedGeneration": 1}
    assert events == [
        (
            "default/web",
            "Warning",
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        )
    ]
    await world.sync()
    actions, _ = world.take()
    assert actions == []  # the event repeats (kube's recorder aggregates it); nothing is written


async def test_a_deleted_deployment_is_a_no_op() -> None:
    world = World()
    assert await world.sync("gone") is None
    assert world.take() == ([], [])
