"""Which pods a ReplicaSet deletes first when it has too many (kube's ``ActivePodsWithRanks``).

Pods are compared rule by rule; the first rule that tells two pods apart decides, and the pod that
sorts first is deleted first (k8s-semantics.md §3):

1. unassigned (no ``spec.nodeName``) before assigned;
2. phase Pending < Unknown < Running (any other phase counts as Pending, like Go's missing map key);
3. not ready before ready;
4. lower ``controller.kubernetes.io/pod-deletion-cost`` first (an int32; missing or malformed = 0;
   ``+1`` and leading zeros are malformed, as in kube's ``GetDeletionCostFromPodAnnotations``);
5. higher *rank* first: rank = the number of active pods on the pod's node among the pods of every
   ReplicaSet that shares this RS's controller (siblings of one Deployment, this RS included). Pods
   doubled up on a node go first, spreading the survivors;
6. both ready, ready times differ: the more recently ready first. With ``LogarithmicScaleDown`` (on by
   default since 1.22) the times are bucketed as ``floor(log2(now - t))`` in nanoseconds; the lower
   bucket goes first and a tie in the bucket goes to the lower UID (pseudo-random among equals). A
   zero (missing) time counts as the newest;
7. more container restarts (max over containers) first;
8. newer ``creationTimestamp`` first, bucketed like rule 6.

Go sorts with the unstable ``sort.Sort``; this module uses Python's stable sort on the same
comparator, so pods no rule separates keep the order they were listed in. What the rules read from a
pod is extracted once per ranking (``_Facts``), not once per comparison, and choosing ``diff`` victims
among ``n`` pods takes the ``diff`` smallest (``heapq.nsmallest``: the same pods as a full stable sort). Sorting is skipped when
every pod is to be deleted. Nothing here mutates the pods; the result is a new list.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ferry.cluster.apiserver.objects import parse_rfc3339
from ferry.cluster.controllers.replicaset.status import is_pod_active, is_pod_ready, ready_condition
from ferry.cluster.controllers.runtime.types import Obj

DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}
_INT32 = (-(2**31), 2**31 - 1)
_COST = re.compile(r"-?[0-9]+")  # strconv.ParseInt(v, 10, 32) after kube's first-digit check


def deletion_cost(pod: Obj) -> int:
    """The pod-deletion-cost annotation as kube parses it: base-10 int32, else 0."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST_ANNOTATION)
    if not isinstance(value, str) or not _COST.fullmatch(value) or (value[0] == "0" and value != "0"):
        return 0
    cost = int(value, 10)
    return cost if _INT32[0] <= cost <= _INT32[1] else 0


def max_container_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses if isinstance(s, dict)), default=0)


def _node(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def _uid(pod: Obj) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _ready_time(pod: Obj) -> dt.datetime | None:
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return parse_rfc3339(cond.get("lastTransitionTime"))


def _created(pod: Obj) -> dt.datetime | None:
    return parse_rfc3339((pod.get("metadata") or {}).get("creationTimestamp"))


def _log_bucket(t: dt.datetime, now: dt.datetime) -> int:
    """``int64(math.Log2(float64(now.Sub(t))))`` with durations in nanoseconds; -1 when not positive."""
    nanos = (now - t) // dt.timedelta(microseconds=1) * 1000
    return int(math.log2(nanos)) if nanos > 0 else -1


def _newer_first(
    a: dt.datetime | None, b: dt.datetime | None, ua: str, ub: str, now: dt.datetime | None
) -> bool:
    """Rules 6 and 8 for two *different* times: is ``a`` deleted before ``b``?"""
    if now is None or a is None or b is None:
        # afterOrZero: a zero time sorts first, otherwise the later time does.
        if a is None or b is None:
            return a is None
        return a > b
    diff = _log_bucket(a, now) - _log_bucket(b, now)
    if diff == 0:
        return ua < ub
    return diff < 0


class _Facts(NamedTuple):
    """What the rules read from one pod, extracted once per ranking instead of once per comparison."""

    assigned: bool
    phase: int
    ready: bool
    cost: int
    rank: int
    ready_time: dt.datetime | None
    restarts: int
    created: dt.datetime | None
    uid: str


def _facts(pod: Obj, rank: int) -> _Facts:
    ready = is_pod_ready(pod)
    return _Facts(
        assigned=bool(_node(pod)),
        phase=_PHASE_ORDINAL.get(str((pod.get("status") or {}).get("phase")), 0),
        ready=ready,
        cost=deletion_cost(pod),
        rank=rank,
        ready_time=_ready_time(pod) if ready else None,
        restarts=max_container_restarts(pod),
        created=_created(pod),
        uid=_uid(pod),
    )


def _before(a: _Facts, b: _Facts, now: dt.datetime | None) -> bool:
    if a.assigned != b.assigned:  # 1
        return not a.assigned
    if a.phase != b.phase:  # 2
        return a.phase < b.phase
    if a.ready != b.ready:  # 3
        return not a.ready
    if a.cost != b.cost:  # 4
        return a.cost < b.cost
    if a.rank != b.rank:  # 5
        return a.rank > b.rank
    if a.ready and b.ready and a.ready_time != b.ready_time:  # 6
        return _newer_first(a.ready_time, b.ready_time, a.uid, b.uid, now)
    if a.restarts != b.restarts:  # 7
        return a.restarts > b.restarts
    if a.created != b.created:  # 8
        return _newer_first(a.created, b.created, a.uid, b.uid, now)
    return False


def delete_before(a: Obj, b: Obj, rank_a: int, rank_b: int, now: dt.datetime | None) -> bool:
    """kube's ``ActivePodsWithRanks.Less``: should ``a`` be deleted before ``b``?"""
    return _before(_facts(a, rank_a), _facts(b, rank_b), now)


def ranks_on_same_node(pods: Sequence[Obj], related: Sequence[Obj]) -> list[int]:
    """For each pod, how many active ``related`` pods share its node (``""`` counts as a node)."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_pod_active(pod):
            on_node[_node(pod)] = on_node.get(_node(pod), 0) + 1
    return [on_node.get(_node(pod), 0) for pod in pods]


def _sort_key(now: dt.datetime | None) -> Callable[[tuple[_Facts, Obj]], Any]:
    def compare(x: tuple[_Facts, Obj], y: tuple[_Facts, Obj]) -> int:
        if _before(x[0], y[0], now):
            return -1
        if _before(y[0], x[0], now):
            return 1
        return 0

    return functools.cmp_to_key(compare)


def _decorated(pods: Sequence[Obj], related: Sequence[Obj]) -> list[tuple[_Facts, Obj]]:
    ranks = ranks_on_same_node(pods, related)
    return [(_facts(pod, rank), pod) for pod, rank in zip(pods, ranks, strict=True)]


def rank_for_deletion(pods: Sequence[Obj], related: Sequence[Obj], now: dt.datetime | None) -> list[Obj]:
    """``pods`` in deletion order (first = deleted first)."""
    ranked = sorted(_decorated(pods, related), key=_sort_key(now))
    return [pod for _, pod in ranked]


def pods_to_delete(
    pods: Sequence[Obj], related: Sequence[Obj], diff: int, now: dt.datetime | None
) -> list[Obj]:
    """The ``diff`` pods to delete: all of them unsorted when ``diff`` covers every pod."""
    if diff < len(pods):
        # nsmallest is sorted(...)[:diff] (stable too) in O(n log diff) comparisons.
        first = heapq.nsmallest(diff, _decorated(pods, related), key=_sort_key(now))
        return [pod for _, pod in first]
    return list(pods[:diff])
