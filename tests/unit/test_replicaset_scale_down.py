"""Scale down: deletes with default options, expectations per pod key, failed and NotFound deletes."""

from __future__ import annotations

import pytest

from ferry.cluster.controllers.replicaset import PodControlError
from tests.unit.replicaset_support import KEY, NS, PODS, RS, Harness, api_error, pod_obj, rs_obj, verbs


def _harness(n_pods: int, replicas: int) -> Harness:
    h = Harness()
    rs = rs_obj(
        replicas=replicas,
        status={
            "replicas": n_pods,
            "fullyLabeledReplicas": n_pods,
            "readyReplicas": n_pods,
            "availableReplicas": n_pods,
            "observedGeneration": 1,
        },
    )
    h.listers[RS].put(rs)
    for i in range(n_pods):
        # p0 is the newest, so the ranking deletes p0, p1, ... in that order.
        h.listers[PODS].put(pod_obj(f"p{i}", h.clock, owner=rs, created_ago=10 * 4**i, ready_for=5 * 4**i))
    h.deliver()
    return h


async def test_deletes_the_surplus_and_then_reports_it() -> None:
    h = _harness(5, 2)
    assert await h.sync() is None
    assert h.take_actions() == [
        ("delete", PODS, NS, "p0"),
        ("delete", PODS, NS, "p1"),
        ("delete", PODS, NS, "p2"),
    ]
    assert h.take_events() == [
        (KEY, "Normal", "SuccessfulDelete", "Deleted pod: p0"),
        (KEY, "Normal", "SuccessfulDelete", "Deleted pod: p1"),
        (KEY, "Normal", "SuccessfulDelete", "Deleted pod: p2"),
    ]
    assert h.expectations.get_uids(KEY) == {"default/p0", "default/p1", "default/p2"}
    assert not h.expectations.satisfied(KEY)

    h.deliver()
    assert h.expectations.satisfied(KEY)
    await h.sync()
    [(verb, resource, _, body)] = h.take_actions()
    assert (verb, resource) == ("update", f"{RS}/status")
    assert body["status"] == {
        "replicas": 2,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "observedGeneration": 1,
    }
    h.deliver()
    await h.sync()
    assert h.take_actions() == []


async def test_scaling_to_zero_deletes_every_pod_in_listed_order_without_ranking() -> None:
    h = _harness(3, 0)
    await h.sync()
    assert [a[3] for a in h.take_actions()] == ["p0", "p1", "p2"]


async def test_a_failed_delete_raises_sets_failed_delete_and_lowers_that_expectation() -> None:
    h = _harness(4, 1)
    h.client.fail_on[("delete", PODS, 2)] = api_error(500, "InternalError", "etcd is sad")
    with pytest.raises(PodControlError, match="unable to delete pods: etcd is sad"):
        await h.sync()
    actions = h.take_actions()
    assert verbs(actions) == [("delete", PODS)] * 3 + [("update", f"{RS}/status")]
    cond = actions[-1][3]["status"]["conditions"]
    assert cond == [
        {
            "type": "ReplicaFailure",
            "status": "True",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
            "reason": "FailedDelete",
            "message": "unable to delete pods: etcd is sad",
        }
    ]
    assert h.take_events() == [
        (KEY, "Normal", "SuccessfulDelete", "Deleted pod: p0"),
        (KEY, "Warning", "FailedDelete", "Error deleting: etcd is sad"),
        (KEY, "Normal", "SuccessfulDelete", "Deleted pod: p2"),
    ]
    # p1 will never disappear through this request: only p0 and p2 are still awaited.
    assert h.expectations.get_uids(KEY) == {"default/p0", "default/p2"}
    h.deliver()
    assert h.expectations.satisfied(KEY)

    # Next pass deletes p1 and clears the condition.
    await h.sync()
    actions = h.take_actions()
    assert actions[0] == ("delete", PODS, NS, "p1")
    assert "conditions" not in actions[1][3]["status"]


async def test_a_pod_already_gone_is_not_a_failure() -> None:
    h = _harness(2, 1)
    h.client.fail_on[("delete", PODS, 1)] = api_error(404, "NotFound", 'pods "p0" not found')
    assert await h.sync() is None
    actions = h.take_actions()
    assert actions == [("delete", PODS, NS, "p0")]
    assert h.take_events() == []
    assert h.expectations.satisfied(KEY)


async def test_one_pass_deletes_at_most_burst_replicas() -> None:
    h = Harness(burst_replicas=2)
    rs = rs_obj(replicas=0)
    h.listers[RS].put(rs)
    for i in range(5):
        h.listers[PODS].put(pod_obj(f"p{i}", h.clock, owner=rs))
    await h.sync()
    assert verbs(h.take_actions()) == [("delete", PODS)] * 2 + [("update", f"{RS}/status")]
