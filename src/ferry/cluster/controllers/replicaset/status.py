"""ReplicaSet status: what the pods say, written back through ``/status`` (k8s-semantics.md §3).

The status is a pure function of the RS and the *active, claimed* pods of one sync
(``calculateStatus`` in kube's ``replica_set_utils.go``). The counting is done over the controller's
memoised per-pod facts (``podfacts.count``); ``status_from_counts`` builds the status from the counts:

* ``replicas`` = number of pods; ``fullyLabeledReplicas`` = pods whose labels are a superset of the
  **template** labels (not the selector); ``readyReplicas`` = pods whose ``Ready`` condition is True;
  ``availableReplicas`` = ready pods that have been ready for more than ``minReadySeconds`` (measured
  from the Ready condition's ``lastTransitionTime``, strictly before "now").
* ``ReplicaFailure`` is set (True, ``FailedCreate``/``FailedDelete``, message = the error) when
  ``manageReplicas`` failed and no such condition exists yet, and removed after a successful pass.
  A pass that did not run (expectations pending) counts as successful, as in kube.
* ``observedGeneration`` = ``metadata.generation``, stamped only when the status is written.

The pods counted are the ones the sync *started* with: pods created or deleted in the same pass show
up in the next sync, when the informer has seen them. Fields are serialised like Go's ``omitempty``
(``replicas`` always, the other counters only when non-zero), starting from a copy of the stored
status so fields this controller does not own survive.

Writing is skipped when nothing changed and ``observedGeneration`` is current. Otherwise the RS is
PUT to ``/status`` with its resourceVersion as the precondition; on any failure kube re-reads the RS
with a live GET and tries exactly once more (``statusUpdateRetries = 1``), keeping the generation the
status was computed for.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from ferry.cluster.apiserver.objects import rfc3339
from ferry.cluster.controllers.runtime.types import Client, Obj

RESOURCE = "apps/v1/replicasets"
REPLICA_FAILURE = "ReplicaFailure"
FAILED_CREATE = "FailedCreate"
FAILED_DELETE = "FailedDelete"
STATUS_UPDATE_RETRIES = 1
_COUNTERS = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")


# -- pod predicates (k8s.io/kubernetes/pkg/api/v1/pod, pkg/controller) ---------------------------------
def is_pod_active(pod: Obj) -> bool:
    """Not terminal (Succeeded/Failed) and not being deleted: the pods an RS counts."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not (pod.get("metadata") or {}).get("deletionTimestamp")


def ready_condition(pod: Obj) -> dict[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def replicas_of(rs: Obj) -> int:
    """``spec.replicas`` (defaulted to 1 by the API server, so a missing value means 1)."""
    value = (rs.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def min_ready_seconds_of(rs: Obj) -> int:
    return int((rs.get("spec") or {}).get("minReadySeconds") or 0)


# -- conditions -------------------------------------------------------------------------------------
def get_condition(status: Obj, type_: str) -> dict[str, Any] | None:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None


def _set_condition(status: Obj, cond: dict[str, Any]) -> None:
    """Same status and reason: keep the old one. Otherwise drop it and append the new one."""
    current = get_condition(status, cond["type"])
    if (
        current is not None
        and current.get("status") == cond["status"]
        and current.get("reason") == cond["reason"]
    ):
        return
    status["conditions"] = [*_without(status, cond["type"]), cond]


def _without(status: Obj, type_: str) -> list[Any]:
    return [c for c in status.get("conditions") or [] if not (isinstance(c, dict) and c.get("type") == type_)]


# -- status -----------------------------------------------------------------------------------------
def template_labels_of(rs: Obj) -> dict[str, str]:
    return (((rs.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def status_from_counts(
    rs: Obj, counts: tuple[int, int, int, int], manage_error: Exception | None, now: dt.datetime
) -> Obj:
    """The new ``status`` from the counts (replicas, fullyLabeled, ready, available) of ``podfacts.count``."""
    status: Obj = copy.deepcopy(rs.get("status") or {})
    failure = get_condition(status, REPLICA_FAILURE)
    if manage_error is not None and failure is None:
        diff = counts[0] - replicas_of(rs)
        reason = FAILED_CREATE if diff < 0 else FAILED_DELETE if diff > 0 else ""
        _set_condition(
            status,
            {
                "type": REPLICA_FAILURE,
                "status": "True",
                "lastTransitionTime": rfc3339(now),
                "reason": reason,
                "message": str(manage_error),
            },
        )
    elif manage_error is None and failure is not None:
        status["conditions"] = _without(status, REPLICA_FAILURE)
    if not status.get("conditions"):
        status.pop("conditions", None)

    for name, value in zip(_COUNTERS, counts, strict=True):
        status[name] = value
    return _omit_empty(status)


def _omit_empty(status: Obj) -> Obj:
    """Go's ``omitempty`` on ReplicaSetStatus: every counter but ``replicas`` vanishes at zero."""
    for name in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration"):
        if not status.get(name):
            status.pop(name, None)
    return status


def status_unchanged(rs: Obj, new_status: Obj) -> bool:
    """kube's short-circuit: same counters, same conditions, and the generation already observed."""
    old = rs.get("status") or {}
    generation = int((rs.get("metadata") or {}).get("generation") or 0)
    return (
        all(int(old.get(n) or 0) == int(new_status.get(n) or 0) for n in _COUNTERS)
        and generation == int(old.get("observedGeneration") or 0)
        and (old.get("conditions") or []) == (new_status.get("conditions") or [])
    )


async def update_status(client: Client, rs: Obj, new_status: Obj) -> Obj:
    """Write ``new_status`` unless nothing changed; returns the RS as stored (or ``rs`` itself).

    The first PUT carries ``rs``'s resourceVersion; after a failure the RS is read live and the
    same status is PUT once more on the fresh copy. The second failure (or a failed GET) is raised.
    """
    if status_unchanged(rs, new_status):
        return rs
    status = copy.deepcopy(new_status)
    generation = int((rs.get("metadata") or {}).get("generation") or 0)
    status["observedGeneration"] = generation
    status = _omit_empty(status)
    meta = rs.get("metadata") or {}
    namespace, name = meta.get("namespace"), str(meta.get("name"))
    current = rs
    attempt = 0
    while True:
        body = copy.deepcopy(current)
        body["status"] = copy.deepcopy(status)
        try:
            return await client.update(RESOURCE, namespace, body, subresource="status")
        except Exception:
            if attempt >= STATUS_UPDATE_RETRIES:
                raise
        attempt += 1
        current = await client.get(RESOURCE, namespace, name)
