"""Job controller: succeeded pods are tracked through uncountedTerminatedPods and finalizers, then Complete."""

from __future__ import annotations

import copy

from tests.unit.job_support import (
    KEY,
    NS,
    START,
    JobWorld,
    job,
    job_pod,
    running_status,
    status_update,
    strip_patch,
)

FINISHED = "2026-01-01T00:00:30Z"
CRITERIA = {
    "type": "SuccessCriteriaMet",
    "status": "True",
    "lastProbeTime": "2026-01-01T00:01:00Z",
    "lastTransitionTime": "2026-01-01T00:01:00Z",
    "reason": "CompletionsReached",
    "message": "Reached expected number of succeeded pods",
}
COMPLETE = CRITERIA | {"type": "Complete"}


async def test_the_last_success_is_counted_once_and_the_job_completes_in_one_sync() -> None:
    pods = [
        job_pod("pi-a", "Succeeded", finished_at=FINISHED),
        job_pod("pi-b", "Succeeded", finished_at=FINISHED),
    ]
    spec = {"completions": 2, "parallelism": 2}
    world = JobWorld(jobs=[job(**spec, status=running_status(active=2))], pods=pods)
    world.clock.advance(60)

    await world.controller.sync(KEY)

    # 1. the finished pods' UIDs and the interim condition, 2. finalizers off, 3. counted, Complete.
    first = job(**spec, status=running_status(active=0, conditions=[CRITERIA]))
    first["status"]["uncountedTerminatedPods"] = {"succeeded": ["uid-pi-a", "uid-pi-b"]}
    final = copy.deepcopy(first)
    final["metadata"]["resourceVersion"] = "1000"
    final["status"] |= {
        "succeeded": 2,
        "uncountedTerminatedPods": {},
        "conditions": [CRITERIA, COMPLETE],
        "completionTime": "2026-01-01T00:01:00Z",
    }
    assert world.take() == [
        status_update(first),
        strip_patch("pi-a"),
        strip_patch("pi-b"),
        status_update(final),
    ]
    assert world.events() == [(f"{NS}/pi", "Normal", "Completed", "Job completed")]
    await world.controller.sync(KEY)
    assert world.take() == []


async def test_a_success_before_the_others_finish_is_counted_and_nothing_else_changes() -> None:
    pods = [job_pod("pi-a", "Succeeded", finished_at=FINISHED), job_pod("pi-b")]
    spec = {"completions": 2, "parallelism": 2}
    world = JobWorld(jobs=[job(**spec, status=running_status(active=2))], pods=pods)

    await world.controller.sync(KEY)

    first = job(**spec, status=running_status(active=1))
    first["status"]["uncountedTerminatedPods"] = {"succeeded": ["uid-pi-a"]}
    final = copy.deepcopy(first)
    final["metadata"]["resourceVersion"] = "1000"
    final["status"] |= {"succeeded": 1, "uncountedTerminatedPods": {}}
    assert world.take() == [status_update(first), strip_patch("pi-a"), status_update(final)]
    assert world.events() == []
    await world.controller.sync(KEY)
    assert world.take() == []


async def test_a_pod_already_without_finalizer_is_already_counted() -> None:
    counted = job_pod("pi-a", "Succeeded", finalizer=False, finished_at=FINISHED)
    status = running_status(active=0, succeeded=1, conditions=[CRITERIA], startTime=START)
    world = JobWorld(jobs=[job(status=status)], pods=[counted])
    world.clock.advance(60)

    await world.controller.sync(KEY)

    final = job(
        status=status | {"conditions": [CRITERIA, COMPLETE], "completionTime": "2026-01-01T00:01:00Z"}
    )
    assert world.take() == [status_update(final)]
    assert world.events() == [(f"{NS}/pi", "Normal", "Completed", "Job completed")]


async def test_cached_objects_are_never_mutated() -> None:
    pods = [
        job_pod("pi-a", "Succeeded", finished_at=FINISHED),
        job_pod("pi-b", "Failed", finished_at=FINISHED),
    ]
    world = JobWorld(jobs=[job(completions=2, parallelism=2, status=running_status(active=2))], pods=pods)
    cached = [o for lister in world.listers.values() for o in lister.list()]
    snapshot = copy.deepcopy(cached)

    await world.controller.sync(KEY)

    assert world.take()
    assert cached == snapshot
