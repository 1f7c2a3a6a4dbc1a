"""Event handlers: which ReplicaSet keys a ReplicaSet or pod event enqueues, and when."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.runtime.manager import After
from tests.unit.replicaset_support import KEY, PODS, RS, Harness, owner_ref, pod_obj, rs_obj


def _harness() -> Harness:
    h = Harness()
    h.listers[RS].put(rs_obj(min_ready=7))
    h.listers[RS].put(rs_obj("db", uid="db-uid", selector={"app": "db"}, template_labels={"app": "db"}))
    h.listers[RS].put(rs_obj("web2", uid="web2-uid", selector={"app": "web"}))  # overlaps "web"
    h.listers[RS].put(rs_obj("everything", uid="all-uid", selector={}))  # empty: adopts nothing
    return h


def _bump(pod: dict[str, object]) -> dict[str, object]:
    new = copy.deepcopy(pod)
    meta: dict[str, str] = new["metadata"]  # type: ignore[assignment]
    meta["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)
    return new


def test_replicaset_events_enqueue_its_key() -> None:
    h = _harness()
    rs = h.rs()
    assert h.on(RS).on_add(rs) == [KEY]
    assert h.on(RS).on_update(rs, _bump(rs)) == [KEY]
    assert h.on(RS).on_delete(rs) == [KEY]


def test_a_replicaset_recreated_under_the_same_name_is_a_delete_then_an_update() -> None:
    h = _harness()
    h.expectations.expect_creations(KEY, 3)
    old = h.rs()
    new = rs_obj(uid="other-uid")
    assert h.on(RS).on_update(old, new) == [KEY, KEY]
    assert h.expectations.get(KEY) is None


def test_a_new_owned_pod_is_an_observed_creation_of_its_owner() -> None:
    h = _harness()
    h.expectations.expect_creations(KEY, 1)
    assert h.on(PODS).on_add(pod_obj("p", h.clock, owner=h.rs())) == [KEY]
    assert h.expectations.satisfied(KEY)


def test_a_pod_owned_by_an_unknown_or_recreated_replicaset_enqueues_nothing() -> None:
    h = _harness()
    stale = rs_obj(uid="old-uid")  # same name, another uid
    assert h.on(PODS).on_add(pod_obj("p", h.clock, owner=stale)) == []
    assert h.on(PODS).on_delete(pod_obj("p", h.clock, owner=stale)) == []
    pod = pod_obj("q", h.clock)
    pod["metadata"]["ownerReferences"] = [{**owner_ref(h.rs()), "kind": "StatefulSet"}]
    assert h.on(PODS).on_add(pod) == []


def test_an_orphan_enqueues_every_replicaset_whose_non_empty_selector_matches() -> None:
    h = _harness()
    assert h.on(PODS).on_add(pod_obj("o", h.clock)) == [KEY, "default/web2"]
    assert h.on(PODS).on_add(pod_obj("n", h.clock, labels={})) == []


def test_an_update_with_the_same_resource_version_is_a_resync_and_ignored() -> None:
    h = _harness()
    pod = pod_obj("p", h.clock, owner=h.rs())
    assert h.on(PODS).on_update(pod, copy.deepcopy(pod)) == []


def test_a_pod_becoming_ready_requeues_its_owner_after_min_ready_seconds_plus_one() -> None:
    h = _harness()
    old = pod_obj("p", h.clock, owner=h.rs(), ready=False)
    new = _bump(old)
    new["status"]["conditions"][0]["status"] = "True"  # type: ignore[index]
    assert h.on(PODS).on_update(old, new) == [KEY, After(KEY, 8.0)]
    # Already ready before: no delayed requeue.
    assert h.on(PODS).on_update(new, _bump(new)) == [KEY]


def test_a_changed_controller_ref_wakes_the_old_and_the_new_owner() -> None:
    h = _harness()
    old = pod_obj("p", h.clock, owner=h.rs())
    new = _bump(old)
    new["metadata"]["ownerReferences"] = [owner_ref(h.rs("db"))]  # type: ignore[index]
    assert h.on(PODS).on_update(old, new) == [KEY, "default/db"]


def test_a_released_pod_wakes_its_old_owner_and_the_replicasets_that_match_it_now() -> None:
    h = _harness()
    old = pod_obj("p", h.clock, owner=h.rs())
    new = _bump(old)
    new["metadata"]["ownerReferences"] = []  # type: ignore[index]
    new["metadata"]["labels"] = {"app": "db"}  # type: ignore[index]
    assert h.on(PODS).on_update(old, new) == [KEY, "default/db"]


def test_an_orphan_whose_labels_did_not_change_enqueues_nothing() -> None:
    h = _harness()
    old = pod_obj("p", h.clock)
    new = _bump(old)
    new["status"]["phase"] = "Pending"  # type: ignore[index]
    assert h.on(PODS).on_update(old, new) == []


def test_a_relabeled_terminating_pod_is_a_deletion_for_both_label_sets() -> None:
    h = _harness()
    h.expectations.expect_deletions(KEY, ["default/p"])
    old = pod_obj("p", h.clock, owner=h.rs())
    new = _bump(old)
    new["metadata"]["labels"] = {"app": "other"}  # type: ignore[index]
    new["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"  # type: ignore[index]
    assert h.on(PODS).on_update(old, new) == [KEY, KEY]
    assert h.expectations.satisfied(KEY)


def test_deleting_an_orphan_enqueues_nothing() -> None:
    h = _harness()
    assert h.on(PODS).on_delete(pod_obj("o", h.clock)) == []
