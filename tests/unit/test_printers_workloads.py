"""Workload Tables (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, RC, ControllerRevision)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ferry.cluster.resources.printers import PRINTERS

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(seconds: int) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return PRINTERS[(group, kind)][1](obj, NOW)


def header(group: str, kind: str) -> list[tuple[str, str, int]]:
    return [(c.name, c.type, c.priority) for c in PRINTERS[(group, kind)][0]]


TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}, {"name": "log", "image": "busybox"}]},
}


def workload(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "creationTimestamp": ago(3600)},
        "spec": {"template": TEMPLATE, **spec},
    }


def test_deployment_columns_and_row() -> None:
    assert header("apps", "Deployment") == [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Up-to-date", "string", 0),
        ("Available", "string", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ]
    obj = workload(replicas=3, selector={"matchLabels": {"app": "web", "tier": "fe"}})
    obj["status"] = {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    assert row("apps", "Deployment", obj) == [
        "web",
        "2/3",
        3,
        2,
        "60m",
        "web,log",
        "nginx:1.25,busybox",
        "app=web,tier=fe",
    ]


def test_deployment_selector_string_forms() -> None:
    expr = {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod", "dev"]}]}
    assert row("apps", "Deployment", workload(selector=expr))[7] == "env notin (dev,prod)"
    assert row("apps", "Deployment", workload())[7] == ""
    bad = {"matchExpressions": [{"key": "env", "operator": "Bogus"}]}
    assert row("apps", "Deployment", workload(selector=bad))[7] == "<invalid>"


def test_deployment_without_status_or_replicas_prints_defaults() -> None:
    assert row("apps", "Deployment", workload())[1:4] == ["0/1", 0, 0]


def test_replicaset_row() -> None:
    assert [c for c, _, _ in header("apps", "ReplicaSet")] == [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    assert header("apps", "ReplicaSet")[1] == ("Desired", "integer", 0)
    obj = workload(replicas=2, selector={"matchLabels": {"app": "web", "pod-template-hash": "5d9c"}})
    obj["status"] = {"replicas": 2, "readyReplicas": 1}
    assert row("apps", "ReplicaSet", obj) == [
        "web",
        2,
        2,
        1,
        "60m",
        "web,log",
        "nginx:1.25,busybox",
        "app=web,pod-template-hash=5d9c",
    ]
    assert row("apps", "ReplicaSet", workload(selector={}))[7] == "<none>"
    assert (
        row("apps", "ReplicaSet", workload(selector={"matchExpressions": [{"key": "a", "operator": "In"}]}))[
            7
        ]
        == "<error>"
    )


def test_statefulset_row() -> None:
    assert [c for c, _, _ in header("apps", "StatefulSet")] == [
        "Name",
        "Ready",
        "Age",
        "Containers",
        "Images",
    ]
    obj = workload(replicas=3)
    obj["status"] = {"readyReplicas": 1}
    assert row("apps", "StatefulSet", obj) == ["web", "1/3", "60m", "web,log", "nginx:1.25,busybox"]


def test_daemonset_row() -> None:
    assert [c for c, _, _ in header("apps", "DaemonSet")] == [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Up-to-date",
        "Available",
        "Node Selector",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    template = {"spec": {**TEMPLATE["spec"], "nodeSelector": {"kubernetes.io/os": "linux", "disk": "ssd"}}}
    obj = {
        "metadata": {"name": "agent", "creationTimestamp": ago(90)},
        "spec": {"template": template, "selector": {"matchLabels": {"app": "agent"}}},
        "status": {
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "numberReady": 2,
            "updatedNumberScheduled": 3,
            "numberAvailable": 2,
        },
    }
    assert row("apps", "DaemonSet", obj) == [
        "agent",
        3,
        3,
        2,
        3,
        2,
        "disk=ssd,kubernetes.io/os=linux",
        "90s",
        "web,log",
        "nginx:1.25,busybox",
        "app=agent",
    ]
    assert row("apps", "DaemonSet", workload())[6] == "<none>"


def job(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "pi", "creationTimestamp": ago(600)},
        "spec": {
            "template": TEMPLATE,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
            **spec,
        },
        "status": status or {},
    }


def test_job_columns() -> None:
    assert [c for c, _, _ in header("batch", "Job")] == [
        "Name",
        "Status",
        "Completions",
        "Duration",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]


def test_running_job_duration_grows_with_now() -> None:
    obj = job({"startTime": ago(125), "active": 1}, completions=1, parallelism=1)
    assert row("batch", "Job", obj)[:5] == ["pi", "Running", "0/1", "2m5s", "10m"]
    assert row("batch", "Job", obj)[7] == "batch.kubernetes.io/controller-uid=u1"


def test_complete_job_duration_is_frozen() -> None:
    status = {
        "startTime": ago(500),
        "completionTime": ago(470),
        "succeeded": 1,
        "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True"},
        ],
    }
    assert row("batch", "Job", job(status, completions=1))[1:4] == ["Complete", "1/1", "30s"]


@pytest.mark.parametrize(
    ("conditions", "deleting", "expected"),
    [
        ([{"type": "Failed", "status": "True"}], False, "Failed"),
        ([{"type": "Suspended", "status": "True"}], False, "Suspended"),
        ([{"type": "Suspended", "status": "True"}], True, "Terminating"),
        ([{"type": "FailureTarget", "status": "True"}], False, "FailureTarget"),
        ([{"type": "Complete", "status": "False"}], False, "Running"),
        ([{"type": "Complete", "status": "True"}, {"type": "Failed", "status": "True"}], True, "Complete"),
    ],
)
def test_job_status_precedence(conditions: list[dict[str, str]], deleting: bool, expected: str) -> None:
    obj = job({"conditions": conditions})
    if deleting:
        obj["metadata"]["deletionTimestamp"] = ago(1)
    assert row("batch", "Job", obj)[1] == expected


def test_job_completions_forms() -> None:
    assert row("batch", "Job", job({"succeeded": 2}, completions=5))[2] == "2/5"
    assert row("batch", "Job", job({"succeeded": 2}, parallelism=3))[2] == "2/1 of 3"
    assert row("batch", "Job", job({}, parallelism=1))[2] == "0/1"
    assert row("batch", "Job", job())[3] == ""  # not started: no duration


def test_cronjob_row() -> None:
    obj: dict[str, Any] = {
        "metadata": {"name": "nightly", "creationTimestamp": ago(7200)},
        "spec": {"schedule": "0 3 * * *", "suspend": False, "jobTemplate": {"spec": {"template": TEMPLATE}}},
        "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(65)},
    }
    assert header("batch", "CronJob")[3] == ("Suspend", "boolean", 0)
    assert row("batch", "CronJob", obj) == [
        "nightly",
        "0 3 * * *",
        "<none>",
        "False",
        1,
        "65s",
        "120m",
        "web,log",
        "nginx:1.25,busybox",
        "<none>",
    ]
    obj["spec"] |= {"timeZone": "Europe/Paris", "suspend": True}
    del obj["status"]["lastScheduleTime"]
    assert row("batch", "CronJob", obj)[2:6] == ["Europe/Paris", "True", 1, "<none>"]
    del obj["spec"]["suspend"]
    assert row("batch", "CronJob", obj)[3] == "<unset>"


def test_replicationcontroller_row() -> None:
    obj = workload(replicas=2, selector={"app": "web"})
    obj["status"] = {"replicas": 2, "readyReplicas": 2}
    assert row("", "ReplicationController", obj) == [
        "web",
        2,
        2,
        2,
        "60m",
        "web,log",
        "nginx:1.25,busybox",
        "app=web",
    ]


def test_controllerrevision_row() -> None:
    obj: dict[str, Any] = {
        "metadata": {
            "name": "web-7c9f",
            "creationTimestamp": ago(30),
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": False},
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True},
            ],
        },
        "revision": 4,
    }
    assert [c for c, _, _ in header("apps", "ControllerRevision")] == [
        "Name",
        "Controller",
        "Revision",
        "Age",
    ]
    assert row("apps", "ControllerRevision", obj) == ["web-7c9f", "statefulset.apps/db", 4, "30s"]
    obj["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "Pod", "name": "p", "controller": True}
    ]
    assert row("apps", "ControllerRevision", obj)[1] == "pod/p"
    del obj["metadata"]["ownerReferences"]
    assert row("apps", "ControllerRevision", obj)[1] == "<none>"
