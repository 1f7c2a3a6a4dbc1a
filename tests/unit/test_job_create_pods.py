"""Job controller: pods created from the template, within parallelism and the remaining completions."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.job import PODS, TRACKING_FINALIZER
from tests.unit.job_support import (
    KEY,
    LABELS,
    NS,
    OWNER,
    TEMPLATE_SPEC,
    JobWorld,
    job,
    job_pod,
    running_status,
    status_update,
)

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "generateName": "pi-",
        "labels": LABELS,
        "finalizers": [TRACKING_FINALIZER],
        "ownerReferences": [OWNER],
    },
    "spec": TEMPLATE_SPEC,
}


async def test_a_new_job_starts_min_of_parallelism_and_completions_pods_and_records_them() -> None:
    world = JobWorld(jobs=[job(completions=3, parallelism=2)])

    result = await world.controller.sync(KEY)

    assert result is None
    created = world.pod_names()
    assert world.take() == [
        ("create", PODS, NS, POD),
        ("create", PODS, NS, POD),
        status_update(job(completions=3, parallelism=2, status=running_status(active=2))),
    ]
    assert world.events() == [
        (f"{NS}/pi", "Normal", "SuccessfulCreate", f"Created pod: {name}") for name in created
    ]
    await world.controller.sync(KEY)
    assert world.take() == []


async def test_without_completions_parallelism_pods_run_until_one_succeeds() -> None:
    world = JobWorld(jobs=[job(completions=None, parallelism=3)])

    await world.controller.sync(KEY)

    assert [a[0] for a in world.take()] == ["create", "create", "create", "update"]
    await world.controller.sync(KEY)
    assert world.take() == []


async def test_only_the_remaining_completions_get_pods() -> None:
    status = running_status(active=1, succeeded=2)
    world = JobWorld(jobs=[job(completions=4, parallelism=3, status=status)], pods=[job_pod("pi-a")])

    await world.controller.sync(KEY)

    assert world.take() == [
        ("create", PODS, NS, POD),
        status_update(job(completions=4, parallelism=3, status=status | {"active": 2})),
    ]


async def test_lowering_parallelism_deletes_the_least_advanced_pods_first() -> None:
    pods = [
        job_pod("pi-ready", ready=True),
        job_pod("pi-pending", "Pending"),
        job_pod("pi-unbound", "Pending", node=""),
    ]
    world = JobWorld(jobs=[job(completions=3, parallelism=1, status=running_status(active=3))], pods=pods)

    await world.controller.sync(KEY)

    actions = world.take()
    assert [a[:4] for a in actions[:4]] == [
        ("patch", PODS, NS, "pi-unbound"),  # the tracking finalizer goes first, then the pod
        ("delete", PODS, NS, "pi-unbound"),
        ("patch", PODS, NS, "pi-pending"),
        ("delete", PODS, NS, "pi-pending"),
    ]
    assert actions[4:] == [
        status_update(
            job(completions=3, parallelism=1, status=running_status(active=1, terminating=2, ready=1))
        )
    ]
    assert world.events() == [
        (f"{NS}/pi", "Normal", "SuccessfulDelete", "Deleted pod: pi-unbound"),
        (f"{NS}/pi", "Normal", "SuccessfulDelete", "Deleted pod: pi-pending"),
    ]


async def test_once_the_deleted_pods_are_gone_terminating_drops_to_zero_and_then_all_is_quiet() -> None:
    pods = [job_pod("pi-ready", ready=True), job_pod("pi-pending", "Pending")]
    world = JobWorld(jobs=[job(completions=3, parallelism=1, status=running_status(active=2))], pods=pods)
    await world.controller.sync(KEY)
    world.take()
    expected = copy.deepcopy(world.job())
    expected["status"]["terminating"] = 0

    await world.controller.sync(KEY)  # the fake removed the pod at once; a kubelet would take a while

    assert world.take() == [status_update(expected)]
    await world.controller.sync(KEY)
    assert world.take() == []
