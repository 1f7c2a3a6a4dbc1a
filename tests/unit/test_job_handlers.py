"""Job controller event handlers: which Job keys to sync, now or batched (kube's syncJobBatchPeriod)."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.job import JOBS, PODS
from tests.unit.job_support import KEY, JobWorld, job, job_pod, running_status


def test_pod_events_batch_a_sync_of_the_owning_job() -> None:
    world = JobWorld(jobs=[job()])
    pod, changed = job_pod("pi-a"), job_pod("pi-a", "Succeeded")
    changed["metadata"]["resourceVersion"] = "31"

    assert world.controller.on_add(PODS, pod) == [(KEY, 1.0)]
    assert world.controller.on_update(PODS, pod, copy.deepcopy(pod)) == []  # resync: same resourceVersion
    assert world.controller.on_update(PODS, pod, changed) == [(KEY, 1.0)]
    assert world.controller.on_delete(PODS, changed) == [(KEY, 1.0)]


def test_pods_of_unknown_or_replaced_jobs_are_ignored() -> None:
    world = JobWorld(jobs=[job()])
    stranger = job_pod("pi-a")
    stranger["metadata"]["ownerReferences"][0]["uid"] = "another-uid"
    assert world.controller.on_add(PODS, stranger) == []


def test_spec_changes_sync_at_once_status_changes_batched_and_a_new_deadline_is_scheduled() -> None:
    world = JobWorld(jobs=[job()])
    world.clock.advance(20)
    old = job(status=running_status())
    spec_change = copy.deepcopy(old)
    spec_change["metadata"]["generation"] = 2
    status_change = copy.deepcopy(old)
    status_change["status"]["ready"] = 1
    deadline = job(deadline=60, status=running_status())
    deadline["metadata"]["generation"] = 2

    assert world.controller.on_add(JOBS, old) == [KEY]
    assert world.controller.on_update(JOBS, old, spec_change) == [KEY]
    assert world.controller.on_update(JOBS, old, status_change) == [(KEY, 1.0)]
    assert world.controller.on_update(JOBS, old, deadline) == [KEY, (KEY, 40.0)]
    assert world.controller.on_delete(JOBS, old) == [KEY]
