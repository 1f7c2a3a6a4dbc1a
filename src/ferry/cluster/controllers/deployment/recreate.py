"""Recreate: every old pod gone before any new one starts (``rolloutRecreate``, §1.6).

Three phases, each a separate sync, each re-derived from observed state (so a restart resumes):

1. Scale every active old ReplicaSet to 0 (looked up *without* creating the new RS, so nothing
   scales up first). If that wrote anything: status, done for this sync.
2. Wait while old pods may still run: an old RS still reports ``status.replicas > 0``, or a pod of
   an old RS (terminating ones included) is in a phase other than Succeeded/Failed. Nothing
   re-triggers the sync here but the **pod-delete handler**, which enqueues a Recreate Deployment
   once it has no pods left (see ``DeploymentController.on_pod_delete``).
3. Create the new RS if missing, at full ``replicas`` (``NewRSNewReplicas`` for Recreate), scale it
   to replicas, clean up history when complete, write status.

The guarantee observers rely on: nobody ever sees updatedReplicas > 0 while replicas ≠ updated.
"""

from __future__ import annotations

from ferry.cluster.controllers.deployment.accessors import active, replicas, status, status_int, uid
from ferry.cluster.controllers.deployment.cleanup import cleanup_deployment
from ferry.cluster.controllers.deployment.replicasets import get_all_replica_sets_and_sync_revision
from ferry.cluster.controllers.deployment.state import SyncState
from ferry.cluster.controllers.deployment.status import deployment_complete, sync_rollout_status
from ferry.cluster.controllers.runtime.types import Obj

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


def old_pods_running(new_rs: Obj | None, old_rss: list[Obj], *, pod_map: dict[str, list[Obj]]) -> bool:
    """``oldPodsRunning``: any old RS reporting replicas, or any non-terminal pod outside the new RS."""
    if sum(status_int(rs, "replicas") for rs in old_rss) > 0:
        return True
    for rs_uid, pods in pod_map.items():
        if new_rs is not None and uid(new_rs) == rs_uid:
            continue
        for pod in pods:
            if (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES:
                return True
    return False


async def rollout_recreate(state: SyncState) -> None:
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(state, create=False)
    all_rss: list[Obj | None] = [*old_rss, new_rs]

    scaled_down = False
    for rs in active(old_rss):
        scaled, _ = await state.scale_and_record(rs, 0)
        scaled_down = scaled_down or scaled
    if scaled_down:
        await sync_rollout_status(state, all_rss, new_rs=new_rs)
        return

    if old_pods_running(new_rs, old_rss, pod_map=state.pod_map):
        await sync_rollout_status(state, all_rss, new_rs=new_rs)
        return

    if new_rs is None:
        new_rs, old_rss = await get_all_replica_sets_and_sync_revision(state, create=True)
        all_rss = [*old_rss, new_rs]
    if new_rs is not None:
        await state.scale_and_record(new_rs, replicas(state.d))

    if deployment_complete(state.d, status(state.d)):
        await cleanup_deployment(state, old_rss)
    await sync_rollout_status(state, all_rss, new_rs=new_rs)
