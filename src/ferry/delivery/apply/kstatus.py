"""Health of one live object, by kind, following kstatus (sigs.k8s.io/cli-utils) with Argo CD's vocabulary.

Every rule reads only the object itself (its spec, status and conditions), never other objects, so a rule is
a pure function that a table test can pin. The statuses are Argo CD's, mapped from kstatus's:

=============  ===============================================================================================
Healthy        kstatus Current: the controller has observed the latest spec and the object reached it
Progressing    kstatus InProgress: not there yet (replicas rolling, a Job running, a PVC binding...)
Degraded       kstatus Failed: it will not get there without a change (ProgressDeadlineExceeded,
               CrashLoopBackOff, ImagePullBackOff, OOMKilled, a failed Job, ``Stalled=True``)
Suspended      the owner asked it to stop: a paused Deployment, a suspended Job or CronJob
Missing        the object does not exist (``resource_health(None)``)
=============  ===============================================================================================

The generic checks run first for every kind: a deletionTimestamp means Progressing ("terminating"), and
``status.observedGeneration < metadata.generation`` means the controller has not looked at the new spec yet
— the guard without which a Deployment that was *just* changed reads as Healthy from its old status.
Then ``Stalled=True`` → Degraded and ``Reconciling=True`` → Progressing (kstatus's convention for CRs), then
the kind's rule. Kinds without a rule are Healthy once they exist (ConfigMap, Secret, RBAC...).

Races: health is computed from a snapshot; a Deployment read between its spec write and the controller's
status write is caught by the observedGeneration guard, but a ReplicaSet's pods may be counted ready a moment
before an endpoint lists them (kstatus has the same limit). ``wait_healthy`` re-evaluates on every watch event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["RULES", "HealthStatus", "ResourceHealth", "resource_health", "worst"]


class HealthStatus(StrEnum):
    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"


_SEVERITY = {
    HealthStatus.HEALTHY: 0,
    HealthStatus.SUSPENDED: 1,
    HealthStatus.PROGRESSING: 2,
    HealthStatus.MISSING: 3,
    HealthStatus.DEGRADED: 4,
}


def worst(statuses: list[HealthStatus]) -> HealthStatus:
    """The roll-up: Degraded > Missing > Progressing > Suspended > Healthy (Argo CD's order)."""
    return max(statuses, key=_SEVERITY.__getitem__, default=HealthStatus.HEALTHY)


@dataclass(frozen=True)
class ResourceHealth:
    status: HealthStatus
    message: str = ""
    reason: str = ""


Obj = Mapping[str, Any]
_H, _P, _D, _S = HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.DEGRADED, HealthStatus.SUSPENDED


def _int(obj: Obj, *path: str, default: int = 0) -> int:
    cur: Any = obj
    for key in path:
        if not isinstance(cur, Mapping) or key not in cur or cur[key] is None:
            return default
        cur = cur[key]
    return int(cur) if isinstance(cur, int | float | str) and str(cur).lstrip("-").isdigit() else default


def _conditions(obj: Obj) -> dict[str, Mapping[str, Any]]:
    return {
        str(c.get("type")): c
        for c in (obj.get("status") or {}).get("conditions") or []
        if isinstance(c, Mapping)
    }


def _true(cond: Mapping[str, Any] | None) -> bool:
    return cond is not None and cond.get("status") == "True"


def _generic(obj: Obj) -> ResourceHealth | None:
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return ResourceHealth(_P, "terminating", "Terminating")
    status = obj.get("status") or {}
    generation = _int(obj, "metadata", "generation", default=0)
    if "observedGeneration" in status and _int(obj, "status", "observedGeneration") < generation:
        return ResourceHealth(
            _P, f"waiting for the controller to observe generation {generation}", "ObservedGeneration"
        )
    conds = _conditions(obj)
    if _true(conds.get("Stalled")):
        c = conds["Stalled"]
        return ResourceHealth(_D, str(c.get("message") or "stalled"), str(c.get("reason") or "Stalled"))
    if _true(conds.get("Reconciling")):
        c = conds["Reconciling"]
        return ResourceHealth(
            _P, str(c.get("message") or "reconciling"), str(c.get("reason") or "Reconciling")
        )
    return None


def _deployment(obj: Obj) -> ResourceHealth:
    spec = obj.get("spec") or {}
    if spec.get("paused"):
        return ResourceHealth(_S, "rollout paused", "Paused")
    conds = _conditions(obj)
    progressing_cond = conds.get("Progressing")
    if progressing_cond is not None and progressing_cond.get("reason") == "ProgressDeadlineExceeded":
        return ResourceHealth(_D, str(progressing_cond.get("message") or ""), "ProgressDeadlineExceeded")
    want = _int(obj, "spec", "replicas", default=1)
    replicas = _int(obj, "status", "replicas")
    updated = _int(obj, "status", "updatedReplicas")
    ready = _int(obj, "status", "readyReplicas")
    available = _int(obj, "status", "availableReplicas")
    if want > replicas:
        return ResourceHealth(_P, f"replicas: {replicas}/{want}", "LessReplicas")
    if want > updated:
        return ResourceHealth(_P, f"updated: {updated}/{want}", "LessUpdated")
    if replicas > want:
        return ResourceHealth(_P, f"pending termination: {replicas - want}", "ExtraPods")
    if updated > available:
        return ResourceHealth(_P, f"available: {available}/{updated}", "LessAvailable")
    if want > ready:
        return ResourceHealth(_P, f"ready: {ready}/{want}", "LessReady")
    # Without progressDeadlineSeconds the controller never sets Progressing, so kstatus does not wait for it.
    if "progressDeadlineSeconds" in spec and not (
        _true(progressing_cond) and (progressing_cond or {}).get("reason") == "NewReplicaSetAvailable"
    ):
        return ResourceHealth(_P, "rollout in progress", "ReplicaSetNotAvailable")
    if not _true(conds.get("Available")):
        return ResourceHealth(_P, "deployment not available", "DeploymentNotAvailable")
    return ResourceHealth(_H, f"available, replicas: {replicas}")


def _replicaset(obj: Obj) -> ResourceHealth:
    failure = _conditions(obj).get("ReplicaFailure")
    if _true(failure):
        return ResourceHealth(_P, str((failure or {}).get("message") or "replica failure"), "ReplicaFailure")
    want = _int(obj, "spec", "replicas", default=1)
    labelled = _int(obj, "status", "fullyLabeledReplicas")
    available = _int(obj, "status", "availableReplicas")
    ready = _int(obj, "status", "readyReplicas")
    replicas = _int(obj, "status", "replicas")
    if want > labelled:
        return ResourceHealth(_P, f"labelled: {labelled}/{want}", "LessLabelled")
    if want > available:
        return ResourceHealth(_P, f"available: {available}/{want}", "LessAvailable")
    if want > ready:
        return ResourceHealth(_P, f"ready: {ready}/{want}", "LessReady")
    if replicas > want:
        return ResourceHealth(_P, f"pending termination: {replicas - want}", "ExtraPods")
    return ResourceHealth(_H, f"available, replicas: {replicas}")


def _statefulset(obj: Obj) -> ResourceHealth:
    strategy = (obj.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return ResourceHealth(_H, "OnDelete update strategy")
    want = _int(obj, "spec", "replicas", default=1)
    replicas = _int(obj, "status", "replicas")
    ready = _int(obj, "status", "readyReplicas")
    current = _int(obj, "status", "currentReplicas")
    updated = _int(obj, "status", "updatedReplicas")
    partition = _int(obj, "spec", "updateStrategy", "rollingUpdate", "partition", default=-1)
    if want > replicas:
        return ResourceHealth(_P, f"replicas: {replicas}/{want}", "LessReplicas")
    if want > ready:
        return ResourceHealth(_P, f"ready: {ready}/{want}", "LessReady")
    if replicas > want:
        return ResourceHealth(_P, f"pending termination: {replicas - want}", "ExtraPods")
    if partition != -1:
        if updated < want - partition:
            return ResourceHealth(
                _P, f"partitioned roll out: {updated}/{want - partition}", "PartitionRollout"
            )
        return ResourceHealth(_H, "partition roll out complete")
    if want > current:
        return ResourceHealth(_P, f"current: {current}/{want}", "LessCurrent")
    status = obj.get("status") or {}
    if status.get("currentRevision") != status.get("updateRevision"):
        return ResourceHealth(_P, f"waiting for revision {status.get('updateRevision')}", "RevisionMismatch")
    return ResourceHealth(_H, f"replicas: {replicas}")


def _daemonset(obj: Obj) -> ResourceHealth:
    desired = _int(obj, "status", "desiredNumberScheduled", default=-1)
    if desired == -1:
        return ResourceHealth(_P, "no desiredNumberScheduled yet", "NoDesiredNumber")
    for field, reason in (
        ("currentNumberScheduled", "LessCurrent"),
        ("updatedNumberScheduled", "LessUpdated"),
        ("numberAvailable", "LessAvailable"),
        ("numberReady", "LessReady"),
    ):
        have = _int(obj, "status", field)
        if desired > have:
            return ResourceHealth(_P, f"{field}: {have}/{desired}", reason)
    return ResourceHealth(_H, f"scheduled: {desired}")


_FATAL_WAITING = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
)


def _pod(obj: Obj) -> ResourceHealth:
    status = obj.get("status") or {}
    phase = status.get("phase")
    statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _FATAL_WAITING:
            message = f"container {cs.get('name')}: {waiting['reason']}"
            if waiting.get("message"):
                message += f": {waiting['message']}"
            return ResourceHealth(_D, message, str(waiting["reason"]))
        for state in ("state", "lastState"):
            terminated = (cs.get(state) or {}).get("terminated") or {}
            if terminated.get("reason") == "OOMKilled" and phase != "Succeeded":
                return ResourceHealth(_D, f"container {cs.get('name')} was OOMKilled", "OOMKilled")
    if phase == "Succeeded":
        return ResourceHealth(_H, "completed")
    if phase == "Failed":
        return ResourceHealth(
            _D, str(status.get("message") or "pod failed"), str(status.get("reason") or "PodFailed")
        )
    conds = _conditions(obj)
    if phase == "Running":
        if _true(conds.get("Ready")):
            return ResourceHealth(_H, "ready")
        return ResourceHealth(_P, "running but not ready", "PodRunningNotReady")
    scheduled = conds.get("PodScheduled")
    if scheduled is not None and scheduled.get("reason") == "Unschedulable":
        return ResourceHealth(_P, str(scheduled.get("message") or "unschedulable"), "Unschedulable")
    return ResourceHealth(_P, f"phase {phase or 'unknown'}", "PodPending")


def _job(obj: Obj) -> ResourceHealth:
    conds = _conditions(obj)
    if _true(conds.get("Complete")):
        return ResourceHealth(_H, f"completed, succeeded: {_int(obj, 'status', 'succeeded')}")
    failed = conds.get("Failed")
    if _true(failed):
        return ResourceHealth(
            _D,
            str((failed or {}).get("message") or "job failed"),
            str((failed or {}).get("reason") or "JobFailed"),
        )
    if (obj.get("spec") or {}).get("suspend"):
        return ResourceHealth(_S, "job suspended", "Suspended")
    if not (obj.get("status") or {}).get("startTime"):
        return ResourceHealth(_P, "job not started", "JobNotStarted")
    active, succeeded = _int(obj, "status", "active"), _int(obj, "status", "succeeded")
    return ResourceHealth(_P, f"running, active: {active}, succeeded: {succeeded}", "JobInProgress")


def _cronjob(obj: Obj) -> ResourceHealth:
    if (obj.get("spec") or {}).get("suspend"):
        return ResourceHealth(_S, "cronjob suspended", "Suspended")
    return ResourceHealth(_H)


def _service(obj: Obj) -> ResourceHealth:
    is_lb = (obj.get("spec") or {}).get("type") == "LoadBalancer"
    if is_lb and not ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
        return ResourceHealth(_P, "waiting for a load balancer address", "NoLoadBalancerIngress")
    return ResourceHealth(_H)


def _pvc(obj: Obj) -> ResourceHealth:
    phase = (obj.get("status") or {}).get("phase")
    if phase == "Bound":
        return ResourceHealth(_H, "bound")
    if phase == "Lost":
        return ResourceHealth(_D, "claim lost its volume", "ClaimLost")
    return ResourceHealth(_P, f"not bound (phase {phase or 'unknown'})", "NotBound")


def _crd(obj: Obj) -> ResourceHealth:
    if _true(_conditions(obj).get("Established")):
        return ResourceHealth(_H, "established")
    return ResourceHealth(_P, "not established", "NotEstablished")


RULES: dict[str, Callable[[Obj], ResourceHealth]] = {
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "StatefulSet": _statefulset,
    "DaemonSet": _daemonset,
    "Pod": _pod,
    "Job": _job,
    "CronJob": _cronjob,
    "Service": _service,
    "PersistentVolumeClaim": _pvc,
    "CustomResourceDefinition": _crd,
}


def resource_health(obj: Obj | None) -> ResourceHealth:
    """The health of one live object (``None``: it does not exist → Missing)."""
    if obj is None:
        return ResourceHealth(HealthStatus.MISSING, "not found", "NotFound")
    kind = str(obj.get("kind") or "")
    # A suspension is the owner's decision; it outranks "the controller has not caught up".
    if kind in ("Deployment", "CronJob") and (obj.get("spec") or {}).get(
        "paused" if kind == "Deployment" else "suspend"
    ):
        return RULES[kind](obj)
    generic = _generic(obj)
    if generic is not None:
        return generic
    rule = RULES.get(kind)
    return rule(obj) if rule is not None else ResourceHealth(_H)
