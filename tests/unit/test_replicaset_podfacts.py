"""The ReplicaSet's per-pod memo: facts recomputed exactly when the cached pod object changed (a new
object), when the selector or template labels changed, and the memo holds only the pods of the last
sync. A sync over memoised facts writes the same status as one over fresh facts."""

from __future__ import annotations

import copy
import datetime as dt

from ferry.cluster.apiserver.selectors import label_selector_from_object
from ferry.cluster.controllers.replicaset.podfacts import PodFactsCache, pod_facts
from ferry.cluster.controllers.runtime.fakes import FakeClock
from tests.unit.replicaset_support import pod_obj, rs_obj

SELECTOR = label_selector_from_object({"matchLabels": {"app": "web"}})
TEMPLATE = {"app": "web", "tier": "api"}


def test_facts_read_the_pod() -> None:
    clock = FakeClock()
    rs = rs_obj()
    ready = pod_obj("a", clock, owner=rs, labels=TEMPLATE, ready_for=30)
    f = pod_facts(ready, SELECTOR, TEMPLATE)
    assert (f.active, f.controller_uid, f.matches, f.fully_labeled, f.ready) == (
        True,
        "rs-uid",
        True,
        True,
        True,
    )
    assert f.is_available(0, clock.now()) and f.is_available(29, clock.now())
    assert not f.is_available(30, clock.now())  # strictly longer than minReadySeconds
    other = pod_obj("b", clock, labels={"app": "db"}, ready=False, deleting=True)
    g = pod_facts(other, SELECTOR, TEMPLATE)
    assert (g.active, g.controller_uid, g.matches, g.fully_labeled, g.ready) == (
        False,
        None,
        False,
        False,
        False,
    )
    assert not g.is_available(0, clock.now())


def test_unchanged_objects_are_not_reread_and_replaced_ones_are() -> None:
    clock = FakeClock()
    pods = [pod_obj(f"p{i}", clock, ready=False) for i in range(3)]
    cache = PodFactsCache()
    first = cache.facts("default/web", SELECTOR, TEMPLATE, pods)
    assert [f.ready for f in first] == [False, False, False]
    # The informer replaces a changed pod with a new object; the old one is never mutated.
    changed = copy.deepcopy(pods[1])
    changed["status"]["conditions"][0]["status"] = "True"
    second = cache.facts("default/web", SELECTOR, TEMPLATE, [pods[0], changed, pods[2]])
    assert [f.ready for f in second] == [False, True, False]
    assert second[0] is first[0] and second[2] is first[2]  # memoised: the very same facts
    assert second[1] is not first[1]


def test_a_new_selector_or_template_starts_afresh() -> None:
    clock = FakeClock()
    pods = [pod_obj("a", clock, labels={"app": "web"})]
    cache = PodFactsCache()
    assert cache.facts("k", SELECTOR, TEMPLATE, pods)[0].fully_labeled is False
    assert cache.facts("k", SELECTOR, {"app": "web"}, pods)[0].fully_labeled is True
    other = label_selector_from_object({"matchLabels": {"app": "db"}})
    assert cache.facts("k", other, {"app": "web"}, pods)[0].matches is False


def test_the_memo_keeps_only_the_pods_of_the_last_sync_and_forgets_deleted_replicasets() -> None:
    clock = FakeClock()
    pods = [pod_obj(f"p{i}", clock) for i in range(5)]
    cache = PodFactsCache()
    cache.facts("k", SELECTOR, TEMPLATE, pods)
    cache.facts("k", SELECTOR, TEMPLATE, pods[:2])
    assert len(cache._memos["k"][1]) == 2
    cache.facts("j", SELECTOR, TEMPLATE, pods)
    cache.forget("k")
    assert len(cache) == 1


def test_availability_moves_with_the_clock_not_with_the_memo() -> None:
    clock = FakeClock()
    pod = pod_obj("a", clock, ready_for=5)
    cache = PodFactsCache()
    (f,) = cache.facts("k", SELECTOR, TEMPLATE, [pod])
    assert not f.is_available(10, clock.now())
    (g,) = cache.facts("k", SELECTOR, TEMPLATE, [pod])
    assert g is f and g.is_available(10, clock.now() + dt.timedelta(seconds=6))
