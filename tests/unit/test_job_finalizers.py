"""Job tracking finalizer: pods carry it, and pods of a deleted or finished Job never keep it."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.job import JOBS, PODS, TRACKING_FINALIZER
from tests.unit.job_support import JobWorld, job, job_pod, running_status, strip_patch

POD_KEY = "default/pi-a"


async def test_a_terminating_pod_whose_job_was_deleted_loses_the_finalizer() -> None:
    orphan = job_pod("pi-a", deleting=True)
    orphan["metadata"]["resourceVersion"] = "31"
    world = JobWorld(pods=[orphan])
    orphans = world.orphans()

    assert orphans.on_update(PODS, job_pod("pi-a"), orphan) == [POD_KEY]
    await orphans.sync(POD_KEY)

    assert world.take() == [strip_patch("pi-a")]
    await orphans.sync(POD_KEY)
    assert world.take() == []


async def test_deleting_a_job_queues_its_pods_that_still_carry_the_finalizer() -> None:
    world = JobWorld(pods=[job_pod("pi-a"), job_pod("pi-b", "Succeeded", finalizer=False)])
    assert world.orphans().on_delete(JOBS, job()) == [POD_KEY]


async def test_pods_of_a_running_job_keep_their_finalizer() -> None:
    world = JobWorld(jobs=[job(status=running_status())], pods=[job_pod("pi-a", deleting=True)])
    orphans = world.orphans()

    assert orphans.on_add(PODS, job_pod("pi-a", deleting=True)) == []
    await orphans.sync(POD_KEY)
    assert world.take() == []


async def test_a_pod_without_controller_loses_the_finalizer_even_behind_other_finalizers() -> None:
    pod = job_pod("pi-a")
    pod["metadata"]["ownerReferences"] = []
    pod["metadata"]["finalizers"] = ["example.com/keep", TRACKING_FINALIZER]
    world = JobWorld(pods=[pod])
    orphans = world.orphans()

    assert orphans.on_add(PODS, pod) == [POD_KEY]
    await orphans.sync(POD_KEY)

    assert world.take() == [strip_patch("pi-a", index=1)]
    assert world.listers[PODS].get("default", "pi-a")["metadata"]["finalizers"] == ["example.com/keep"]  # type: ignore[index]


async def test_a_finished_job_queues_the_pods_still_carrying_the_finalizer() -> None:
    finished = job(status=running_status(active=0, conditions=[{"type": "Complete", "status": "True"}]))
    world = JobWorld(jobs=[finished], pods=[job_pod("pi-a", "Succeeded")])
    orphans = world.orphans()

    assert orphans.on_update(JOBS, job(), copy.deepcopy(finished)) == [POD_KEY]
    await orphans.sync(POD_KEY)
    assert world.take() == [strip_patch("pi-a")]
