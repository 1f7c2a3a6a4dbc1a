"""Deployment status: counts, the Available/Progressing/ReplicaFailure conditions, the deadline (§1.10).

``calculate_status`` sums the ReplicaSets' **status** (replicas, updated = the new RS's, ready,
available) and their **spec** (for unavailableReplicas), copies every existing condition (foreign
types included: a ``StatusUpdate`` condition written through /status survives) and sets Available.

Two writers use it:

* ``sync_deployment_status`` (scaling, paused, being deleted): status plus Available only.
* ``sync_rollout_status`` (rolling/Recreate): also Progressing. Without a deadline, Progressing is
  removed. Otherwise, unless already complete (``NewReplicaSetAvailable`` and no old replicas), the
  first of: complete → ``NewReplicaSetAvailable``; progress since the stored status (more updated /
  ready / available, fewer old) → ``ReplicaSetUpdated`` re-added so lastUpdateTime moves;
  ``lastUpdateTime + progressDeadlineSeconds < now`` → False ``ProgressDeadlineExceeded``. A
  ReplicaFailure condition of the new RS (else of any RS) is mirrored, and removed when none has one.

**Timer**: when nothing changed, the sync asks to be requeued at lastUpdateTime + deadline (+1 s,
against clock skew in the delaying queue), or rate-limited right away when that is under a second
off. That is the only way a stalled rollout ever flips to ``ProgressDeadlineExceeded``: no event
would arrive. A timeout is only a condition; the rollout itself goes on.

Status is compared and written the way Go serializes it: zero counts omitted, so a status read
back from the API compares equal to the one computed from it.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence

from ferry.cluster.controllers.deployment.accessors import (
    generation,
    has_progress_deadline,
    name,
    parse_time,
    paused,
    present,
    progress_deadline_seconds,
    replicas,
    status,
    status_int,
)
from ferry.cluster.controllers.deployment.conditions import (
    AVAILABLE,
    MINIMUM_REPLICAS_AVAILABLE,
    MINIMUM_REPLICAS_UNAVAILABLE,
    NEW_RS_AVAILABLE,
    PAUSED,
    PROGRESSING,
    REPLICA_FAILURE,
    REPLICA_SET_UPDATED,
    RESUMED,
    TIMED_OUT,
    from_replica_set_condition,
    get_condition,
    new_condition,
    remove_condition,
    set_condition,
)
from ferry.cluster.controllers.deployment.fenceposts import max_unavailable
from ferry.cluster.controllers.deployment.state import SyncResult, SyncState
from ferry.cluster.controllers.runtime.types import Obj

_COUNTS = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas")


def canonical(s: Obj) -> Obj:
    """A status as Go's struct sees it: every count present, collisionCount or None, conditions list."""
    out: Obj = {k: int(s.get(k) or 0) for k in ("observedGeneration", *_COUNTS)}
    out["collisionCount"] = s.get("collisionCount")
    out["conditions"] = list(s.get("conditions") or [])
    return out


def _wire(s: Obj) -> Obj:
    """Go's omitempty: zero counts and empty conditions are left out; collisionCount is a pointer, so a
    0 stays (it changes the hash) and only nil is left out."""
    return {k: v for k, v in s.items() if v is not None and (k == "collisionCount" or v not in (0, []))}


def calculate_status(all_rss: Sequence[Obj | None], new_rs: Obj | None, *, d: Obj, now: str) -> Obj:
    """``calculateStatus``; ``now`` stamps a new or changed Available condition."""
    rss = present(all_rss)
    available = sum(status_int(rs, "availableReplicas") for rs in rss)
    total = sum(replicas(rs) for rs in rss)
    new_status: Obj = {
        "observedGeneration": generation(d),
        "replicas": sum(status_int(rs, "replicas") for rs in rss),
        "updatedReplicas": status_int(new_rs, "replicas") if new_rs is not None else 0,
        "readyReplicas": sum(status_int(rs, "readyReplicas") for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total - available),
        "collisionCount": status(d).get("collisionCount"),
        "conditions": copy.deepcopy(list(status(d).get("conditions") or [])),
    }
    if available >= replicas(d) - max_unavailable(d):
        cond = ("True", MINIMUM_REPLICAS_AVAILABLE, "Deployment has minimum availability.")
    else:
        cond = ("False", MINIMUM_REPLICAS_UNAVAILABLE, "Deployment does not have minimum availability.")
    set_condition(new_status, new_condition(AVAILABLE, cond[0], reason=cond[1], message=cond[2], now=now))
    return new_status


def deployment_complete(d: Obj, s: Obj) -> bool:
    """``DeploymentComplete``: all replicas updated and available, no old ones, generation observed."""
    c, want = canonical(s), replicas(d)
    return bool(
        c["updatedReplicas"] == want
        and c["replicas"] == want
        and c["availableReplicas"] == want
        and c["observedGeneration"] >= generation(d)
    )


def deployment_progressing(d: Obj, new_status: Obj) -> bool:
    """``DeploymentProgressing``: any progress between the stored status and the new one."""
    old, new = canonical(status(d)), canonical(new_status)
    return bool(
        new["updatedReplicas"] > old["updatedReplicas"]
        or new["replicas"] - new["updatedReplicas"] < old["replicas"] - old["updatedReplicas"]
        or new["readyReplicas"] > old["readyReplicas"]
        or new["availableReplicas"] > old["availableReplicas"]
    )


