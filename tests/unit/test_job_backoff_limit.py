"""Job controller: failed pods count against backoffLimit; replacements wait for the pod-failure back-off."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.job import PODS
from ferry.cluster.controllers.runtime.manager import SyncResult
from tests.unit.job_support import KEY, NS, JobWorld, job, job_pod, running_status, status_update, strip_patch

NOW = "2026-01-01T00:01:00Z"
TARGET = {
    "type": "FailureTarget",
    "status": "True",
    "lastProbeTime": NOW,
    "lastTransitionTime": NOW,
    "reason": "BackoffLimitExceeded",
    "message": "Job has reached the specified backoff limit",
}


async def test_one_failure_more_than_the_backoff_limit_fails_the_job() -> None:
    failed = job_pod("pi-b", "Failed", finished_at="2026-01-01T00:00:50Z")
    world = JobWorld(jobs=[job(backoff_limit=1, status=running_status(active=1, failed=1))], pods=[failed])
    world.clock.advance(60)

    await world.controller.sync(KEY)

    first = job(backoff_limit=1, status=running_status(active=0, failed=1, conditions=[TARGET]))
    first["status"]["uncountedTerminatedPods"] = {"failed": ["uid-pi-b"]}
    final = copy.deepcopy(first)
    final["metadata"]["resourceVersion"] = "1000"
    final["status"] |= {
        "failed": 2,
        "uncountedTerminatedPods": {},
        "conditions": [TARGET, TARGET | {"type": "Failed"}],
    }
    assert world.take() == [status_update(first), strip_patch("pi-b"), status_update(final)]
    assert world.events() == [
        (f"{NS}/pi", "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    ]
    await world.controller.sync(KEY)
    assert world.take() == []


async def test_with_restart_policy_on_failure_container_restarts_count_against_the_limit() -> None:
    crashing = job_pod("pi-a", restarts=2)
    world = JobWorld(
        jobs=[job(backoff_limit=2, restart_policy="OnFailure", status=running_status())], pods=[crashing]
    )
    world.clock.advance(60)

    await world.controller.sync(KEY)

    actions = world.take()
    assert [a[0] for a in actions] == ["delete", "update", "patch", "update"]
    assert actions[1][3]["status"]["conditions"][0]["reason"] == "BackoffLimitExceeded"


async def test_a_failed_pod_is_replaced_only_after_the_back_off() -> None:
    failed = job_pod("pi-a", "Failed", finished_at="2026-01-01T00:00:57Z")
    world = JobWorld(jobs=[job(status=running_status())], pods=[failed])
    world.clock.advance(60)  # 3 s after the failure; the first back-off is 10 s

    result = await world.controller.sync(KEY)

    assert result == SyncResult(requeue_after_seconds=7.0)
    counted = job(status=running_status(active=0))
    counted["status"]["uncountedTerminatedPods"] = {"failed": ["uid-pi-a"]}
    final = copy.deepcopy(counted)
    final["metadata"]["resourceVersion"] = "1000"
    final["status"] |= {"failed": 1, "uncountedTerminatedPods": {}}
    assert world.take() == [status_update(counted), strip_patch("pi-a"), status_update(final)]
    assert await world.controller.sync(KEY) == SyncResult(requeue_after_seconds=7.0)
    assert world.take() == []

    world.clock.advance(7)
    assert await world.controller.sync(KEY) is None
    assert [a[:3] for a in world.take()] == [("create", PODS, NS), ("update", "batch/v1/jobs/status", NS)]


async def test_the_second_consecutive_failure_doubles_the_back_off() -> None:
    world = JobWorld(
        jobs=[job(status=running_status())],
        pods=[job_pod("pi-a", "Failed", finished_at="2026-01-01T00:00:59Z")],
    )
    world.clock.advance(60)
    await world.controller.sync(KEY)
    world.clock.advance(9)
    await world.controller.sync(KEY)
    world.take()
    (replacement,) = [p for p in world.listers[PODS].list(NS) if p["metadata"]["name"] != "pi-a"]
    failed = copy.deepcopy(replacement)
    failed["status"] = job_pod("x", "Failed", finished_at="2026-01-01T00:01:10Z")["status"]
    world.listers[PODS].put(failed)
    world.clock.advance(2)  # now 00:01:11, one second after the second failure

    assert await world.controller.sync(KEY) == SyncResult(requeue_after_seconds=19.0)
