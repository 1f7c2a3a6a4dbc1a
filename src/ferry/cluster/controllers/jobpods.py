"""A Job's pods: how they count, creating and deleting them, and the pod-failure back-off.

The pod predicates decide what a pod means to its Job (:func:`controller_ref`, :func:`has_finalizer`,
:func:`is_active`, :func:`succeeded`, :func:`is_failed`, :func:`finished_at`), :func:`removal_order` ranks
active pods for deletion, and :func:`strip_finalizer` is the guarded JSON patch that releases a pod's
``batch.kubernetes.io/job-tracking`` finalizer. :class:`_State` is what the controller remembers per Job
between syncs: the expectations (pods it created, deleted or un-finalized that the cache must show before it
is trusted again; 5 min expiry) and the failures since the last success behind the back-off of 10 s doubling
to 10 min (:func:`backoff_remaining`). :class:`_Pass` is one sync's view of a Job. :class:`JobPodControl` is
``manageJob``: it deletes surplus active pods (all of them while suspended) or creates the missing ones in
slow-start batches, with the events kube's ``RealPodControl`` records.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.apiserver.objects import parse_rfc3339
from ferry.cluster.controllers.endpoints import is_ready, is_terminal, meta, namespace_terminating, spec
from ferry.cluster.controllers.replicaset.podcontrol import slow_start_batch
from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj

PODS = "v1/pods"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
POD_BACKOFF_SECONDS, MAX_POD_BACKOFF_SECONDS = 10.0, 600.0
MAX_POD_CHANGES_PER_SYNC = 500
EXPECTATIONS_TIMEOUT = dt.timedelta(minutes=5)
BATCH_SECONDS = 1.0  # pod events and status-only Job updates are batched, as kube's syncJobBatchPeriod
Dict = dict[str, Any]


def _status(obj: Obj) -> Dict:
    return obj.get("status") or {}


def controller_ref(obj: Obj) -> Dict | None:
    return next((r for r in meta(obj).get("ownerReferences") or [] if r.get("controller")), None)


def has_finalizer(pod: Obj) -> bool:
    return TRACKING_FINALIZER in (meta(pod).get("finalizers") or [])


def is_active(pod: Obj) -> bool:
    return not is_terminal(pod) and not meta(pod).get("deletionTimestamp")


def succeeded(pod: Obj) -> bool:
    return _status(pod).get("phase") == "Succeeded"


def is_failed(pod: Obj, job: Obj) -> bool:
    """Failed phase, or (unless podReplacementPolicy is Failed) deleted before succeeding."""
    if _status(pod).get("phase") == "Failed":
        return True
    only_failed = spec(job).get("podReplacementPolicy") == "Failed"
    return not only_failed and bool(meta(pod).get("deletionTimestamp")) and not succeeded(pod)


def finished_at(pod: Obj) -> dt.datetime:
    """``getFinishedTime``: last container finish, else Ready=False transition, else deletion, else creation."""
    states = [
        (c.get("state") or {}).get("terminated") or {} for c in _status(pod).get("containerStatuses") or []
    ]
    ends = [parse_rfc3339(t.get("finishedAt")) for t in states]
    if ends and all(ends):
        return max(e for e in ends if e)
    ready: Dict = next((c for c in _status(pod).get("conditions") or [] if c.get("type") == "Ready"), {})
    when = parse_rfc3339(ready.get("lastTransitionTime")) if ready.get("status") == "False" else None
    deleted = parse_rfc3339(meta(pod).get("deletionTimestamp"))
    if when is None and deleted is not None:
        when = deleted - dt.timedelta(seconds=int(meta(pod).get("deletionGracePeriodSeconds") or 0))
    return when or parse_rfc3339(meta(pod).get("creationTimestamp")) or dt.datetime.min.replace(tzinfo=dt.UTC)


def removal_order(pod: Obj) -> tuple[Any, ...]:
    """``controller.ActivePods``: unscheduled, pending, not ready, recently ready, restarting, new first."""
    phase = {"Pending": 0, "Unknown": 1, "Running": 2}.get(_status(pod).get("phase") or "", 0)
    ready: Dict = next((c for c in _status(pod).get("conditions") or [] if c.get("type") == "Ready"), {})
    restarts = max(
        (c.get("restartCount") or 0 for c in _status(pod).get("containerStatuses") or []), default=0
    )
    times = (
        parse_rfc3339(ready.get("lastTransitionTime")),
        parse_rfc3339(meta(pod).get("creationTimestamp")),
    )
    newest = [-(t.timestamp() if t else float("inf")) for t in times]  # a zero time counts as newest
    return (
        bool(spec(pod).get("nodeName")),
        phase,
        is_ready(pod),
        newest[0] if is_ready(pod) else 0,
        -restarts,
        newest[1],
    )


def backoff_remaining(failures: int, last: dt.datetime | None, now: dt.datetime) -> float:
    if failures == 0 or last is None:
        return 0.0
    delay = min(POD_BACKOFF_SECONDS * 2.0 ** (failures - 1), MAX_POD_BACKOFF_SECONDS)
    return max(0.0, delay - (now - last).total_seconds())


async def strip_finalizer(client: rt.Client, pod: Obj) -> None:
    """Remove the tracking finalizer with a JSON patch whose ``test`` op fails on a concurrent edit."""
    path = f"/metadata/finalizers/{(meta(pod).get('finalizers') or []).index(TRACKING_FINALIZER)}"
    ops = [{"op": "test", "path": path, "value": TRACKING_FINALIZER}, {"op": "remove", "path": path}]
    await client.patch(PODS, meta(pod).get("namespace"), meta(pod)["name"], ops, patch_type="json")


@dataclass
class _State:
    """In memory per Job: what the cache must show before it is trusted, and the pod-failure back-off."""

    creates: set[str] = field(default_factory=set)  # names of pods created, not yet in the cache
    deletes: set[str] = field(default_factory=set)  # names of pods deleted, still active in the cache
    since: dt.datetime | None = None
    finalizers: set[str] = field(default_factory=set)  # uids whose finalizer removal is in flight
    failures: int = 0  # failures since the last success
    last_failure: dt.datetime | None = None

    def observe(self, pods: list[Obj], now: dt.datetime) -> bool:
        """Forget what the cache now shows; True when nothing is awaited any more (or the wait expired)."""
        by_name = {meta(p)["name"]: p for p in pods}
        self.creates = {n for n in self.creates if n not in by_name}
        self.deletes = {n for n in self.deletes if n in by_name and is_active(by_name[n])}
        self.finalizers &= {meta(p).get("uid") for p in pods if has_finalizer(p)}
        expired = self.since is not None and now - self.since > EXPECTATIONS_TIMEOUT
        return not (self.creates or self.deletes) or expired

    def backoff_after(
        self, new_succeeded: list[Obj], new_failed: list[Obj]
    ) -> tuple[int, dt.datetime | None]:
        """``newBackoffRecord``: failures after the last success, and the last failure's time."""
        failed = sorted(finished_at(p) for p in new_failed)
        if not new_succeeded:
            return (self.failures + len(failed), failed[-1]) if failed else (self.failures, self.last_failure)
        after = [t for t in failed if t > max(finished_at(p) for p in new_succeeded)]
        return len(after), (after[-1] if after else None)


