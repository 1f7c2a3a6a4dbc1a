"""The ReplicaSet controller: event handlers and ``sync(key)`` (kube's ``replica_set.go``, §3).

**Handlers** (``handlers()``, the runtime manager's protocol) only decide which RS keys to enqueue,
as plain keys or ``After(key, seconds)``, and keep the expectations honest:

* RS add/update → its key (a UID change under the same name is first handled as a delete); RS delete →
  forget its expectations, enqueue.
* Pod add: a pod already being deleted is handled as a delete. With a controllerRef to a ReplicaSet we
  know (kind, name *and* uid match), its creation is *observed* and that RS enqueued; an orphan
  enqueues every RS in its namespace whose (non-empty) selector matches its labels.
* Pod update: ignored when the resourceVersion is unchanged (resyncs). Terminating → delete handling
  (for the old labels too if they changed). A changed controllerRef enqueues the old owner; the
  current owner is enqueued, and again ``minReadySeconds + 1`` s later when the pod just became
  Ready, so availability is noticed without another pod event. Orphans whose labels or ref changed
  enqueue the matching RSs.
* Pod delete → deletion observed for the owner, owner enqueued.

**sync(key)**, one level-triggered pass: read the RS from the cache (gone → drop its expectations);
note whether expectations are satisfied *before* looking at pods; list the namespace's pods, keep the
active ones (not Succeeded/Failed, no deletionTimestamp: a terminating pod is already replaced);
*claim* them (below); if expectations are satisfied and the RS is not being deleted, manage replicas
in one direction only (create ``spec - pods`` or delete ``pods - spec``, at most ``burstReplicas``
= 500 per pass); compute the status and write it if it changed. When ``minReadySeconds`` > 0 and
every wanted pod is ready but not yet available, ask to be synced again after ``minReadySeconds``
(the manager's ``SyncResult(requeue_after_seconds=...)``). A failed manage pass is raised *after*
the status (with its ``ReplicaFailure`` condition) was written, so the runtime retries with back-off.

**Claiming** (``PodControllerRefManager``): a pod controlled by someone else is ignored; ours and
matching → kept; ours and no longer matching → *released* by a strategic-merge patch deleting our
ownerReference (unless the RS is being deleted); an orphan that matches, is not being deleted and is
in our namespace → *adopted* with a strategic-merge patch adding our controller reference. Before the
first adoption of a pass, a live GET re-checks that the RS still exists with the same UID and is not
being deleted (the cache may be stale; adopting for a dead RS would hand the pod to the GC).

Races: the cache lags our own writes, so expectations stop a second pass from creating or deleting
again before the informer has shown the first pass's results. Cached objects are shared: the RS is
deep-copied before use and pods are only read. Expectations default to the runtime's
``UIDTrackingExpectations``; ``SPEC`` is the registration for the controller manager.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from ferry.cluster.apiserver.selectors import SelectorError, label_selector_from_object
from ferry.cluster.controllers.replicaset.podcontrol import (
    PODS,
    Expectations,
    PodControl,
    PodControlError,
    controller_ref,
)
from ferry.cluster.controllers.replicaset.podfacts import PodFacts, PodFactsCache, count
from ferry.cluster.controllers.replicaset.ranking import pods_to_delete
from ferry.cluster.controllers.replicaset.status import (
    RESOURCE,
    is_pod_ready,
    min_ready_seconds_of,
    replicas_of,
    status_from_counts,
    template_labels_of,
    update_status,
)
from ferry.cluster.controllers.runtime.expectations import UIDTrackingExpectations
from ferry.cluster.controllers.runtime.indexes import (
    CONTROLLER_UID,
    controlled_by,
    controller_of,
    controller_uid_index,
)
from ferry.cluster.controllers.runtime.manager import (
    After,
    ControllerContext,
    ControllerSpec,
    Handlers,
    SyncResult,
)
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

log = logging.getLogger("ferry.controllers.replicaset")
BURST_REPLICAS = 500
NAME = "replicaset-controller"


Keys = list[str | After]


def _meta(obj: Obj) -> dict[str, Any]:
    return obj.get("metadata") or {}


class ReplicaSetController:
    """Keeps ``spec.replicas`` active pods per ReplicaSet (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        replicasets: Lister,
        pods: Lister,
        *,
        client: Client,
        recorder: EventRecorder,
        clock: Clock,
        expectations: Expectations | None = None,
        burst_replicas: int = BURST_REPLICAS,
    ) -> None:
        self.replicasets = replicasets
        self.pods = pods
        pods.add_index(CONTROLLER_UID, controller_uid_index)
        self.client = client
        self.recorder = recorder
        self.clock = clock
        self.expectations: Expectations = (
            UIDTrackingExpectations(clock=clock) if expectations is None else expectations
        )
        self.burst_replicas = burst_replicas
        self.pod_control = PodControl(client, recorder, self.expectations)
        self.facts = PodFactsCache()

    # -- event handlers ------------------------------------------------------------------------------
    def handlers(self) -> dict[str, Handlers]:
        return {
            RESOURCE: Handlers(self.on_replicaset_add, self.on_replicaset_update, self.on_replicaset_delete),
            PODS: Handlers(self.on_pod_add, self.on_pod_update, self.on_pod_delete),
        }

    def on_replicaset_add(self, rs: Obj) -> Keys:
        return [key_of(rs)]

    def on_replicaset_update(self, old: Obj, new: Obj) -> Keys:
        out: Keys = []
        if _meta(old).get("uid") != _meta(new).get("uid"):
            out.extend(self.on_replicaset_delete(old))  # recreated under the same name
        return [*out, key_of(new)]

    def on_replicaset_delete(self, rs: Obj) -> Keys:
        self.expectations.delete(key_of(rs))  # a new RS with this name starts clean
        self.facts.forget(key_of(rs))
        return [key_of(rs)]

    def on_pod_add(self, pod: Obj) -> Keys:
        if _meta(pod).get("deletionTimestamp"):
            # A pod seen for the first time while already terminating is no creation we wait for.
            return self.on_pod_delete(pod)
        ref = controller_of(pod)
        if ref is not None:
            rs = self._resolve(_meta(pod).get("namespace"), ref)
            if rs is None:
                return []
            self.expectations.creation_observed(key_of(rs))
            return [key_of(rs)]
        return [key_of(rs) for rs in self._matching_replicasets(pod)]

    def on_pod_update(self, old: Obj, new: Obj) -> Keys:
        if _meta(old).get("resourceVersion") == _meta(new).get("resourceVersion"):
            return []  # a periodic resync: nothing happened to this pod
        labels_changed = _meta(old).get("labels") != _meta(new).get("labels")
        if _meta(new).get("deletionTimestamp"):
            out = self.on_pod_delete(new)
            if labels_changed:
                out.extend(self.on_pod_delete(old))
            return out
        out = []
        new_ref, old_ref = controller_of(new), controller_of(old)
        ref_changed = new_ref != old_ref
        if ref_changed and old_ref is not None:
            old_rs = self._resolve(_meta(old).get("namespace"), old_ref)
            if old_rs is not None:
                out.append(key_of(old_rs))
        if new_ref is not None:
            rs = self._resolve(_meta(new).get("namespace"), new_ref)
            if rs is None:
                return out
            out.append(key_of(rs))
            min_ready = min_ready_seconds_of(rs)
            if not is_pod_ready(old) and is_pod_ready(new) and min_ready > 0:
                # One second more, so the requeued sync finds the pod strictly past minReadySeconds.
                out.append(After(key_of(rs), float(min_ready + 1)))
            return out
        if labels_changed or ref_changed:
            out.extend(key_of(rs) for rs in self._matching_replicasets(new))
        return out

    def on_pod_delete(self, pod: Obj) -> Keys:
        ref = controller_of(pod)
        if ref is None:
            return []  # nobody waits for an orphan to go
        rs = self._resolve(_meta(pod).get("namespace"), ref)
        if rs is None:
            return []
        self.expectations.deletion_observed(key_of(rs), key_of(pod))
        return [key_of(rs)]

    def _resolve(self, namespace: str | None, ref: dict[str, Any]) -> Obj | None:
        """The cached RS a controllerRef names, if kind, name and uid all match."""
        if ref.get("kind") != "ReplicaSet":
            return None
        rs = self.replicasets.get(namespace, str(ref.get("name")))
        if rs is None or _meta(rs).get("uid") != ref.get("uid"):
            return None
        return rs

    def _matching_replicasets(self, pod: Obj) -> list[Obj]:
        """RSs of the pod's namespace whose selector matches it; a nil or empty selector matches nothing."""
        labels = _meta(pod).get("labels") or {}
        if not labels:
            return []
        out = []
        for rs in self.replicasets.list(_meta(pod).get("namespace")):
            try:
                selector = label_selector_from_object((rs.get("spec") or {}).get("selector"))
            except SelectorError:
                continue
            if not selector.empty() and selector.matches(labels):
                out.append(rs)
        if len(out) > 1:
            log.warning("more than one ReplicaSet selects pods with labels %s", labels)
        return out

    # -- sync --------------------------------------------------------------------------------------
    async def sync(self, key: str) -> SyncResult | None:
        namespace, name = split_key(key)
        cached = self.replicasets.get(namespace, name)
        if cached is None:
            self.expectations.delete(key)
            self.facts.forget(key)
            return None
        rs = copy.deepcopy(cached)
        needs_sync = self.expectations.satisfied(key)
        try:
            selector = label_selector_from_object((rs.get("spec") or {}).get("selector"))
        except SelectorError as err:
            log.error("replicaset %s: bad selector: %s", key, err)
            return None
        # The pods this RS controls and the namespace's orphans (kube's FilterPodsByOwner): pods
        # controlled by anyone else could only be skipped by the claim, so they are never read.
        candidates = controlled_by(self.pods, rs, include_orphans=True)
        facts = self.facts.facts(key, selector, template_labels_of(rs), candidates)
        claimed = await self._claim(rs, candidates, facts)
        pods = [p for p, _ in claimed]

        manage_error: Exception | None = None
        if needs_sync and not _meta(rs).get("deletionTimestamp"):
            manage_error = await self._manage(rs, pods)
        now = self.clock.now()
        min_ready = min_ready_seconds_of(rs)
        counts = count((f for _, f in claimed), min_ready, now)
        new_status = status_from_counts(rs, counts, manage_error, now)
        updated = await update_status(self.client, rs, new_status)
        if manage_error is not None:
            raise manage_error
        min_ready = min_ready_seconds_of(updated)
        status = updated.get("status") or {}
        wanted = replicas_of(updated)
        if (
            min_ready > 0
            and status.get("readyReplicas", 0) == wanted
            and status.get("availableReplicas", 0) != wanted
        ):
            return SyncResult(requeue_after_seconds=float(min_ready))
        return None

    async def _manage(self, rs: Obj, pods: list[Obj]) -> Exception | None:
        """Create or delete (never both) toward ``spec.replicas``; returns the first failure."""
        diff = len(pods) - replicas_of(rs)
        if diff < 0:
            return await self.pod_control.create_pods(rs, min(-diff, self.burst_replicas))
        if diff > 0:
            victims = pods_to_delete(
                pods, self._related_pods(rs), min(diff, self.burst_replicas), self.clock.now()
            )
            return await self.pod_control.delete_pods(rs, victims)
        return None

    def _related_pods(self, rs: Obj) -> list[Obj]:
        """Pods selected by every RS sharing this RS's controller (itself included), each pod once."""
        owner = controller_of(rs)
        if owner is None:
            return []
        owner_uid = owner.get("uid")
        seen: set[str] = set()
        out: list[Obj] = []
        for sibling in self.replicasets.list(_meta(rs).get("namespace")):
            ref = controller_of(sibling)
            if ref is None or ref.get("uid") != owner_uid:
                continue
            try:
                selector = label_selector_from_object((sibling.get("spec") or {}).get("selector"))
            except SelectorError:
                continue
            for pod in self.pods.list(_meta(sibling).get("namespace")):
                uid = str(_meta(pod).get("uid"))
                if uid not in seen and selector.matches(_meta(pod).get("labels") or {}):
                    seen.add(uid)
                    out.append(pod)
        return out

    # -- claiming ----------------------------------------------------------------------------------
    async def _claim(self, rs: Obj, pods: list[Obj], facts: list[PodFacts]) -> list[tuple[Obj, PodFacts]]:
        """Keep, adopt or release each active pod; raises the first error after trying them all.

        The common case, an active pod we control whose labels still match, is decided in one pass
        over the memoised facts; only the pods that need a write (release, adopt) take the slow path.
        """
        uid = _meta(rs).get("uid")
        deleting = bool(_meta(rs).get("deletionTimestamp"))
        claimed: list[tuple[Obj, PodFacts]] = []
        to_release: list[Obj] = []
        to_adopt: list[tuple[Obj, PodFacts]] = []
        for pod, f in zip(pods, facts, strict=True):
            if not f.active:  # terminal or being deleted (an active pod has no deletionTimestamp)
                continue
            owner = f.controller_uid
            if owner == uid:
                if f.matches:
                    claimed.append((pod, f))
                elif not deleting:
                    to_release.append(pod)
            elif owner is None and f.matches and not deleting:
                to_adopt.append((pod, f))
        errors: list[Exception] = []
        for pod in to_release:
            try:
                await self._release(rs, pod)
            except Exception as err:
                errors.append(err)
        can_adopt: list[Exception | None] = []  # the live re-check, done once per pass
        for pod, f in to_adopt:
            try:
                await self._adopt(rs, pod, can_adopt)
            except Exception as err:
                if not (isinstance(err, ApiStatusError) and err.not_found):  # NotFound: the pod is gone
                    errors.append(err)
                continue
            claimed.append((pod, f))
        if errors:
            raise errors[0]
        return claimed

    async def _adopt(self, rs: Obj, pod: Obj, can_adopt: list[Exception | None]) -> None:
        if not can_adopt:
            can_adopt.append(await self._recheck(rs))
        if can_adopt[0] is not None:
            pm = _meta(pod)
            raise PodControlError(
                f"can't adopt Pod {pm.get('namespace')}/{pm.get('name')} ({pm.get('uid')}): {can_adopt[0]}"
            )
        body = {"metadata": {"ownerReferences": [controller_ref(rs)], "uid": _meta(pod).get("uid")}}
        await self.client.patch(
            PODS, _meta(pod).get("namespace"), str(_meta(pod).get("name")), body, patch_type="strategic"
        )

    async def _recheck(self, rs: Obj) -> Exception | None:
        """Live GET: the RS must still exist, with the same UID, and not be being deleted."""
        m = _meta(rs)
        try:
            fresh = await self.client.get(RESOURCE, m.get("namespace"), str(m.get("name")))
        except Exception as err:
            return PodControlError(f"can't recheck DeletionTimestamp: {err}")
        fm = _meta(fresh)
        if fm.get("uid") != m.get("uid"):
            return PodControlError(
                f"can't recheck DeletionTimestamp: original ReplicaSet {m.get('namespace')}/{m.get('name')} "
                f"is gone: got uid {fm.get('uid')}, wanted {m.get('uid')}"
            )
        if fm.get("deletionTimestamp"):
            return PodControlError(
                f"{fm.get('namespace')}/{fm.get('name')} has just been deleted at {fm['deletionTimestamp']}"
            )
        return None

    async def _release(self, rs: Obj, pod: Obj) -> None:
        """Strategic-merge patch deleting our ownerReference; NotFound and Invalid are fine."""
        body = {
            "metadata": {
                "ownerReferences": [{"$patch": "delete", "uid": _meta(rs).get("uid")}],
                "uid": _meta(pod).get("uid"),
            }
        }
        try:
            await self.client.patch(
                PODS, _meta(pod).get("namespace"), str(_meta(pod).get("name")), body, patch_type="strategic"
            )
        except ApiStatusError as err:
            # NotFound: the pod is gone. Invalid: no ownerReferences left, or a recreated pod (uid differs).
            if not (err.not_found or err.code == 422):
                raise


def build(ctx: ControllerContext) -> ReplicaSetController:
    """The manager's factory: shared ReplicaSet and pod caches, this controller's own client and recorder."""
    return ReplicaSetController(
        ctx.lister(RESOURCE), ctx.lister(PODS), client=ctx.client, recorder=ctx.recorder, clock=ctx.clock
    )


SPEC = ControllerSpec(name=NAME, build=build)
