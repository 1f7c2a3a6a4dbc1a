"""Conditions: Progressing reasons and timestamps, the deadline and its timer, ReplicaFailure,
foreign conditions (§1.10)."""

from __future__ import annotations

from typing import Any

from ferry.cluster.controllers.deployment import SyncResult
from tests.unit.deployment_world import DEPLOYMENTS, World, condition, make_deployment

STRATEGY = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def set_image(image: str) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image

    return mutate


async def broken_rollout(deadline: int = 600) -> tuple[World, str]:
    """3 replicas, surge 1, unavailable 0; the new template never becomes ready."""
    world = World(make_deployment(replicas=3, strategy=STRATEGY, progressDeadlineSeconds=deadline))
    await world.sync()
    world.settle()
    await world.sync()
    world.clock.advance(60)
    world.edit(set_image("broken"))
    await world.sync()
    new = world.rss()[-1]["metadata"]["name"]
    world.set_rs_status(new, ready=0)
    await world.sync()
    world.take()
    return world, new


async def test_a_stalled_rollout_times_out_when_the_deadline_passes() -> None:
    world, new = await broken_rollout(deadline=600)
    # Nothing happens, but the controller asks to be woken at lastUpdateTime + 600 s + 1 s.
    assert await world.sync_quiet() == SyncResult(requeue_after_seconds=601.0)
    world.clock.advance(300)
    assert await world.sync_quiet() == SyncResult(requeue_after_seconds=301.0)
    world.clock.advance(299.5)
    assert await world.sync_quiet() == SyncResult(requeue_rate_limited=True)  # under a second away
    world.clock.advance(1)
    assert await world.sync() is None
    actions, events = world.take()
    assert [(a[0], a[1]) for a in actions] == [("update", DEPLOYMENTS + "/status")]
    assert condition(world.deployment(), "Progressing") == {
        "type": "Progressing",
        "status": "False",
        "lastUpdateTime": "2026-01-01T00:11:00Z",
        "lastTransitionTime": "2026-01-01T00:11:00Z",
        "reason": "ProgressDeadlineExceeded",
        "message": f'ReplicaSet "{new}" has timed out progressing.',
    }
    assert events == []
    world.clock.advance(3600)
    assert await world.sync_quiet() is None  # timed out: no more timers


async def test_progress_refreshes_last_update_time_and_keeps_last_transition_time() -> None:
    world, new = await broken_rollout()
    before = condition(world.deployment(), "Progressing")
    assert before is not None and before["reason"] == "ReplicaSetUpdated"  # the new RS's pod appeared
    world.clock.advance(100)
    world.set_rs_status(new)  # the new pod became available
    await world.sync()
    after = condition(world.deployment(), "Progressing")
    assert after == {
        "type": "Progressing",
        "status": "True",
        "lastUpdateTime": "2026-01-01T00:02:40Z",
        "lastTransitionTime": before["lastTransitionTime"],
        "reason": "ReplicaSetUpdated",
        "message": f'ReplicaSet "{new}" is progressing.',
    }
    assert world.deployment()["status"]["conditions"][-1]["type"] == "Progressing"  # re-appended


async def test_progress_after_a_timeout_makes_progressing_true_again() -> None:
    world, new = await broken_rollout(deadline=60)
    world.clock.advance(61)
    await world.sync()
    assert condition(world.deployment(), "Progressing")["reason"] == "ProgressDeadlineExceeded"
    world.set_rs_status(new)
    await world.sync()
    cond = condition(world.deployment(), "Progressing")
    assert (cond["status"], cond["reason"]) == ("True", "ReplicaSetUpdated")
    assert cond["lastTransitionTime"] == cond["lastUpdateTime"]  # a status flip: both times new


async def test_without_a_deadline_there_is_no_progressing_condition_and_no_timer() -> None:
    world = World(make_deployment(replicas=2, progressDeadlineSeconds=2147483647))
    await world.sync()
    world.take()
    d = world.deployment()
    assert condition(d, "Progressing") is None
    assert condition(d, "Available")["reason"] == "MinimumReplicasUnavailable"
    assert await world.sync_quiet() is None


async def test_foreign_conditions_survive_controller_status_writes() -> None:
    foreign = {
        "type": "StatusUpdate",
        "status": "True",
        "lastUpdateTime": "2025-06-01T00:00:00Z",
        "lastTransitionTime": "2025-06-01T00:00:00Z",
        "reason": "Manual",
        "message": "written through /status",
    }
    world = World(make_deployment(replicas=2, status={"conditions": [foreign]}))
    await world.sync()
    world.settle()
    await world.sync()
    conditions = world.deployment()["status"]["conditions"]
    assert conditions[0] == foreign
    assert [c["type"] for c in conditions] == ["StatusUpdate", "Available", "Progressing"]


async def test_replica_failure_is_copied_from_the_new_replica_set_and_removed_with_it() -> None:
    world, new = await broken_rollout()
    failure = {
        "type": "ReplicaFailure",
        "status": "True",
        "lastTransitionTime": "2026-01-01T00:01:30Z",
        "reason": "FailedCreate",
        "message": 'pods "web-x" is forbidden: exceeded quota',
    }
    world.set_rs_status(new, ready=0, conditions=[failure])
    await world.sync()
    assert condition(world.deployment(), "ReplicaFailure") == {
        **failure,
        "lastUpdateTime": "2026-01-01T00:01:30Z",
    }
    world.set_rs_status(new, ready=0)
    await world.sync()
    assert condition(world.deployment(), "ReplicaFailure") is None


async def test_pausing_never_overwrites_a_timeout() -> None:
    world, _ = await broken_rollout(deadline=60)
    world.clock.advance(61)
    await world.sync()
    world.edit(lambda d: d["spec"].update(paused=True))
    await world.sync()
    assert condition(world.deployment(), "Progressing")["reason"] == "ProgressDeadlineExceeded"


async def test_a_found_replica_set_gets_found_new_replica_set_when_no_progressing_exists() -> None:
    world = World(make_deployment(replicas=1, progressDeadlineSeconds=2147483647))
    await world.sync()
    world.settle()
    await world.sync()
    world.edit(lambda d: d["spec"].update(progressDeadlineSeconds=600))
    world.take()
    await world.sync()
    actions, _ = world.take()
    first = actions[0][3]["status"]["conditions"][-1]
    assert (first["reason"], first["message"]) == (
        "FoundNewReplicaSet",
        f'Found new replica set "{world.rss()[0]["metadata"]["name"]}"',
    )
    assert condition(world.deployment(), "Progressing")["reason"] == "NewReplicaSetAvailable"
