"""Scaling events and proportional scaling (``sync`` / ``scale``, §1.7 and §1.8).

A **scaling event** is a change of ``spec.replicas`` that the ReplicaSets have not seen yet: an
active RS carries a ``desired-replicas`` annotation different from spec.replicas. It (and a paused
Deployment) is handled by :func:`sync_scaling`, which never creates a ReplicaSet:

* at most one active RS: scale it (or, with none active, the new RS, else the newest old one)
  straight to spec.replicas;
* a *saturated* new RS (spec, desired-replicas annotation and available all equal replicas): scale
  the old ones to 0, newest first;
* otherwise, RollingUpdate only, **proportionally**: the change ``toAdd = (replicas + surge) -
  Σ active`` is shared in proportion to each RS's share of its recorded ``max-replicas``, so a
  rollout in flight keeps its old:new ratio and a broken new template does not get a larger share.
  Each RS gets ``round(spec * (replicas + surge) / max-replicas) - spec``, clamped to what is left
  of toAdd; the rounding leftover goes to the first RS of the order (largest first; ties newest
  first when adding, oldest first when removing). ``round`` is Go's ``math.Round``, half away from
  zero, computed exactly with fractions (Python's ``round`` is banker's rounding).

Worked example (the reference's): 10 replicas, surge 3, broken new image, RS1=8 and RS2=5. Scale to
30: allowed 33, toAdd 20, RS1 round(8·33/13)=20, RS2 round(5·33/13)=13.

Every RS of the proportional pass is written when its size *or* its replica annotations differ,
so the new desired/max values are recorded even on RSs whose size stays.
"""

from __future__ import annotations

from fractions import Fraction

from ferry.cluster.controllers.deployment.accessors import (
    active,
    by_creation,
    is_rolling_update,
    name,
    paused,
    replicas,
    status_int,
)
from ferry.cluster.controllers.deployment.annotations import DESIRED_REPLICAS, MAX_REPLICAS, int_annotation
from ferry.cluster.controllers.deployment.cleanup import cleanup_deployment
from ferry.cluster.controllers.deployment.fenceposts import max_surge, total_replicas
from ferry.cluster.controllers.deployment.replicasets import get_all_replica_sets_and_sync_revision
from ferry.cluster.controllers.deployment.state import SyncState
from ferry.cluster.controllers.deployment.status import sync_deployment_status
from ferry.cluster.controllers.runtime.types import Obj


def round_half_away(value: Fraction) -> int:
    """Go's ``math.Round``: halves go away from zero (2.5 → 3, -2.5 → -3)."""
    magnitude = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    """``IsSaturated``: the new RS is believed, by both sides, to hold all replicas, all available."""
    if rs is None:
        return False
    desired = int_annotation(rs, DESIRED_REPLICAS)
    want = replicas(d)
    return (
        desired is not None
        and replicas(rs) == want
        and desired == want
        and status_int(rs, "availableReplicas") == want
    )


def find_active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    """``FindActiveOrLatest``: the only active RS; with none active, the new (else newest old) one."""
    if new_rs is None and not old_rss:
        return None
    newest_first = by_creation(old_rss, newest_first=True)
    candidates = active([*newest_first, new_rs])
    if not candidates:
        return new_rs if new_rs is not None else newest_first[0]
    return candidates[0] if len(candidates) == 1 else None


def proportion(rs: Obj, d: Obj, *, to_add: int, added: int) -> int:
    """``GetProportion``: this RS's share of ``to_add``, within what is still left of it."""
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    if replicas(d) == 0:
        fraction = -replicas(rs)
    else:
        annotated = int_annotation(rs, MAX_REPLICAS)
        if annotated is None:
            annotated = status_int(d, "replicas")
        if annotated == 0:
            return 0  # never proportionally scale from zero (kube would divide by zero here)
        target = Fraction(replicas(rs) * (replicas(d) + max_surge(d)), annotated)
        fraction = round_half_away(target) - replicas(rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _largest_first(rss: list[Obj], *, newest_on_tie: bool) -> list[Obj]:
    ordered = by_creation(rss, newest_first=newest_on_tie)
    return sorted(ordered, key=lambda rs: -replicas(rs))  # stable: ties keep the creation order


async def scale(state: SyncState, new_rs: Obj | None, *, old_rss: list[Obj]) -> None:
    d = state.d
    only = find_active_or_latest(new_rs, old_rss)
    if only is not None:
        if replicas(only) != replicas(d):
            await state.scale_and_record(only, replicas(d))
        return
    if is_saturated(d, new_rs):
        for old in active(by_creation(old_rss, newest_first=True)):
            await state.scale_and_record(old, 0)
        return
    if not is_rolling_update(d):
        return
    all_active = active([*by_creation(old_rss, newest_first=True), new_rs])
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - total_replicas(all_active)
    operation = ""
    if to_add > 0:
        all_active, operation = _largest_first(all_active, newest_on_tie=True), "up"
    elif to_add < 0:
        all_active, operation = _largest_first(all_active, newest_on_tie=False), "down"
    sizes: dict[str, int] = {}
    added = 0
    for rs in all_active:
        share = proportion(rs, d, to_add=to_add, added=added) if to_add != 0 else 0
        sizes[name(rs)] = replicas(rs) + share
        added += share
    for i, rs in enumerate(all_active):
        if i == 0 and to_add != 0:
            sizes[name(rs)] = max(0, sizes[name(rs)] + to_add - added)
        await state.scale_replica_set(rs, sizes[name(rs)], operation=operation)


async def is_scaling_event(state: SyncState) -> bool:
    """``isScalingEvent``: an active RS whose desired-replicas annotation differs from spec.replicas."""
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(state, create=False)
    for rs in active([*old_rss, new_rs]):
        desired = int_annotation(rs, DESIRED_REPLICAS)
        if desired is not None and desired != replicas(state.d):
            return True
    return False


async def sync_scaling(state: SyncState, *, rollback_pending: bool) -> None:
    """``sync``: scale, clean up history if paused (and no rollback pending), write status."""
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(state, create=False)
    await scale(state, new_rs, old_rss=old_rss)
    if paused(state.d) and not rollback_pending:
        await cleanup_deployment(state, old_rss)
    await sync_deployment_status(state, [*old_rss, new_rs], new_rs=new_rs)
