"""Job controller: activeDeadlineSeconds requeues for the deadline, then fails the Job (DeadlineExceeded)."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.job import PODS
from ferry.cluster.controllers.runtime.manager import SyncResult
from tests.unit.job_support import KEY, NS, JobWorld, job, job_pod, running_status, status_update, strip_patch

AT_DEADLINE = "2026-01-01T00:01:00Z"
TARGET = {
    "type": "FailureTarget",
    "status": "True",
    "lastProbeTime": AT_DEADLINE,
    "lastTransitionTime": AT_DEADLINE,
    "reason": "DeadlineExceeded",
    "message": "Job was active longer than specified deadline",
}


async def test_before_the_deadline_the_sync_only_asks_to_come_back_at_the_deadline() -> None:
    world = JobWorld(jobs=[job(deadline=60, status=running_status())], pods=[job_pod("pi-a")])
    world.clock.advance(45)

    assert await world.controller.sync(KEY) == SyncResult(requeue_after_seconds=15.0)
    assert world.take() == []


async def test_at_the_deadline_active_pods_are_deleted_and_the_job_fails_once_they_are_gone() -> None:
    world = JobWorld(jobs=[job(deadline=60, status=running_status())], pods=[job_pod("pi-a", ready=True)])
    world.clock.advance(60)

    assert await world.controller.sync(KEY) is None

    first = job(deadline=60, status=running_status(active=0, terminating=1, conditions=[TARGET]))
    first["status"]["uncountedTerminatedPods"] = {"failed": ["uid-pi-a"]}
    counted = copy.deepcopy(first)
    counted["metadata"]["resourceVersion"] = "1000"
    counted["status"] |= {"failed": 1, "uncountedTerminatedPods": {}}
    assert world.take() == [
        ("delete", PODS, NS, "pi-a"),
        status_update(first),
        strip_patch("pi-a"),  # the fake already removed the pod (404): the finalizer counts as gone
        status_update(counted),
    ]
    assert world.events() == [(f"{NS}/pi", "Normal", "SuccessfulDelete", "Deleted pod: pi-a")]

    failed_at = "2026-01-01T00:01:05Z"
    flushed = copy.deepcopy(world.job())
    flushed["status"] |= {"terminating": 0}
    final = copy.deepcopy(flushed)
    final["metadata"]["resourceVersion"] = str(int(flushed["metadata"]["resourceVersion"]) + 1)
    final["status"]["conditions"].append(
        TARGET | {"type": "Failed", "lastProbeTime": failed_at, "lastTransitionTime": failed_at}
    )
    world.clock.advance(5)  # the pod is gone now: nothing terminates any more, the Job is Failed

    await world.controller.sync(KEY)

    # As kube: the changed counters are flushed first, the terminal condition is a second write.
    assert world.take() == [status_update(flushed), status_update(final)]
    assert world.events() == [
        (f"{NS}/pi", "Warning", "DeadlineExceeded", "Job was active longer than specified deadline")
    ]
    await world.controller.sync(KEY)
    assert world.take() == []
