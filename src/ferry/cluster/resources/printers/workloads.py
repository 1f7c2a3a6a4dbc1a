"""Printers for the workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
CronJob, ReplicationController and ControllerRevision (kube's ``printDeployment`` & co).

Conventions carried over from kube, observable in ``kubectl get``:

* ``READY`` of Deployments and StatefulSets is ``ready/desired``; ReplicaSets and DaemonSets show
  separate integer columns instead.
* Desired replicas come from ``spec.replicas``. kube's printer always sees a defaulted object, so
  an absent value prints the default (1), never a blank.
* Selectors: Deployment prints ``LabelSelectorAsSelector(...).String()`` (``<invalid>`` on error,
  empty for none) while the others use ``FormatLabelSelector`` (``<none>`` / ``<error>``); the
  node selector of a DaemonSet and the map selector of a ReplicationController use ``FormatLabels``.
* Job STATUS (kube >= 1.30): ``Complete`` > ``Failed`` > ``Terminating`` > ``Suspended`` >
  ``FailureTarget`` > ``Running``, each from a condition whose status is True. COMPLETIONS is
  ``succeeded/completions``, or ``succeeded/1 of P`` for a work queue with parallelism P > 1.
  DURATION is empty before ``startTime``, grows with ``now`` while running, and is frozen at
  ``completionTime - startTime`` after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ferry.cluster.resources.printers.common import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    Printer,
    age,
    col,
    condition_true,
    containers,
    d,
    format_label_selector,
    format_labels,
    lst,
    meta,
    n,
    name,
    s,
    selector_string,
    template_spec,
)
from ferry.cluster.resources.printers.duration import between, parse_time, since
from ferry.cluster.resources.types import Obj

READY = col("Ready", "Number of the pod with ready state")

DEPLOYMENT_COLUMNS = (
    NAME,
    READY,
    col("Up-to-date", "DeploymentStatus.updatedReplicas"),
    col("Available", "DeploymentStatus.availableReplicas"),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "DeploymentSpec.selector", priority=1),
)


def deployment_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    names, images = containers(template_spec(obj))
    return [
        name(obj),
        f"{n(status.get('readyReplicas'))}/{n(spec.get('replicas'), 1)}",
        n(status.get("updatedReplicas")),
        n(status.get("availableReplicas")),
        age(obj, now),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


REPLICASET_COLUMNS = (
    NAME,
    col("Desired", "ReplicaSetSpec.replicas", type="integer"),
    col("Current", "ReplicaSetStatus.replicas", type="integer"),
    col("Ready", "ReplicaSetStatus.readyReplicas", type="integer"),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "ReplicaSetSpec.selector", priority=1),
)


def replicaset_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    names, images = containers(template_spec(obj))
    return [
        name(obj),
        n(spec.get("replicas"), 1),
        n(status.get("replicas")),
        n(status.get("readyReplicas")),
        age(obj, now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


RC_COLUMNS = (
    NAME,
    col("Desired", "ReplicationControllerSpec.replicas", type="integer"),
    col("Current", "ReplicationControllerStatus.replicas", type="integer"),
    col("Ready", "ReplicationControllerStatus.readyReplicas", type="integer"),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "ReplicationControllerSpec.selector", priority=1),
)


def replicationcontroller_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    names, images = containers(template_spec(obj))
    return [
        name(obj),
        n(spec.get("replicas"), 1),
        n(status.get("replicas")),
        n(status.get("readyReplicas")),
        age(obj, now),
        names,
        images,
        format_labels(spec.get("selector")),
    ]


STATEFULSET_COLUMNS = (NAME, READY, AGE, CONTAINERS, IMAGES)


def statefulset_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    names, images = containers(template_spec(obj))
    ready = f"{n(status.get('readyReplicas'))}/{n(spec.get('replicas'), 1)}"
    return [name(obj), ready, age(obj, now), names, images]


DAEMONSET_COLUMNS = (
    NAME,
    col("Desired", "DaemonSetStatus.desiredNumberScheduled", type="integer"),
    col("Current", "DaemonSetStatus.currentNumberScheduled", type="integer"),
    col("Ready", "DaemonSetStatus.numberReady", type="integer"),
    col("Up-to-date", "DaemonSetStatus.updatedNumberScheduled", type="integer"),
    col("Available", "DaemonSetStatus.numberAvailable", type="integer"),
    col("Node Selector", "PodSpec.nodeSelector"),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "DaemonSetSpec.selector", priority=1),
)


def daemonset_row(obj: Obj, now: datetime) -> list[Any]:
    status = d(obj.get("status"))
    pod_spec = template_spec(obj)
    names, images = containers(pod_spec)
    counts = (
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "numberReady",
        "updatedNumberScheduled",
        "numberAvailable",
    )
    return [
        name(obj),
        *(n(status.get(k)) for k in counts),
        format_labels(pod_spec.get("nodeSelector")),
        age(obj, now),
        names,
        images,
        format_label_selector(d(obj.get("spec")).get("selector")),
    ]


JOB_COLUMNS = (
    NAME,
    col("Status", "Status of the job."),
    col("Completions", "JobStatus.succeeded"),
    col("Duration", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "JobSpec.selector", priority=1),
)


def job_status(obj: Obj) -> str:
    conditions = d(obj.get("status")).get("conditions")
    if condition_true(conditions, "Complete"):
        return "Complete"
    if condition_true(conditions, "Failed"):
        return "Failed"
    if meta(obj).get("deletionTimestamp") is not None:
        return "Terminating"
    if condition_true(conditions, "Suspended"):
        return "Suspended"
    if condition_true(conditions, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    succeeded = n(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{n(spec.get('completions'))}"
    elif n(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {n(spec.get('parallelism'))}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = "" if start is None else between(start, end or now)
    names, images = containers(template_spec(obj))
    return [
        name(obj),
        job_status(obj),
        completions,
        duration,
        age(obj, now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


CRONJOB_COLUMNS = (
    NAME,
    col("Schedule", "CronJobSpec.schedule"),
    col("Timezone", "CronJobSpec.timeZone"),
    col("Suspend", "CronJobSpec.suspend", type="boolean"),
    col("Active", "CronJobStatus.active", type="integer"),
    col("Last Schedule", "CronJobStatus.lastScheduleTime"),
    AGE,
    CONTAINERS,
    IMAGES,
    col("Selector", "JobSpec.selector", priority=1),
)


def cronjob_row(obj: Obj, now: datetime) -> list[Any]:
    spec, status = d(obj.get("spec")), d(obj.get("status"))
    job_spec = d(d(spec.get("jobTemplate")).get("spec"))
    names, images = containers(d(d(job_spec.get("template")).get("spec")))
    suspend = spec.get("suspend")
    last = status.get("lastScheduleTime")
    return [
        name(obj),
        s(spec.get("schedule")),
        s(spec.get("timeZone")) if spec.get("timeZone") is not None else "<none>",
        ("True" if suspend else "False") if isinstance(suspend, bool) else "<unset>",
        len(lst(status.get("active"))),
        since(last, now) if last is not None else "<none>",
        age(obj, now),
        names,
        images,
        format_label_selector(job_spec.get("selector")),
    ]


CONTROLLERREVISION_COLUMNS = (
    NAME,
    col("Controller", "Controller of the object"),
    col("Revision", "ControllerRevision.revision"),
    AGE,
)


def controllerrevision_row(obj: Obj, now: datetime) -> list[Any]:
    owner = next(
        (d(r) for r in lst(meta(obj).get("ownerReferences")) if d(r).get("controller") is True), None
    )
    controller = "<none>"
    if owner is not None:
        api_version, kind = s(owner.get("apiVersion")), s(owner.get("kind"))
        group = api_version.split("/", 1)[0] if "/" in api_version else ""
        group_kind = f"{kind}.{group}" if group else kind
        controller = f"{group_kind.lower()}/{s(owner.get('name'))}" if group_kind else s(owner.get("name"))
    return [name(obj), controller, n(obj.get("revision")), age(obj, now)]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("apps", "Deployment"): (DEPLOYMENT_COLUMNS, deployment_row),
    ("apps", "ReplicaSet"): (REPLICASET_COLUMNS, replicaset_row),
    ("apps", "StatefulSet"): (STATEFULSET_COLUMNS, statefulset_row),
    ("apps", "DaemonSet"): (DAEMONSET_COLUMNS, daemonset_row),
    ("apps", "ControllerRevision"): (CONTROLLERREVISION_COLUMNS, controllerrevision_row),
    ("", "ReplicationController"): (RC_COLUMNS, replicationcontroller_row),
    ("batch", "Job"): (JOB_COLUMNS, job_row),
    ("batch", "CronJob"): (CRONJOB_COLUMNS, cronjob_row),
}
