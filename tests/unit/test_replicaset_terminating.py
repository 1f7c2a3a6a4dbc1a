"""Terminating and finished pods are not replicas: they are replaced at once and not counted."""

from __future__ import annotations

from tests.unit.replicaset_support import KEY, PODS, RS, Harness, pod_obj, rs_obj, verbs


def _status(n: int) -> dict[str, int]:
    return {
        "replicas": n,
        "fullyLabeledReplicas": n,
        "readyReplicas": n,
        "availableReplicas": n,
        "observedGeneration": 1,
    }


async def test_a_terminating_pod_is_replaced_while_it_shuts_down() -> None:
    h = Harness()
    rs = rs_obj(replicas=2, status=_status(2))
    h.listers[RS].put(rs)
    h.listers[PODS].put(pod_obj("a", h.clock, owner=rs))
    h.listers[PODS].put(pod_obj("b", h.clock, owner=rs, deleting=True))
    await h.sync()
    actions = h.take_actions()
    assert verbs(actions) == [("create", PODS), ("update", f"{RS}/status")]
    assert actions[1][3]["status"] == {
        "replicas": 1,
        "fullyLabeledReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "observedGeneration": 1,
    }
    assert h.pod("b")["metadata"]["deletionTimestamp"]  # untouched: the kubelet finishes it


async def test_succeeded_and_failed_pods_are_not_counted_or_deleted() -> None:
    h = Harness()
    rs = rs_obj(replicas=1, status=_status(1))
    h.listers[RS].put(rs)
    h.listers[PODS].put(pod_obj("done", h.clock, owner=rs, phase="Succeeded", ready=False))
    h.listers[PODS].put(pod_obj("failed", h.clock, owner=rs, phase="Failed", ready=False))
    h.listers[PODS].put(pod_obj("live", h.clock, owner=rs))
    await h.sync()
    assert h.take_actions() == []


async def test_a_terminating_orphan_is_not_adopted() -> None:
    h = Harness([rs_obj(replicas=1, status=_status(0))])
    h.listers[PODS].put(pod_obj("orphan", h.clock, deleting=True))
    await h.sync()
    assert verbs(h.take_actions()) == [("create", PODS)]


async def test_a_pod_first_seen_terminating_is_a_deletion_not_a_creation() -> None:
    h = Harness()
    rs = rs_obj(replicas=1)
    h.listers[RS].put(rs)
    h.expectations.expect_creations(KEY, 1)
    assert h.on(PODS).on_add(pod_obj("x", h.clock, owner=rs, deleting=True)) == [KEY]
    assert not h.expectations.satisfied(KEY)  # the creation we wait for has not been observed
    assert h.on(PODS).on_add(pod_obj("y", h.clock, owner=rs)) == [KEY]
    assert h.expectations.satisfied(KEY)


async def test_a_pod_turning_terminating_counts_as_its_deletion() -> None:
    h = Harness()
    rs = rs_obj(replicas=1)
    h.listers[RS].put(rs)
    old = pod_obj("a", h.clock, owner=rs)
    h.expectations.expect_deletions(KEY, ["default/a"])
    new = pod_obj("a", h.clock, owner=rs, deleting=True)
    new["metadata"]["resourceVersion"] = "6"
    assert h.on(PODS).on_update(old, new) == [KEY]
    assert h.expectations.satisfied(KEY)
