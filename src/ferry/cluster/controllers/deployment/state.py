"""One sync's working state, and every write the Deployment controller makes.

A :class:`SyncState` lives for a single ``sync(key)``. It holds a **deep copy** of the cached
Deployment (``d``), which the sync mutates freely (annotations, status, and, for the deprecated
rollback, the template), and the list of ReplicaSets it owns as the cache showed them.

Writes, all with the object's ``resourceVersion`` as the precondition (409 Conflict when stale):

* ``update_status``: PUT ``deployments/<d>/status`` with the whole working copy. The /status
  endpoint keeps the incoming ``metadata.annotations``, which is how the ``revision`` annotation is
  written without bumping ``generation``.
* ``update_deployment``: PUT the main resource (only the deprecated rollback does this).
* ``update_replica_set`` / ``scale_replica_set``: PUT a ReplicaSet; ``scale_replica_set`` also
  stamps the desired/max-replicas annotations and emits kube's ``ScalingReplicaSet`` event.

**Deliberate difference from kube, invisible in the end state**: kube discards what a write
returns, so a second write to the same object in one sync carries a stale resourceVersion and
fails with a Conflict (the sync is then retried), and the status written after a scale is computed
from the ReplicaSets as read *before* it (``unavailableReplicas`` lags one sync). Here each write's
result replaces the object (``d``'s resourceVersion, the ReplicaSet in ``rs_list``, which
``latest`` looks up), so one sync makes the writes kube makes over two attempts, and its status is
computed from what it just wrote. Writes by anyone else still conflict, which is what the
preconditions are for.

The cache is never mutated: ReplicaSets are deep-copied before any change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ferry.cluster.controllers.deployment.accessors import (
    DEPLOYMENTS,
    REPLICASETS,
    format_time,
    meta,
    name,
    namespace,
    replicas,
    uid,
)
from ferry.cluster.controllers.deployment.annotations import (
    replicas_annotations_need_update,
    set_replicas_annotations,
)
from ferry.cluster.controllers.deployment.fenceposts import max_surge
from ferry.cluster.controllers.runtime.types import Client, Clock, EventRecorder, Lister, Obj

NORMAL = "Normal"
WARNING = "Warning"
SCALING_REPLICA_SET = "ScalingReplicaSet"


@dataclass(frozen=True)
class SyncResult:
    """What a sync asks of the work queue beyond "done".

    ``requeue_after_seconds``: sync this key again after that delay (the progress-deadline check).
    ``requeue_rate_limited``: sync it again soon, through the rate limiter (deadline under 1 s away).
    """

    requeue_after_seconds: float | None = None
    requeue_rate_limited: bool = False


@dataclass
class SyncState:
    d: Obj
    client: Client
    recorder: EventRecorder
    clock: Clock
    rs_lister: Lister
    rs_list: list[Obj] = field(default_factory=list)
    pod_map: dict[str, list[Obj]] = field(default_factory=dict)
    result: SyncResult | None = None

    # -- small helpers ----------------------------------------------------------------------------------
    def now(self) -> str:
        return format_time(self.clock.now())

    def event(self, type_: str, reason: str, message: str) -> None:
        self.recorder.event(self.d, type_, reason, message)

    def track(self, written: Obj) -> None:
        """Replace (or add) a ReplicaSet in ``rs_list`` with what the API returned for it."""
        for i, rs in enumerate(self.rs_list):
            if uid(rs) == uid(written):
                self.rs_list[i] = written
                return
        self.rs_list.append(written)

    def latest(self, rs: Obj | None) -> Obj | None:
        """The ReplicaSet as this sync last wrote (or read) it."""
        if rs is None:
            return None
        return next((r for r in self.rs_list if uid(r) == uid(rs)), rs)

    def _adopt_version(self, written: Obj) -> None:
        rv = meta(written).get("resourceVersion")
        if rv is not None:
            self.d.setdefault("metadata", {})["resourceVersion"] = rv

    # -- writes -----------------------------------------------------------------------------------------
    async def update_status(self) -> None:
        written = await self.client.update(
            DEPLOYMENTS, namespace(self.d), copy.deepcopy(self.d), subresource="status"
        )
        self._adopt_version(written)

    async def update_deployment(self) -> None:
        written = await self.client.update(DEPLOYMENTS, namespace(self.d), copy.deepcopy(self.d))
        self._adopt_version(written)

    async def update_replica_set(self, rs_copy: Obj) -> Obj:
        written = await self.client.update(REPLICASETS, namespace(rs_copy), rs_copy)
        self.track(written)
        return written

    async def scale_replica_set(self, rs: Obj, new_scale: int, *, operation: str) -> tuple[bool, Obj]:
        """``scaleReplicaSet``: write size and replica annotations if either differs.

        Returns (scaled, the ReplicaSet as it now is). Only a size change counts as "scaled" and
        gets the ``ScalingReplicaSet`` event; an annotation-only update does not.
        """
        desired = replicas(self.d)
        maximum = desired + max_surge(self.d)
        old_scale = replicas(rs)
        size_changes = old_scale != new_scale
        if not size_changes and not replicas_annotations_need_update(rs, desired, maximum=maximum):
            return False, rs
        rs_copy = copy.deepcopy(rs)
        rs_copy.setdefault("spec", {})["replicas"] = new_scale
        set_replicas_annotations(rs_copy, desired, maximum=maximum)
        written = await self.update_replica_set(rs_copy)
        if size_changes:
            self.event(
                NORMAL,
                SCALING_REPLICA_SET,
                f"Scaled {operation} replica set {name(written)} to {new_scale} from {old_scale}",
            )
        return size_changes, written

    async def scale_and_record(self, rs: Obj, new_scale: int) -> tuple[bool, Obj]:
        """``scaleReplicaSetAndRecordEvent``: nothing when the size is already right."""
        if replicas(rs) == new_scale:
            return False, rs
        operation = "up" if replicas(rs) < new_scale else "down"
        return await self.scale_replica_set(rs, new_scale, operation=operation)