def _deadline(cond: Obj, d: Obj) -> dt.datetime | None:
    last = parse_time(cond.get("lastUpdateTime"))
    return None if last is None else last + dt.timedelta(seconds=progress_deadline_seconds(d))


def deployment_timed_out(d: Obj, new_status: Obj, *, now: dt.datetime) -> bool:
    """``DeploymentTimedOut``: the Progressing condition is older than the deadline (or already timed out)."""
    if not has_progress_deadline(d):
        return False
    cond = get_condition(new_status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    deadline = _deadline(cond, d)
    return deadline is not None and deadline < now


def _replica_failure(all_rss: Sequence[Obj | None], new_rs: Obj | None) -> Obj | None:
    """``getReplicaFailures``: the new RS's ReplicaFailure condition, else the first one of any RS."""
    for rs in [new_rs, *all_rss] if new_rs is not None else all_rss:
        if rs is None:
            continue
        for cond in status(rs).get("conditions") or []:
            if isinstance(cond, dict) and cond.get("type") == REPLICA_FAILURE:
                return from_replica_set_condition(cond)
    return None


async def _write_if_changed(state: SyncState, new_status: Obj) -> bool:
    if canonical(status(state.d)) == canonical(new_status):
        return False
    state.d["status"] = _wire(new_status)
    await state.update_status()
    return True


async def sync_deployment_status(
    state: SyncState, all_rss: Sequence[Obj | None], *, new_rs: Obj | None
) -> None:
    """``syncDeploymentStatus``: counts and Available; Progressing untouched."""
    all_rss, new_rs = [state.latest(rs) for rs in all_rss], state.latest(new_rs)
    new_status = calculate_status(all_rss, new_rs, d=state.d, now=state.now())
    await _write_if_changed(state, new_status)


async def sync_rollout_status(state: SyncState, all_rss: Sequence[Obj | None], *, new_rs: Obj | None) -> None:
    """``syncRolloutStatus``: counts, Available, Progressing and ReplicaFailure; or a requeue."""
    all_rss, new_rs = [state.latest(rs) for rs in all_rss], state.latest(new_rs)
    d, now = state.d, state.now()
    new_status = calculate_status(all_rss, new_rs, d=d, now=now)
    if not has_progress_deadline(d):
        remove_condition(new_status, PROGRESSING)
    current = get_condition(status(d), PROGRESSING)
    complete = (
        canonical(new_status)["replicas"] == canonical(new_status)["updatedReplicas"]
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE
    )
    subject = f'ReplicaSet "{name(new_rs)}"' if new_rs is not None else f'Deployment "{name(d)}"'
    if has_progress_deadline(d) and not complete:
        if deployment_complete(d, new_status):
            message = f"{subject} has successfully progressed."
            set_condition(
                new_status,
                new_condition(PROGRESSING, "True", reason=NEW_RS_AVAILABLE, message=message, now=now),
            )
        elif deployment_progressing(d, new_status):
            cond = new_condition(
                PROGRESSING, "True", reason=REPLICA_SET_UPDATED, message=f"{subject} is progressing.", now=now
            )
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(new_status, PROGRESSING)
            set_condition(new_status, cond)
        elif deployment_timed_out(d, new_status, now=state.clock.now()):
            message = f"{subject} has timed out progressing."
            set_condition(
                new_status, new_condition(PROGRESSING, "False", reason=TIMED_OUT, message=message, now=now)
            )
    failure = _replica_failure(all_rss, new_rs)
    if failure is not None:
        set_condition(new_status, failure)
    else:
        remove_condition(new_status, REPLICA_FAILURE)
    if not await _write_if_changed(state, new_status):
        state.result = _requeue_stuck(state, new_status)


def _requeue_stuck(state: SyncState, new_status: Obj) -> SyncResult | None:
    """``requeueStuckDeployment``: when to look at the deadline again, if at all."""
    d = state.d
    current = get_condition(status(d), PROGRESSING)
    if not has_progress_deadline(d) or current is None:
        return None
    if deployment_complete(d, new_status) or current.get("reason") == TIMED_OUT:
        return None
    deadline = _deadline(current, d)
    if deadline is None:
        return None
    after = (deadline - state.clock.now()).total_seconds()
    if after < 1:
        return SyncResult(requeue_rate_limited=True)
    return SyncResult(requeue_after_seconds=after + 1)


async def check_paused_conditions(state: SyncState) -> None:
    """``checkPausedConditions``: Progressing=Unknown DeploymentPaused / DeploymentResumed."""
    d = state.d
    if not has_progress_deadline(d):
        return
    cond = get_condition(status(d), PROGRESSING)
    if cond is not None and cond.get("reason") == TIMED_OUT:
        return
    paused_cond = cond is not None and cond.get("reason") == PAUSED
    is_paused = paused(d)
    if is_paused and not paused_cond:
        new = new_condition(
            PROGRESSING, "Unknown", reason=PAUSED, message="Deployment is paused", now=state.now()
        )
    elif not is_paused and paused_cond:
        new = new_condition(
            PROGRESSING, "Unknown", reason=RESUMED, message="Deployment is resumed", now=state.now()
        )
    else:
        return
    set_condition(d.setdefault("status", {}), new)
    await state.update_status()
