"""Builders and a fake cluster for the Job controller tests.

``JobWorld`` wires :class:`JobController` and :class:`OrphanPodFinalizerController` to the recording fakes:
sync once, assert the exact ``client.actions`` and events, sync again and assert nothing more happens.
Jobs look the way the API server stores them after defaulting (selector on the controller-uid label,
template labels, NonIndexed, backoffLimit 6, podReplacementPolicy TerminatingOrFailed).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.controllers.job import (
    JOBS,
    PODS,
    TRACKING_FINALIZER,
    JobController,
    OrphanPodFinalizerController,
)
from ferry.cluster.controllers.runtime.fakes import FakeClock, FakeLister, RecordingClient, RecordingRecorder
from ferry.cluster.controllers.runtime.types import Obj

NS = "default"
KEY = "default/pi"
JOB_UID = "job-uid"
START = "2026-01-01T00:00:00Z"  # FakeClock's default now
LABELS = {
    "batch.kubernetes.io/controller-uid": JOB_UID,
    "batch.kubernetes.io/job-name": "pi",
    "controller-uid": JOB_UID,
    "job-name": "pi",
}
TEMPLATE_SPEC = {"containers": [{"name": "pi", "image": "perl:5"}], "restartPolicy": "Never"}
OWNER = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "name": "pi",
    "uid": JOB_UID,
    "controller": True,
    "blockOwnerDeletion": True,
}


def job(
    *,
    completions: int | None = 1,
    parallelism: int = 1,
    backoff_limit: int = 6,
    deadline: int | None = None,
    status: dict[str, Any] | None = None,
    restart_policy: str = "Never",
    **spec_extra: Any,
) -> Obj:
    spec: dict[str, Any] = {
        "parallelism": parallelism,
        "backoffLimit": backoff_limit,
        "completionMode": "NonIndexed",
        "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed",
        "manualSelector": False,
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": JOB_UID}},
        "template": {
            "metadata": {"labels": dict(LABELS)},
            "spec": {**TEMPLATE_SPEC, "restartPolicy": restart_policy},
        },
        **spec_extra,
    }
    if completions is not None:
        spec["completions"] = completions
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    meta = {
        "name": "pi",
        "namespace": NS,
        "uid": JOB_UID,
        "resourceVersion": "5",
        "generation": 1,
        "labels": dict(LABELS),
    }
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec, "status": status or {}}


def running_status(active: int = 1, **extra: Any) -> dict[str, Any]:
    """The status a sync leaves behind while ``active`` pods run (so the next sync has nothing to write)."""
    status: dict[str, Any] = {"startTime": START, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}
    if active:
        status["active"] = active
    return status | extra


def job_pod(
    name: str,
    phase: str = "Running",
    *,
    finalizer: bool = True,
    deleting: bool = False,
    ready: bool = False,
    finished_at: str | None = None,
    restarts: int = 0,
    node: str = "node-1",
) -> Obj:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": NS,
        "uid": f"uid-{name}",
        "resourceVersion": "30",
        "creationTimestamp": START,
        "labels": dict(LABELS),
        "ownerReferences": [dict(OWNER)],
    }
    if finalizer:
        meta["finalizers"] = [TRACKING_FINALIZER]
    if deleting:
        meta |= {"deletionTimestamp": START, "deletionGracePeriodSeconds": 30}
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": START}
        ],
    }
    terminated = (
        {"exitCode": 0 if phase == "Succeeded" else 1, "finishedAt": finished_at} if finished_at else None
    )
    state = {"terminated": terminated} if terminated else {"running": {"startedAt": START}}
    status["containerStatuses"] = [{"name": "pi", "ready": ready, "restartCount": restarts, "state": state}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {**TEMPLATE_SPEC, "nodeName": node},
        "status": status,
    }


@dataclass
class JobWorld:
    jobs: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        self.listers = {
            JOBS: FakeLister(copy.deepcopy(self.jobs)),
            PODS: FakeLister(copy.deepcopy(self.pods)),
        }
        self.client = RecordingClient(self.listers, self.clock)
        self.recorder = RecordingRecorder()
        self.controller = JobController(
            self.listers[JOBS], self.listers[PODS], self.client, self.recorder, self.clock
        )

    def orphans(self) -> OrphanPodFinalizerController:
        return OrphanPodFinalizerController(
            self.listers[JOBS], self.listers[PODS], self.client, self.recorder, self.clock
        )

    def take(self) -> list[tuple[Any, ...]]:
        actions, self.client.actions = self.client.actions, []
        return actions

    def events(self) -> list[tuple[str, str, str, str]]:
        events, self.recorder.events = self.recorder.events, []
        return events

    def job(self) -> Obj:
        stored = self.listers[JOBS].get(NS, "pi")
        assert stored is not None
        return stored

    def pod_names(self) -> list[str]:
        return [p["metadata"]["name"] for p in self.listers[PODS].list(NS)]


def strip_patch(pod_name: str, index: int = 0) -> tuple[Any, ...]:
    path = f"/metadata/finalizers/{index}"
    ops = [{"op": "test", "path": path, "value": TRACKING_FINALIZER}, {"op": "remove", "path": path}]
    return ("patch", PODS, NS, pod_name, "json", ops)


def status_update(body: Obj) -> tuple[Any, ...]:
    return ("update", f"{JOBS}/status", NS, body)
