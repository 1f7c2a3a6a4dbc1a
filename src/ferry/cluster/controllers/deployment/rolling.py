"""RollingUpdate: one step of a rolling update per sync (``rolloutRolling``, §1.5).

A step either scales the new ReplicaSet **up** or the old ones **down**, never both, then writes
status; the ReplicaSet write's watch event brings the next step. Invariants kept at every moment
(counting ``spec.replicas``, which the ReplicaSet controller turns into pods):

* total ≤ replicas + maxSurge: the new RS grows only into the room the old ones left;
* available ≥ replicas - maxUnavailable: old RSs shrink only by what is available beyond that.

Scale down (``reconcileOldReplicaSets``) budgets ``maxScaledDown = all - minAvailable -
newUnavailable``: unavailable pods of the new RS count against it, so a broken new template never
lets the rollout eat into old, working pods. Within that budget, old RSs first lose their own
**unavailable** replicas (``cleanupUnhealthyReplicas``, oldest RS first: they do not reduce
availability), then available ones down to minAvailable (``scaleDownOldReplicaSetsForRollingUpdate``).
Kube's own example: 10 replicas, surge 3, unavailable 2, a new RS that never becomes ready: old
stays at 8, new at 5, and a rollback can then scale 4 crash-looping pods away.

Errors while scaling old RSs down are swallowed here as in kube (the next sync retries). The status
written after a step is computed from the ReplicaSets as this step left them (``SyncState.latest``).
"""

from __future__ import annotations

from ferry.cluster.controllers.deployment.accessors import (
    DeploymentSyncError,
    active,
    by_creation,
    name,
    namespace,
    replicas,
    status,
    status_int,
)
from ferry.cluster.controllers.deployment.cleanup import cleanup_deployment
from ferry.cluster.controllers.deployment.fenceposts import (
    max_unavailable,
    new_rs_new_replicas,
    total_replicas,
)
from ferry.cluster.controllers.deployment.replicasets import get_all_replica_sets_and_sync_revision
from ferry.cluster.controllers.deployment.state import SyncState
from ferry.cluster.controllers.deployment.status import deployment_complete, sync_rollout_status
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj


async def rollout_rolling(state: SyncState) -> None:
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(state, create=True)
    if new_rs is None:  # create=True returns the new RS or raises; this guards the type only
        raise DeploymentSyncError(f"no new replica set for deployment {name(state.d)}")
    all_rss: list[Obj | None] = [*old_rss, new_rs]
    if await reconcile_new_replica_set(state, all_rss, new_rs=new_rs):
        await sync_rollout_status(state, all_rss, new_rs=new_rs)
        return
    if await reconcile_old_replica_sets(state, all_rss, old_rss=active(old_rss), new_rs=new_rs):
        await sync_rollout_status(state, all_rss, new_rs=new_rs)
        return
    if deployment_complete(state.d, status(state.d)):
        await cleanup_deployment(state, old_rss)
    await sync_rollout_status(state, all_rss, new_rs=new_rs)


async def reconcile_new_replica_set(state: SyncState, all_rss: list[Obj | None], *, new_rs: Obj) -> bool:
    """Scale the new RS toward replicas, within the surge; down to replicas if it is larger."""
    desired = replicas(state.d)
    if replicas(new_rs) == desired:
        return False
    if replicas(new_rs) > desired:
        scaled, _ = await state.scale_and_record(new_rs, desired)
        return scaled
    scaled, _ = await state.scale_and_record(new_rs, new_rs_new_replicas(state.d, all_rss, new_rs=new_rs))
    return scaled


async def reconcile_old_replica_sets(
    state: SyncState, all_rss: list[Obj | None], *, old_rss: list[Obj], new_rs: Obj
) -> bool:
    """Scale old RSs down as far as availability allows; True if any replica was removed."""
    if total_replicas(old_rss) == 0:
        return False
    d = state.d
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = replicas(new_rs) - status_int(new_rs, "availableReplicas")
    max_scaled_down = total_replicas(all_rss) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return False
    try:
        old_rss, cleaned = await cleanup_unhealthy_replicas(state, old_rss, max_cleanup=max_scaled_down)
        scaled_down = await scale_down_old_replica_sets(state, [*old_rss, new_rs], old_rss=old_rss)
    except (ApiStatusError, DeploymentSyncError):
        return False
    return cleaned + scaled_down > 0


async def cleanup_unhealthy_replicas(
    state: SyncState, old_rss: list[Obj], *, max_cleanup: int
) -> tuple[list[Obj], int]:
    """Drop old RSs' unavailable replicas first, oldest RS first, up to ``max_cleanup`` in total."""
    old_rss = by_creation(old_rss)
    total = 0
    for i, rs in enumerate(old_rss):
        if total >= max_cleanup:
            break
        spec_replicas, available = replicas(rs), status_int(rs, "availableReplicas")
        if spec_replicas == 0 or spec_replicas == available:
            continue
        count = min(max_cleanup - total, spec_replicas - available)
        new_count = spec_replicas - count
        if new_count > spec_replicas:
            raise DeploymentSyncError(
                f"when cleaning up unhealthy replicas, got invalid request to scale down "
                f"{namespace(rs)}/{name(rs)} {spec_replicas} -> {new_count}"
            )
        _, old_rss[i] = await state.scale_and_record(rs, new_count)
        total += count
    return old_rss, total


async def scale_down_old_replica_sets(
    state: SyncState, all_rss: list[Obj | None], *, old_rss: list[Obj]
) -> int:
    """Remove (available - minAvailable) replicas from old RSs, oldest first."""
    d = state.d
    min_available = replicas(d) - max_unavailable(d)
    available = sum(status_int(rs, "availableReplicas") for rs in all_rss if rs is not None)
    if available <= min_available:
        return 0
    wanted = available - min_available
    total = 0
    for rs in by_creation(old_rss):
        if total >= wanted:
            break
        if replicas(rs) == 0:
            continue
        count = min(replicas(rs), wanted - total)
        await state.scale_and_record(rs, replicas(rs) - count)
        total += count
    return total
