"""Defaults for the pod-template workloads, as kube-apiserver v1.32 sets them.

Sources of truth: ``pkg/apis/apps/v1/defaults.go``, ``pkg/apis/batch/v1/defaults.go``,
``pkg/apis/core/v1/defaults.go`` (ReplicationController) and the Job strategy's selector
generation (``pkg/registry/batch/job/strategy.go``). Every embedded ``spec.template`` gets the
PodSpec defaults of :mod:`ferry.cluster.resources.defaults.pods` (not the Pod-only ones).

Feature gates are those of a default 1.32 cluster: ``StatefulSetAutoDeletePVC`` on (so the
retention policy is defaulted), ``MaxUnavailableStatefulSet`` off, ``JobPodReplacementPolicy``
on (``podReplacementPolicy`` defaulted).

Job selector generation needs ``metadata.uid``; the API server assigns it before defaulting.
Without a uid the selector is left alone (validation then reports it). Generation only adds
what is missing, so re-running it on an update is a no-op, and it runs *before* the Job's own
labels are copied from the template, which reproduces what a real cluster shows: the Job
carries ``controller-uid``/``job-name`` labels too.

Invariant: idempotent; values of the wrong JSON type are left for validation to report.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.resources.defaults.pods import (
    default_pod_template_spec,
    default_pvc_spec,
    default_template_metadata,
    dict_at,
    dicts_at,
    set_default,
)
from ferry.cluster.resources.types import Defaulter, Obj

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_JOB_NAME_LABEL = "job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
MAX_INT32 = 2**31 - 1


def _spec(obj: Obj) -> dict[str, Any] | None:
    if obj.get("spec") is None:
        obj["spec"] = {}
    return dict_at(obj, "spec")


def default_deployment(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    set_default(spec, "replicas", 1)
    set_default(spec, "strategy", {})
    strategy = dict_at(spec, "strategy")
    if strategy is not None:
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy.get("type") == "RollingUpdate":
            set_default(strategy, "rollingUpdate", {})
            rolling = dict_at(strategy, "rollingUpdate")
            if rolling is not None:
                set_default(rolling, "maxUnavailable", "25%")
                set_default(rolling, "maxSurge", "25%")
    set_default(spec, "revisionHistoryLimit", 10)
    set_default(spec, "progressDeadlineSeconds", 600)
    default_pod_template_spec(spec.get("template"))


def default_replica_set(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    set_default(spec, "replicas", 1)
    default_pod_template_spec(spec.get("template"))


def default_stateful_set(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    set_default(spec, "updateStrategy", {})
    strategy = dict_at(spec, "updateStrategy")
    if strategy is not None:
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
            set_default(strategy, "rollingUpdate", {})
        rolling = dict_at(strategy, "rollingUpdate")
        if strategy.get("type") == "RollingUpdate" and rolling is not None:
            set_default(rolling, "partition", 0)
    set_default(spec, "persistentVolumeClaimRetentionPolicy", {})
    policy = dict_at(spec, "persistentVolumeClaimRetentionPolicy")
    if policy is not None:
        for key in ("whenDeleted", "whenScaled"):
            if not policy.get(key):
                policy[key] = "Retain"
    set_default(spec, "replicas", 1)
    set_default(spec, "revisionHistoryLimit", 10)
    default_pod_template_spec(spec.get("template"))
    for claim in dicts_at(spec, "volumeClaimTemplates"):
        default_template_metadata(claim)
        default_pvc_spec(claim.get("spec"))
        set_default(claim, "status", {})
        status = dict_at(claim, "status")
        if status is not None and not status.get("phase"):
            status["phase"] = "Pending"


def default_daemon_set(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    set_default(spec, "updateStrategy", {})
    strategy = dict_at(spec, "updateStrategy")
    if strategy is not None:
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy.get("type") == "RollingUpdate":
            set_default(strategy, "rollingUpdate", {})
            rolling = dict_at(strategy, "rollingUpdate")
            if rolling is not None:
                set_default(rolling, "maxUnavailable", 1)
                set_default(rolling, "maxSurge", 0)
    set_default(spec, "revisionHistoryLimit", 10)
    default_pod_template_spec(spec.get("template"))


def _generate_job_selector(obj: Obj, spec: dict[str, Any]) -> None:
    """The Job strategy's ``generateSelector``: uid/name labels on the template, uid selector."""
    meta = dict_at(obj, "metadata") or {}
    uid, name = meta.get("uid"), meta.get("name")
    if not isinstance(uid, str) or not uid or not isinstance(name, str):
        return
    template = dict_at(spec, "template")
    if template is None:
        return
    default_template_metadata(template)
    tmeta = dict_at(template, "metadata")
    if tmeta is None:
        return
    if tmeta.get("labels") is None:
        tmeta["labels"] = {}
    labels = dict_at(tmeta, "labels")
    if labels is None:
        return
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(key, name)
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(key, uid)
    set_default(spec, "selector", {})
    selector = dict_at(spec, "selector")
    if selector is None:
        return
    set_default(selector, "matchLabels", {})
    match = dict_at(selector, "matchLabels")
    if match is not None:
        match.setdefault(CONTROLLER_UID_LABEL, uid)


def default_job(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    set_default(spec, "parallelism", 1)
    set_default(spec, "backoffLimit", MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6)
    if not spec.get("completionMode"):
        spec["completionMode"] = "NonIndexed"
    set_default(spec, "suspend", False)
    policy = dict_at(spec, "podFailurePolicy")
    if policy is not None:
        for rule in dicts_at(policy, "rules"):
            for pattern in dicts_at(rule, "onPodConditions"):
                if not pattern.get("status"):
                    pattern["status"] = "True"
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if policy is not None else "TerminatingOrFailed"
    set_default(spec, "manualSelector", False)
    if spec.get("manualSelector") is not True:
        _generate_job_selector(obj, spec)
    default_pod_template_spec(spec.get("template"))
    template_meta = dict_at(dict_at(spec, "template") or {}, "metadata")
    template_labels = dict_at(template_meta, "labels") if template_meta is not None else None
    meta = dict_at(obj, "metadata")
    if template_labels is not None and meta is not None and not meta.get("labels"):
        meta["labels"] = dict(template_labels)


def default_cron_job(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    set_default(spec, "suspend", False)
    set_default(spec, "successfulJobsHistoryLimit", 3)
    set_default(spec, "failedJobsHistoryLimit", 1)
    job_template = dict_at(spec, "jobTemplate")
    if job_template is not None:
        default_template_metadata(job_template)
        job_spec = dict_at(job_template, "spec")
        if job_spec is not None:
            default_pod_template_spec(job_spec.get("template"))


def default_replication_controller(obj: Obj) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    template = dict_at(spec, "template")
    tmeta = dict_at(template, "metadata") if template is not None else None
    labels = dict_at(tmeta, "labels") if tmeta is not None else None
    meta = dict_at(obj, "metadata")
    if labels is not None:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if meta is not None and not meta.get("labels"):
            meta["labels"] = dict(labels)
    set_default(spec, "replicas", 1)
    default_pod_template_spec(template)


DEFAULTERS: dict[tuple[str, str], Defaulter] = {
    ("apps", "Deployment"): default_deployment,
    ("apps", "ReplicaSet"): default_replica_set,
    ("apps", "StatefulSet"): default_stateful_set,
    ("apps", "DaemonSet"): default_daemon_set,
    ("batch", "Job"): default_job,
    ("batch", "CronJob"): default_cron_job,
    ("", "ReplicationController"): default_replication_controller,
}
