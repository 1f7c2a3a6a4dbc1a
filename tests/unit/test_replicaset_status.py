"""Status: counters, minReadySeconds with its requeue, observedGeneration, the /status write and its retry."""

from __future__ import annotations

import pytest

from ferry.cluster.controllers.runtime.manager import SyncResult
from ferry.cluster.controllers.runtime.types import ApiStatusError
from tests.unit.replicaset_support import NS, PODS, RS, Harness, api_error, pod_obj, rs_obj


def _harness(
    *, replicas: int = 2, min_ready: int = 0, generation: int = 1, status: dict[str, object] | None = None
) -> Harness:
    h = Harness()
    rs = rs_obj(replicas=replicas, min_ready=min_ready, generation=generation, status=status)
    h.listers[RS].put(rs)
    return h


async def test_min_ready_seconds_requeues_until_ready_pods_become_available() -> None:
    h = _harness(min_ready=10)
    rs = h.rs()
    h.listers[PODS].put(pod_obj("a", h.clock, owner=rs, ready_for=5))
    h.listers[PODS].put(pod_obj("b", h.clock, owner=rs, ready_for=5))

    assert await h.sync() == SyncResult(requeue_after_seconds=10.0)
    [(verb, resource, ns, body)] = h.take_actions()
    assert (verb, resource, ns) == ("update", f"{RS}/status", NS)
    assert body["status"] == {
        "replicas": 2,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "observedGeneration": 1,
    }
    assert body["metadata"]["resourceVersion"] == "10"  # the precondition is the cached version

    h.clock.advance(5)  # ready for exactly 10 s: not yet "more than" minReadySeconds
    assert await h.sync() == SyncResult(requeue_after_seconds=10.0)  # still waiting: requeue again
    assert h.take_actions() == []

    h.clock.advance(1)
    assert await h.sync() is None
    [(_, _, _, body)] = h.take_actions()
    assert body["status"]["availableReplicas"] == 2
    assert await h.sync() is None
    assert h.take_actions() == []


async def test_no_requeue_while_some_wanted_pods_are_not_ready() -> None:
    h = _harness(min_ready=10)
    rs = h.rs()
    h.listers[PODS].put(pod_obj("a", h.clock, owner=rs, ready_for=5))
    h.listers[PODS].put(pod_obj("b", h.clock, owner=rs, ready=False))
    assert await h.sync() is None


async def test_fully_labeled_counts_pods_carrying_every_template_label() -> None:
    h = Harness()
    rs = rs_obj(replicas=2, template_labels={"app": "web", "tier": "front"})
    h.listers[RS].put(rs)
    h.listers[PODS].put(pod_obj("full", h.clock, owner=rs, labels={"app": "web", "tier": "front", "x": "y"}))
    h.listers[PODS].put(pod_obj("partial", h.clock, owner=rs, labels={"app": "web"}, ready=False))
    await h.sync()
    [(_, _, _, body)] = h.take_actions()
    assert body["status"] == {
        "replicas": 2,
        "fullyLabeledReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "observedGeneration": 1,
    }


async def test_a_new_generation_is_observed_even_when_the_counts_are_unchanged() -> None:
    h = _harness(replicas=0, generation=3, status={"replicas": 0, "observedGeneration": 2})
    await h.sync()
    [(_, _, _, body)] = h.take_actions()
    assert body["status"] == {"replicas": 0, "observedGeneration": 3}
    await h.sync()
    assert h.take_actions() == []


async def test_a_failed_status_write_is_retried_once_on_a_fresh_copy() -> None:
    h = _harness(replicas=0, generation=2, status={"replicas": 0, "observedGeneration": 1})
    h.client.fail_on[("update", RS, 1)] = api_error(409, "Conflict", "the object has been modified")
    fresh = h.rs()
    fresh = {
        **fresh,
        "metadata": {**fresh["metadata"], "resourceVersion": "42", "annotations": {"someone": "else"}},
    }
    h.listers[RS].put(fresh)  # a concurrent writer: the cached copy the controller read is now stale
    cached = rs_obj(replicas=0, generation=2, status={"replicas": 0, "observedGeneration": 1})
    h.controller.replicasets = type(h.listers[RS])([cached])
    await h.sync()
    actions = h.take_actions()
    assert [(a[0], a[1]) for a in actions] == [
        ("update", f"{RS}/status"),
        ("get", RS),
        ("update", f"{RS}/status"),
    ]
    assert actions[0][3]["metadata"]["resourceVersion"] == "10"
    retry = actions[2][3]
    assert retry["metadata"]["resourceVersion"] == "42"
    assert retry["metadata"]["annotations"] == {"someone": "else"}
    assert retry["status"] == {"replicas": 0, "observedGeneration": 2}


async def test_a_second_failed_status_write_is_raised() -> None:
    h = _harness(replicas=0, generation=2, status={"replicas": 0, "observedGeneration": 1})
    conflict = api_error(409, "Conflict", "the object has been modified")
    h.client.fail_on[("update", RS, 1)] = conflict
    h.client.fail_on[("update", RS, 2)] = conflict
    with pytest.raises(ApiStatusError):
        await h.sync()
    assert len(h.take_actions()) == 3


async def test_replica_failure_is_kept_while_failing_and_removed_after_a_good_pass() -> None:
    old_cond = {
        "type": "ReplicaFailure",
        "status": "True",
        "lastTransitionTime": "2025-12-31T00:00:00Z",
        "reason": "FailedCreate",
        "message": "old error",
    }
    h = _harness(replicas=1, status={"replicas": 0, "observedGeneration": 1, "conditions": [old_cond]})
    h.client.fail = {("create", PODS): api_error(403, "Forbidden", "quota")}
    with pytest.raises(ApiStatusError):
        await h.sync()
    assert h.take_actions()[-1][0] == "create"  # the existing condition is not rewritten: no status write

    h.client.fail = {}
    h.expectations.delete("default/web")
    await h.sync()
    actions = h.take_actions()
    assert actions[-1][3]["status"] == {"replicas": 0, "observedGeneration": 1}
