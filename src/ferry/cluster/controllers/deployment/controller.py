"""The Deployment controller: one level-triggered ``sync(key)`` and the event handlers that feed it.

``sync`` reads the Deployment from the cache, deep-copies it, and does one pass (§1.1):

1. an empty selector (``{}``) selects everything: Warning ``SelectingAll``, observedGeneration
   recorded, nothing else;
2. claim ReplicaSets (adopt/release) and group pods by ReplicaSet;
3. being deleted → status only;
4. Progressing=Unknown ``DeploymentPaused``/``DeploymentResumed`` bookkeeping;
5. paused → scale only (no new RS) and history cleanup;
6. deprecated rollback annotation → rollback;
7. a scaling event → proportional scaling;
8. otherwise roll out by strategy (RollingUpdate or Recreate).

Each branch moves one step and writes; the watch event of its own write (or the requeue it returns
for the progress deadline) brings the next sync. Nothing is remembered between syncs: a restarted
controller resumes from what the API shows. A failure raises (:class:`ApiStatusError` or
:class:`DeploymentSyncError`) and the runtime retries with back-off.

**Handlers** only compute keys (client-go's rule: no work in handlers). The runtime calls them with
the object(s) from the watch, after its cache has applied the event:

* Deployment add/update/delete → its own key;
* ReplicaSet add/update/delete → the key of its controlling Deployment; for an orphan that was added
  or changed labels/owner, every Deployment whose selector matches (one may adopt it); an update
  with an unchanged resourceVersion (a resync) → nothing;
* Pod delete → the owning Deployment's key, **only for Recreate** and only once it has no pods
  left (that is what unblocks phase 3 of Recreate).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from ferry.cluster.apiserver.objects import normalized
from ferry.cluster.apiserver.selectors import SelectorError, label_selector_from_object
from ferry.cluster.controllers.deployment.accessors import (
    DeploymentSyncError,
    being_deleted,
    controller_ref,
    generation,
    labels,
    meta,
    namespace,
    paused,
    selector_of,
    spec,
    status_int,
    strategy_type,
    uid,
)
from ferry.cluster.controllers.deployment.claiming import claim_replica_sets, pod_map
from ferry.cluster.controllers.deployment.recreate import rollout_recreate
from ferry.cluster.controllers.deployment.replicasets import get_all_replica_sets_and_sync_revision
from ferry.cluster.controllers.deployment.rollback import get_rollback_to, rollback
from ferry.cluster.controllers.deployment.rolling import rollout_rolling
from ferry.cluster.controllers.deployment.scaling import is_scaling_event, sync_scaling
from ferry.cluster.controllers.deployment.state import WARNING, SyncResult, SyncState
from ferry.cluster.controllers.deployment.status import check_paused_conditions, sync_deployment_status
from ferry.cluster.controllers.runtime.types import (
    ApiStatusError,
    Client,
    Clock,
    EventRecorder,
    Lister,
    Obj,
    key_of,
    split_key,
)


@dataclass(frozen=True)
class ResourceHandlers:
    """The handlers for one watched resource; a None handler means that event type is ignored."""

    on_add: Callable[[Obj], list[str]] | None
    on_update: Callable[[Obj, Obj], list[str]] | None
    on_delete: Callable[[Obj], list[str]] | None


class DeploymentController:
    """Reconciles ``apps/v1`` Deployments; built from the informer listers and the runtime's seams."""

    name = "deployment"

    def __init__(
        self,
        deployments: Lister,
        replicasets: Lister,
        *,
        pods: Lister,
        client: Client,
        recorder: EventRecorder,
        clock: Clock,
    ) -> None:
        self.deployments = deployments
        self.replicasets = replicasets
        self.pods = pods
        self.client = client
        self.recorder = recorder
        self.clock = clock

    # -- sync ---------------------------------------------------------------------------------------------
    async def sync(self, key: str) -> SyncResult | None:
        ns, name = split_key(key)
        cached = self.deployments.get(ns, name)
        if cached is None:
            return None  # deleted; the garbage collector takes care of its ReplicaSets
        state = SyncState(copy.deepcopy(cached), self.client, self.recorder, self.clock, self.replicasets)
        d = state.d
        raw_selector = spec(d).get("selector")
        if isinstance(raw_selector, dict) and normalized(raw_selector) == {}:
            await self._selecting_all(state)
            return None
        selector = selector_of(d)
        state.rs_list = await claim_replica_sets(
            d, self.replicasets.list(ns), selector=selector, client=self.client
        )
        if strategy_type(d) == "Recreate":  # only Recreate reads pods: skip the scan for RollingUpdate
            state.pod_map = pod_map(selector, state.rs_list, pods=self.pods.list(ns))

        if being_deleted(d):
            new_rs, old_rss = await get_all_replica_sets_and_sync_revision(state, create=False)
            await sync_deployment_status(state, [*old_rss, new_rs], new_rs=new_rs)
            return state.result
        await check_paused_conditions(state)
        rollback_to = get_rollback_to(d)
        if paused(d):
            await sync_scaling(state, rollback_pending=rollback_to is not None)
        elif rollback_to is not None:
            await rollback(state)
        elif await is_scaling_event(state):
            await sync_scaling(state, rollback_pending=False)
        elif strategy_type(d) == "Recreate":
            await rollout_recreate(state)
        elif strategy_type(d) == "RollingUpdate":
            await rollout_rolling(state)
        else:
            raise DeploymentSyncError(f"unexpected deployment strategy type: {strategy_type(d)}")
        return state.result

    async def _selecting_all(self, state: SyncState) -> None:
        d = state.d
        state.event(
            WARNING,
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        )
        if status_int(d, "observedGeneration") < generation(d):
            d.setdefault("status", {})["observedGeneration"] = generation(d)
            try:
                await state.update_status()
            except ApiStatusError:
                pass  # kube ignores this error too; the next event retries

    # -- handlers: Deployments ----------------------------------------------------------------------------
    def on_deployment_add(self, d: Obj) -> list[str]:
        return [key_of(d)]

    def on_deployment_update(self, old: Obj, cur: Obj) -> list[str]:
        return [key_of(cur)]

    def on_deployment_delete(self, d: Obj) -> list[str]:
        return [key_of(d)]

    # -- handlers: ReplicaSets ----------------------------------------------------------------------------
    def _resolve(self, ns: str | None, ref: dict[str, object] | None) -> Obj | None:
        """``resolveControllerRef``: the Deployment a controller reference points at, UID checked."""
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.get(ns, str(ref.get("name", "")))
        return d if d is not None and uid(d) == ref.get("uid") else None

    def _matching_deployments(self, rs: Obj) -> list[str]:
        """``getDeploymentsForReplicaSet``: Deployments whose (non-empty) selector matches the labels."""
        if not labels(rs):
            return []
        keys = []
        for d in self.deployments.list(namespace(rs)):
            try:
                selector = label_selector_from_object(spec(d).get("selector"))
            except SelectorError:
                continue
            if selector.empty() or not selector.matches(labels(rs)):
                continue
            keys.append(key_of(d))
        return keys

    def on_replicaset_add(self, rs: Obj) -> list[str]:
        if being_deleted(rs):
            return self.on_replicaset_delete(rs)
        ref = controller_ref(rs)
        if ref is not None:
            d = self._resolve(namespace(rs), ref)
            return [key_of(d)] if d is not None else []
        return self._matching_deployments(rs)

    def on_replicaset_update(self, old: Obj, cur: Obj) -> list[str]:
        if meta(cur).get("resourceVersion") == meta(old).get("resourceVersion"):
            return []
        keys: list[str] = []
        cur_ref, old_ref = controller_ref(cur), controller_ref(old)
        ref_changed = cur_ref != old_ref
        if ref_changed and old_ref is not None:
            d = self._resolve(namespace(old), old_ref)
            if d is not None:
                keys.append(key_of(d))
        if cur_ref is not None:
            d = self._resolve(namespace(cur), cur_ref)
            if d is not None:
                keys.append(key_of(d))
            return _unique(keys)
        if labels(cur) != labels(old) or ref_changed:
            keys.extend(self._matching_deployments(cur))
        return _unique(keys)

    def on_replicaset_delete(self, rs: Obj) -> list[str]:
        d = self._resolve(namespace(rs), controller_ref(rs))
        return [key_of(d)] if d is not None else []

    # -- handlers: Pods -----------------------------------------------------------------------------------
    def on_pod_delete(self, pod: Obj) -> list[str]:
        """Enqueue a Recreate Deployment once none of its pods are left."""
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return []
        ns = namespace(pod)
        rs = self.replicasets.get(ns, str(ref.get("name", "")))
        if rs is None or uid(rs) != ref.get("uid"):
            return []
        d = self._resolve(ns, controller_ref(rs))
        if d is None or strategy_type(d) != "Recreate":
            return []
        try:
            selector = selector_of(d)
        except DeploymentSyncError:
            return []
        owned = [
            r
            for r in self.replicasets.list(ns)
            if selector.matches(labels(r)) and (controller_ref(r) or {}).get("uid") == uid(d)
        ]
        remaining = pod_map(selector, owned, pods=[p for p in self.pods.list(ns) if uid(p) != uid(pod)])
        if any(remaining.values()):
            return []
        return [key_of(d)]

    def handlers(self) -> dict[str, ResourceHandlers]:
        """The handlers per watched resource, for the runtime to register."""
        return {
            "apps/v1/deployments": ResourceHandlers(
                self.on_deployment_add, self.on_deployment_update, self.on_deployment_delete
            ),
            "apps/v1/replicasets": ResourceHandlers(
                self.on_replicaset_add, self.on_replicaset_update, self.on_replicaset_delete
            ),
            "v1/pods": ResourceHandlers(None, None, self.on_pod_delete),
        }


def _unique(keys: list[str]) -> list[str]:
    return list(dict.fromkeys(keys))
