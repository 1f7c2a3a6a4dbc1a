"""What a ReplicaSet sync reads from each pod, remembered between syncs.

A sync looks at every pod the ReplicaSet controls: is it active, who controls it, does the selector
still match, does it carry the template's labels, is it Ready and since when. During a rollout the
ReplicaSet is synced after every event of any of its pods, so for an RS of N pods that is N pod reads
per event and N² per rollout; at 10,000 pods the reads, not the writes, would bound the controller.

``PodFactsCache`` remembers the facts per ReplicaSet, keyed by the *identity* of the cached pod
object. That is sound because of the informer's invariant: cached objects are never mutated, a change
replaces the object, so an unchanged identity means an unchanged pod. Each entry holds the pod object
itself, so its ``id`` cannot be reused by another object while the entry lives; each sync keeps only
the entries of the pods it saw, so nothing accumulates. A change of the selector or template labels
(the inputs of ``matches`` and ``fully_labeled``) starts the ReplicaSet's memo afresh.

Availability depends on the clock, so it is not a fact: ``ready_time`` is, and the status code
compares it with ``minReadySeconds`` and "now" on every sync (``is_available``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from ferry.cluster.apiserver.objects import parse_rfc3339
from ferry.cluster.apiserver.selectors import LabelSelector
from ferry.cluster.controllers.replicaset.status import is_pod_active, ready_condition
from ferry.cluster.controllers.runtime.indexes import controller_of
from ferry.cluster.controllers.runtime.types import Obj


class PodFacts(NamedTuple):
    active: bool
    controller_uid: str | None  # the controllerRef's uid, None for an orphan
    matches: bool  # the RS's selector matches the pod's labels
    fully_labeled: bool  # the pod's labels include every template label
    ready: bool
    ready_time: dt.datetime | None  # lastTransitionTime of Ready=True

    def is_available(self, min_ready_seconds: int, now: dt.datetime) -> bool:
        """kube's ``IsPodAvailable``: Ready for longer than ``min_ready_seconds`` (strictly)."""
        if not self.ready:
            return False
        if min_ready_seconds == 0:
            return True
        return self.ready_time is not None and self.ready_time + dt.timedelta(seconds=min_ready_seconds) < now


def pod_facts(pod: Obj, selector: LabelSelector, template_labels: Mapping[str, str]) -> PodFacts:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    ref = controller_of(pod)
    cond = ready_condition(pod)
    ready = cond is not None and cond.get("status") == "True"
    return PodFacts(
        active=is_pod_active(pod),
        controller_uid=None if ref is None else str(ref.get("uid")),
        matches=selector.matches(labels),
        fully_labeled=all(labels.get(k) == v for k, v in template_labels.items()),
        ready=ready,
        ready_time=parse_rfc3339(cond.get("lastTransitionTime")) if ready and cond is not None else None,
    )


def count(facts: Iterable[PodFacts], min_ready_seconds: int, now: dt.datetime) -> tuple[int, int, int, int]:
    """(replicas, fullyLabeledReplicas, readyReplicas, availableReplicas) of the claimed pods' facts."""
    replicas = fully_labeled = ready = available = 0
    for f in facts:
        replicas += 1
        fully_labeled += f.fully_labeled
        if f.ready:
            ready += 1
            available += f.is_available(min_ready_seconds, now)
    return replicas, fully_labeled, ready, available


_Memo = dict[int, tuple[Obj, PodFacts]]


class PodFactsCache:
    """Per-ReplicaSet memo of ``pod_facts`` (see the module docstring for why identity is enough)."""

    def __init__(self) -> None:
        self._memos: dict[str, tuple[object, _Memo]] = {}

    def facts(
        self, key: str, selector: LabelSelector, template_labels: Mapping[str, str], pods: Sequence[Obj]
    ) -> list[PodFacts]:
        """Facts for ``pods`` (same order); the RS's memo afterwards holds exactly these pods."""
        inputs = (repr(selector), tuple(sorted(template_labels.items())))
        stored = self._memos.get(key)
        old: _Memo = stored[1] if stored is not None and stored[0] == inputs else {}
        new: _Memo = {}
        out: list[PodFacts] = []
        for pod in pods:
            ident = id(pod)
            entry = old.get(ident)
            if entry is None or entry[0] is not pod:
                entry = (pod, pod_facts(pod, selector, template_labels))
            new[ident] = entry
            out.append(entry[1])
        self._memos[key] = (inputs, new)
        return out

    def forget(self, key: str) -> None:
        self._memos.pop(key, None)

    def __len__(self) -> int:
        return len(self._memos)
