"""Job controller: a suspended Job's pods are deleted and it gets the Suspended condition; resuming restarts."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.job import PODS
from tests.unit.job_support import KEY, NS, JobWorld, job, job_pod, running_status, status_update, strip_patch

LATER = "2026-01-01T00:00:30Z"


async def test_suspending_deletes_the_active_pods_and_records_the_condition() -> None:
    world = JobWorld(jobs=[job(suspend=True, status=running_status())], pods=[job_pod("pi-a")])
    world.clock.advance(30)

    await world.controller.sync(KEY)

    suspended = {
        "type": "Suspended",
        "status": "True",
        "lastProbeTime": LATER,
        "lastTransitionTime": LATER,
        "reason": "JobSuspended",
        "message": "Job suspended",
    }
    expected = job(suspend=True, status=running_status(active=0, terminating=1, conditions=[suspended]))
    assert world.take() == [strip_patch("pi-a"), ("delete", PODS, NS, "pi-a"), status_update(expected)]
    assert world.events() == [
        (f"{NS}/pi", "Normal", "SuccessfulDelete", "Deleted pod: pi-a"),
        (f"{NS}/pi", "Normal", "Suspended", "Job suspended"),
    ]


async def test_a_job_created_suspended_starts_nothing_and_has_no_start_time() -> None:
    world = JobWorld(jobs=[job(suspend=True)])

    await world.controller.sync(KEY)

    (action,) = world.take()
    assert action[:2] == ("update", "batch/v1/jobs/status")
    assert "startTime" not in action[3]["status"]
    assert action[3]["status"]["conditions"][0]["reason"] == "JobSuspended"
    await world.controller.sync(KEY)
    assert world.take() == []


async def test_resuming_flips_the_condition_restarts_the_clock_and_creates_pods() -> None:
    world = JobWorld(jobs=[job(suspend=True)])
    await world.controller.sync(KEY)
    world.take()
    resumed = copy.deepcopy(world.job())
    resumed["spec"]["suspend"] = False
    world.listers["batch/v1/jobs"].put(resumed)
    world.clock.advance(30)
    world.events()

    await world.controller.sync(KEY)

    actions = world.take()
    assert [a[0] for a in actions] == ["create", "update"]
    status = actions[1][3]["status"]
    assert (status["startTime"], status["active"]) == (LATER, 1)
    assert [(c["status"], c["reason"]) for c in status["conditions"]] == [("False", "JobResumed")]
    assert world.events()[-1] == (f"{NS}/pi", "Normal", "Resumed", "Job resumed")
