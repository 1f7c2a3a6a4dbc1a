"""Deployment conditions: kube's setter semantics, reasons and messages (§1.10).

The setter (``SetDeploymentCondition``) is what makes condition lists look the way kubectl users
know them:

* same type, same status **and** same reason → nothing changes, old timestamps stay;
* same status, different reason → ``lastTransitionTime`` kept, ``lastUpdateTime`` new;
* different status → both timestamps new;
* the old entry is removed and the new one **appended**, so the list is ordered by last change
  (mature Deployments show ``[Available, Progressing]``).

Conditions of types the controller does not know (written by someone else through /status) are
never touched: every helper here filters by type.

Timestamps are RFC 3339 strings with whole seconds, as ``metav1.Time`` serializes them.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.controllers.runtime.types import Obj

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"

# Progressing reasons
REPLICA_SET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
# Available reasons
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"


def new_condition(type_: str, status: str, *, reason: str, message: str, now: str) -> Obj:
    """``NewDeploymentCondition``: both timestamps ``now``."""
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def _conditions(status: Obj) -> list[Obj]:
    value = status.get("conditions")
    return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []


def get_condition(status: Obj, type_: str) -> Obj | None:
    for cond in _conditions(status):
        if cond.get("type") == type_:
            return cond
    return None


def remove_condition(status: Obj, type_: str) -> None:
    remaining = [c for c in _conditions(status) if c.get("type") != type_]
    if remaining:
        status["conditions"] = remaining
    else:
        status.pop("conditions", None)


def set_condition(status: Obj, condition: Obj) -> None:
    """``SetDeploymentCondition``: no-op on same status+reason; append-on-change otherwise."""
    current = get_condition(status, str(condition.get("type")))
    if current is not None and _same(current, condition, "status") and _same(current, condition, "reason"):
        return
    if current is not None and _same(current, condition, "status"):
        condition = {**condition, "lastTransitionTime": current.get("lastTransitionTime")}
    remaining = [c for c in _conditions(status) if c.get("type") != condition.get("type")]
    status["conditions"] = [*remaining, condition]


def _same(a: Obj, b: Obj, key: str) -> bool:
    return (a.get(key) or "") == (b.get(key) or "")


def from_replica_set_condition(cond: dict[str, Any]) -> Obj:
    """``ReplicaSetToDeploymentCondition``: lastUpdateTime := lastTransitionTime."""
    out: Obj = {
        "type": cond.get("type"),
        "status": cond.get("status"),
        "lastUpdateTime": cond.get("lastTransitionTime"),
        "lastTransitionTime": cond.get("lastTransitionTime"),
        "reason": cond.get("reason"),
        "message": cond.get("message"),
    }
    return {k: v for k, v in out.items() if v not in (None, "")}
