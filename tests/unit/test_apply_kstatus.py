"""kstatus rules, one table row per kind and condition: (object, expected status, expected reason)."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.delivery.apply.kstatus import HealthStatus, resource_health

H, P, D, S, M = (
    HealthStatus.HEALTHY,
    HealthStatus.PROGRESSING,
    HealthStatus.DEGRADED,
    HealthStatus.SUSPENDED,
    HealthStatus.MISSING,
)


def o(
    kind: str, spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None, **meta: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"name": "x", "generation": 1, **meta},
        "spec": spec or {},
        "status": status or {},
    }


def cond(type_: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


DEPLOY_OK = {
    "observedGeneration": 1,
    "replicas": 2,
    "updatedReplicas": 2,
    "readyReplicas": 2,
    "availableReplicas": 2,
    "conditions": [cond("Available", "True"), cond("Progressing", "True", "NewReplicaSetAvailable")],
}
SPEC2 = {"replicas": 2, "progressDeadlineSeconds": 600}

CASES: list[tuple[str, dict[str, Any] | None, HealthStatus, str]] = [
    ("missing", None, M, "NotFound"),
    ("deployment available", o("Deployment", SPEC2, DEPLOY_OK), H, ""),
    (
        "deployment new generation unobserved",
        o("Deployment", SPEC2, DEPLOY_OK, generation=2),
        P,
        "ObservedGeneration",
    ),
    ("deployment paused", o("Deployment", {**SPEC2, "paused": True}, DEPLOY_OK, generation=2), S, "Paused"),
    (
        "deployment deadline exceeded",
        o(
            "Deployment",
            SPEC2,
            {
                **DEPLOY_OK,
                "conditions": [
                    cond(
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        'ReplicaSet "web-1" has timed out progressing.',
                    )
                ],
            },
        ),
        D,
        "ProgressDeadlineExceeded",
    ),
    (
        "deployment too few updated",
        o("Deployment", SPEC2, {**DEPLOY_OK, "updatedReplicas": 1}),
        P,
        "LessUpdated",
    ),
    ("deployment old pods terminating", o("Deployment", SPEC2, {**DEPLOY_OK, "replicas": 3}), P, "ExtraPods"),
    ("deployment not ready", o("Deployment", SPEC2, {**DEPLOY_OK, "readyReplicas": 1}), P, "LessReady"),
    (
        "deployment unavailable",
        o("Deployment", SPEC2, {**DEPLOY_OK, "availableReplicas": 1}),
        P,
        "LessAvailable",
    ),
    (
        "deployment rollout still progressing",
        o(
            "Deployment",
            SPEC2,
            {
                **DEPLOY_OK,
                "conditions": [cond("Available", "True"), cond("Progressing", "True", "ReplicaSetUpdated")],
            },
        ),
        P,
        "ReplicaSetNotAvailable",
    ),
    (
        "replicaset ready",
        o(
            "ReplicaSet",
            {"replicas": 1},
            {"replicas": 1, "fullyLabeledReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
        ),
        H,
        "",
    ),
    (
        "replicaset not available",
        o(
            "ReplicaSet",
            {"replicas": 2},
            {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 1},
        ),
        P,
        "LessAvailable",
    ),
    (
        "statefulset rolled",
        o(
            "StatefulSet",
            {"replicas": 1},
            {
                "replicas": 1,
                "readyReplicas": 1,
                "currentReplicas": 1,
                "updatedReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "a",
            },
        ),
        H,
        "",
    ),
    (
        "statefulset revision pending",
        o(
            "StatefulSet",
            {"replicas": 1},
            {
                "replicas": 1,
                "readyReplicas": 1,
                "currentReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "b",
            },
        ),
        P,
        "RevisionMismatch",
    ),
    ("daemonset no status yet", o("DaemonSet"), P, "NoDesiredNumber"),
    (
        "daemonset ready",
        o(
            "DaemonSet",
            {},
            {
                "desiredNumberScheduled": 2,
                "currentNumberScheduled": 2,
                "updatedNumberScheduled": 2,
                "numberAvailable": 2,
                "numberReady": 2,
            },
        ),
        H,
        "",
    ),
    ("pod ready", o("Pod", {}, {"phase": "Running", "conditions": [cond("Ready", "True")]}), H, ""),
    ("pod running not ready", o("Pod", {}, {"phase": "Running"}), P, "PodRunningNotReady"),
    (
        "pod crash loop",
        o(
            "Pod",
            {},
            {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "web",
                        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
                    }
                ],
            },
        ),
        D,
        "CrashLoopBackOff",
    ),
    (
        "pod image pull",
        o(
            "Pod",
            {},
            {
                "phase": "Pending",
                "containerStatuses": [{"name": "web", "state": {"waiting": {"reason": "ImagePullBackOff"}}}],
            },
        ),
        D,
        "ImagePullBackOff",
    ),
    (
        "pod oom killed",
        o(
            "Pod",
            {},
            {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "web",
                        "state": {"running": {}},
                        "lastState": {"terminated": {"reason": "OOMKilled"}},
                    }
                ],
            },
        ),
        D,
        "OOMKilled",
    ),
    (
        "pod unschedulable",
        o(
            "Pod",
            {},
            {"phase": "Pending", "conditions": [cond("PodScheduled", "False", "Unschedulable", "0/1 nodes")]},
        ),
        P,
        "Unschedulable",
    ),
    ("pod succeeded", o("Pod", {}, {"phase": "Succeeded"}), H, ""),
    ("job complete", o("Job", {}, {"succeeded": 1, "conditions": [cond("Complete", "True")]}), H, ""),
    (
        "job failed",
        o(
            "Job",
            {},
            {
                "conditions": [
                    cond(
                        "Failed",
                        "True",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                    )
                ]
            },
        ),
        D,
        "BackoffLimitExceeded",
    ),
    ("job suspended", o("Job", {"suspend": True}), S, "Suspended"),
    ("job running", o("Job", {}, {"startTime": "t", "active": 1}), P, "JobInProgress"),
    ("cronjob suspended", o("CronJob", {"suspend": True}), S, "Suspended"),
    ("cronjob active", o("CronJob"), H, ""),
    ("service clusterip", o("Service", {"type": "ClusterIP"}), H, ""),
    ("service lb pending", o("Service", {"type": "LoadBalancer"}), P, "NoLoadBalancerIngress"),
    (
        "service lb ready",
        o("Service", {"type": "LoadBalancer"}, {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}),
        H,
        "",
    ),
    ("pvc bound", o("PersistentVolumeClaim", {}, {"phase": "Bound"}), H, ""),
    ("pvc pending", o("PersistentVolumeClaim", {}, {"phase": "Pending"}), P, "NotBound"),
    ("configmap present", o("ConfigMap"), H, ""),
    ("terminating", o("ConfigMap", deletionTimestamp="t"), P, "Terminating"),
    (
        "custom resource stalled",
        o("Widget", {}, {"conditions": [cond("Stalled", "True", "BadSpec", "size must be even")]}),
        D,
        "BadSpec",
    ),
    (
        "custom resource reconciling",
        o("Widget", {}, {"conditions": [cond("Reconciling", "True", "Scaling")]}),
        P,
        "Scaling",
    ),
]


@pytest.mark.parametrize(("name", "obj", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, obj: dict[str, Any] | None, status: HealthStatus, reason: str) -> None:
    result = resource_health(obj)
    assert (result.status, result.reason) == (status, reason)


def test_degraded_messages_carry_the_cause() -> None:
    dead = next(c[1] for c in CASES if c[0] == "deployment deadline exceeded")
    assert resource_health(dead).message == 'ReplicaSet "web-1" has timed out progressing.'
    crash = next(c[1] for c in CASES if c[0] == "pod crash loop")
    assert resource_health(crash).message == "container web: CrashLoopBackOff: back-off 10s"
