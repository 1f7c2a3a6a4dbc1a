"""Claiming: adopt matching orphans (after one live re-check), release owned pods that no longer match."""

from __future__ import annotations

import pytest

from ferry.cluster.controllers.replicaset import PodControlError
from tests.unit.replicaset_support import NS, PODS, RS, Harness, api_error, owner_ref, pod_obj, rs_obj, verbs

ADOPT_REF = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "name": "web",
    "uid": "rs-uid",
    "controller": True,
    "blockOwnerDeletion": True,
}


def _status(n: int) -> dict[str, int]:
    return {
        "replicas": n,
        "fullyLabeledReplicas": n,
        "readyReplicas": n,
        "availableReplicas": n,
        "observedGeneration": 1,
    }


async def test_orphans_that_match_are_adopted_after_one_live_get_and_count_as_replicas() -> None:
    h = Harness([rs_obj(replicas=2, status=_status(2))])
    h.listers[PODS].put(pod_obj("o1", h.clock))
    h.listers[PODS].put(pod_obj("o2", h.clock))
    h.listers[PODS].put(pod_obj("other", h.clock, labels={"app": "db"}))  # does not match: left alone

    assert await h.sync() is None
    assert h.take_actions() == [
        ("get", RS, NS, "web"),
        (
            "patch",
            PODS,
            NS,
            "o1",
            "strategic",
            {"metadata": {"ownerReferences": [ADOPT_REF], "uid": "uid-o1"}},
        ),
        (
            "patch",
            PODS,
            NS,
            "o2",
            "strategic",
            {"metadata": {"ownerReferences": [ADOPT_REF], "uid": "uid-o2"}},
        ),
    ]
    assert h.pod("o1")["metadata"]["ownerReferences"] == [ADOPT_REF]
    assert "ownerReferences" not in h.pod("other")["metadata"]
    h.deliver()
    await h.sync()
    assert h.take_actions() == []


async def test_an_owned_pod_that_stopped_matching_is_released_and_replaced_in_the_same_pass() -> None:
    h = Harness()
    rs = rs_obj(replicas=2, status=_status(2))
    h.listers[RS].put(rs)
    h.listers[PODS].put(pod_obj("keep", h.clock, owner=rs))
    h.listers[PODS].put(pod_obj("relabeled", h.clock, owner=rs, labels={"app": "debug"}))

    await h.sync()
    actions = h.take_actions()
    release = {
        "metadata": {"ownerReferences": [{"$patch": "delete", "uid": "rs-uid"}], "uid": "uid-relabeled"}
    }
    assert actions[0] == ("patch", PODS, NS, "relabeled", "strategic", release)
    assert verbs(actions[1:]) == [("create", PODS), ("update", f"{RS}/status")]
    assert actions[2][3]["status"]["replicas"] == 1
    assert h.pod("relabeled")["metadata"]["ownerReferences"] == []

    h.deliver()
    await h.sync()
    assert [a[3]["status"]["replicas"] for a in h.take_actions()] == [2]
    h.deliver()
    await h.sync()
    assert h.take_actions() == []


async def test_pods_controlled_by_another_owner_are_ignored() -> None:
    h = Harness([rs_obj(replicas=1, status=_status(0))])
    other = rs_obj("web-other", uid="other-uid")
    h.listers[RS].put(other)
    h.listers[PODS].put(pod_obj("theirs", h.clock, owner=other))
    await h.sync()
    assert verbs(h.take_actions()) == [("create", PODS)]
    assert h.pod("theirs")["metadata"]["ownerReferences"] == [owner_ref(other)]


async def test_a_release_of_a_vanished_or_unowned_pod_is_not_an_error() -> None:
    h = Harness()
    rs = rs_obj(replicas=0, status=_status(0))
    h.listers[RS].put(rs)
    h.listers[PODS].put(pod_obj("gone", h.clock, owner=rs, labels={"app": "x"}))
    h.listers[PODS].put(pod_obj("invalid", h.clock, owner=rs, labels={"app": "y"}))
    h.client.fail_on[("patch", PODS, 1)] = api_error(404, "NotFound", 'pods "gone" not found')
    h.client.fail_on[("patch", PODS, 2)] = api_error(422, "Invalid", "uid mismatch")
    assert await h.sync() is None
    assert verbs(h.take_actions()) == [("patch", PODS), ("patch", PODS)]


async def test_a_replicaset_being_deleted_neither_adopts_nor_releases_nor_scales() -> None:
    h = Harness()
    rs = rs_obj(replicas=3, deleting=True, status=_status(1))
    h.listers[RS].put(rs)
    h.listers[PODS].put(pod_obj("orphan", h.clock))
    h.listers[PODS].put(pod_obj("mine", h.clock, owner=rs))
    h.listers[PODS].put(pod_obj("relabeled", h.clock, owner=rs, labels={"app": "x"}))
    assert await h.sync() is None
    assert h.take_actions() == []  # status still says 1 pod: nothing to write


async def test_adoption_stops_when_the_live_replicaset_has_another_uid() -> None:
    h = Harness([rs_obj(replicas=2, status=_status(0))])
    h.listers[PODS].put(pod_obj("o1", h.clock))
    h.listers[PODS].put(pod_obj("o2", h.clock))
    h.client.get = _returns(rs_obj(uid="new-uid"), h)  # type: ignore[method-assign]
    with pytest.raises(PodControlError) as raised:
        await h.sync()
    assert str(raised.value) == (
        "can't adopt Pod default/o1 (uid-o1): can't recheck DeletionTimestamp: "
        "original ReplicaSet default/web is gone: got uid new-uid, wanted rs-uid"
    )
    # One GET for the whole pass; no patch, no scaling, no status while ownership is unknown.
    assert h.take_actions() == [("get", RS, NS, "web")]


def _returns(obj: dict[str, object], h: Harness):  # type: ignore[no-untyped-def]
    async def get(resource: str, namespace: str | None, name: str) -> dict[str, object]:
        h.client.actions.append(("get", resource, namespace, name))
        return obj

    return get
