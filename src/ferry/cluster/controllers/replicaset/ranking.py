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
comparator, so pods no rule separates keep the order they were listed in. Sorting is skipped when
every pod is to be deleted. Nothing here mutates the pods; the result is a new list.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Sequence

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


def delete_before(a: Obj, b: Obj, rank_a: int, rank_b: int, now: dt.datetime | None) -> bool:
    """kube's ``ActivePodsWithRanks.Less``: should ``a`` be deleted before ``b``?"""
    node_a, node_b = _node(a), _node(b)
    if node_a != node_b and (not node_a or not node_b):  # 1
        return not node_a
    phase_a = _PHASE_ORDINAL.get(str((a.get("status") or {}).get("phase")), 0)
    phase_b = _PHASE_ORDINAL.get(str((b.get("status") or {}).get("phase")), 0)
    if phase_a != phase_b:  # 2
        return phase_a < phase_b
    ready_a, ready_b = is_pod_ready(a), is_pod_ready(b)
    if ready_a != ready_b:  # 3
        return not ready_a
    cost_a, cost_b = deletion_cost(a), deletion_cost(b)
    if cost_a != cost_b:  # 4
        return cost_a < cost_b
    if rank_a != rank_b:  # 5
        return rank_a > rank_b
    if ready_a and ready_b:  # 6
        t_a, t_b = _ready_time(a), _ready_time(b)
        if t_a != t_b:
            return _newer_first(t_a, t_b, _uid(a), _uid(b), now)
    restarts_a, restarts_b = max_container_restarts(a), max_container_restarts(b)
    if restarts_a != restarts_b:  # 7
        return restarts_a > restarts_b
    c_a, c_b = _created(a), _created(b)
    if c_a != c_b:  # 8
        return _newer_first(c_a, c_b, _uid(a), _uid(b), now)
    return False


def ranks_on_same_node(pods: Sequence[Obj], related: Sequence[Obj]) -> list[int]:
    """For each pod, how many active ``related`` pods share its node (``""`` counts as a node)."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_pod_active(pod):
            on_node[_node(pod)] = on_node.get(_node(pod), 0) + 1
    return [on_node.get(_node(pod), 0) for pod in pods]


def rank_for_deletion(pods: Sequence[Obj], related: Sequence[Obj], now: dt.datetime | None) -> list[Obj]:
    """``pods`` in deletion order (first = deleted first)."""
    ranked = list(zip(pods, ranks_on_same_node(pods, related), strict=True))

    def compare(x: tuple[Obj, int], y: tuple[Obj, int]) -> int:
        if delete_before(x[0], y[0], x[1], y[1], now):
            return -1
        if delete_before(y[0], x[0], y[1], x[1], now):
            return 1
        return 0

    ranked.sort(key=functools.cmp_to_key(compare))
    return [pod for pod, _ in ranked]


def pods_to_delete(
    pods: Sequence[Obj], related: Sequence[Obj], diff: int, now: dt.datetime | None
) -> list[Obj]:
    """The ``diff`` pods to delete: all of them unsorted when ``diff`` covers every pod."""
    if diff < len(pods):
        return rank_for_deletion(pods, related, now)[:diff]
    return list(pods[:diff])