@dataclass
class _Pass:
    """One sync's view of a Job (kube's ``syncJobCtx``)."""

    job: Obj
    pods: list[Obj]
    active: list[Obj]
    succeeded: int
    terminating: int
    ready: int
    backoff: tuple[int, dt.datetime | None]
    finished: Dict | None = None
    requeue: float | None = None


class JobPodControl:
    """Creates and deletes a Job's pods, recording the expectations in its :class:`_State` and the events."""

    def __init__(self, client: rt.Client, recorder: rt.EventRecorder, clock: rt.Clock) -> None:
        self.client, self.recorder, self.clock = client, recorder, clock

    async def manage(self, ctx: _Pass, st: _State, now: dt.datetime) -> tuple[int, Exception | None]:
        """``manageJob``: delete surplus (when suspended: all) active pods, else create the missing ones."""
        job, active, suspended = ctx.job, len(ctx.active), spec(ctx.job).get("suspend") is True
        parallelism, completions = int(spec(job).get("parallelism", 1)), spec(job).get("completions")
        if completions is None:
            want = active if ctx.succeeded > 0 else parallelism
        else:
            want = max(0, min(completions - ctx.succeeded, parallelism))
        surplus = active if suspended else max(0, active - want)
        victims = sorted(ctx.active, key=removal_order)[: min(surplus, MAX_POD_CHANGES_PER_SYNC)]
        if victims:
            deleted, ready, error = await self.delete(job, st, victims, strip=True)
            ctx.terminating, ctx.ready = ctx.terminating + deleted, ctx.ready - ready
            return active - deleted, error
        replacing = ctx.terminating if spec(job).get("podReplacementPolicy") == "Failed" else 0
        missing = min(want - replacing - active, MAX_POD_CHANGES_PER_SYNC)
        if missing <= 0 or suspended:
            return active, None
        wait = backoff_remaining(*ctx.backoff, now)
        if wait > 0:
            ctx.requeue = min(ctx.requeue or wait, max(wait, BATCH_SECONDS))
            return active, None
        st.since = now
        created, error = await slow_start_batch(missing, 1, lambda: self.create(job, st))
        return active + created, error

    async def create(self, job: Obj, st: _State) -> Exception | None:
        """``GetPodFromTemplate`` plus the tracking finalizer; events as kube's ``RealPodControl``."""
        template = spec(job).get("template") or {}
        tmeta = template.get("metadata") or {}
        m: Dict = {"generateName": f"{meta(job)['name']}-"}
        m |= {k: copy.deepcopy(tmeta[k]) for k in ("labels", "annotations") if tmeta.get(k)}
        m["finalizers"] = list(tmeta.get("finalizers") or [])
        m["finalizers"] += [] if TRACKING_FINALIZER in m["finalizers"] else [TRACKING_FINALIZER]
        ref = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": meta(job)["name"],
            "uid": meta(job).get("uid"),
        }
        m["ownerReferences"] = [ref | {"controller": True, "blockOwnerDeletion": True}]
        if not m.get("labels"):
            return ValueError("unable to create pods, no labels")
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": m,
            "spec": copy.deepcopy(template.get("spec") or {}),
        }
        try:
            pod = await self.client.create(PODS, meta(job).get("namespace"), body)
        except ApiStatusError as e:
            if namespace_terminating(e):
                return None
            self.recorder.event(job, "Warning", "FailedCreate", f"Error creating: {e}")
            return e
        st.creates.add(meta(pod)["name"])
        self.recorder.event(job, "Normal", "SuccessfulCreate", f"Created pod: {meta(pod)['name']}")
        return None

    async def delete(
        self, job: Obj, st: _State, pods: list[Obj], *, strip: bool
    ) -> tuple[int, int, Exception | None]:
        """Delete ``pods`` concurrently (stripping the finalizer first if ``strip``): deleted, ready, error."""

        async def one(pod: Obj) -> Exception | None:
            name = meta(pod)["name"]
            try:
                if strip and has_finalizer(pod):
                    await strip_finalizer(self.client, pod)
                await self.client.delete(PODS, meta(pod).get("namespace"), name)
            except ApiStatusError as e:
                if e.not_found:
                    return None
                self.recorder.event(job, "Warning", "FailedDelete", f"Error deleting: {e}")
                return e
            st.deletes.add(name)
            self.recorder.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
            return None

        st.since = self.clock.now()
        errors = await asyncio.gather(*(one(p) for p in pods))
        gone = [p for p, e in zip(pods, errors, strict=True) if e is None]
        return len(gone), sum(map(is_ready, gone)), next((e for e in errors if e is not None), None)
