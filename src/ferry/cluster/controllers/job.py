"""Job controller (batch/v1): kube 1.32's ``pkg/controller/job`` for NonIndexed Jobs.

``sync(<ns>/<job>)`` is level-triggered. It takes the pods the Job controls (controllerRef UID and
selector), counts them, and converges in this order:

1. **Failure**: more counted failures than ``backoffLimit`` (or, with ``restartPolicy: OnFailure``, container
   restarts reaching it) → ``BackoffLimitExceeded`` "Job has reached the specified backoff limit";
   ``activeDeadlineSeconds`` passed since ``startTime`` → ``DeadlineExceeded`` "Job was active longer than
   specified deadline" (until then the sync asks to be requeued at the deadline).
2. Else **manage**: delete surplus active pods (all of them while ``suspend``), or create the missing ones
   (``min(parallelism, completions - succeeded)``; without completions, ``parallelism`` until one pod
   succeeds) in slow-start batches, once the pod-failure back-off allows (10 s doubling to 10 min per
   failure since the last success). A pod is the template (whose labels carry
   ``batch.kubernetes.io/controller-uid`` and ``job-name`` from the API's defaulting) with ``generateName:
   <job>-``, a controller ownerReference and the ``batch.kubernetes.io/job-tracking`` finalizer. Events on
   the Job: ``SuccessfulCreate`` "Created pod: <p>", ``SuccessfulDelete`` "Deleted pod: <p>", Warnings
   ``FailedCreate``/``FailedDelete``; ``Suspended``/``Resumed`` with the ``Suspended`` condition.
3. **Tracking with finalizers** (kube ≥1.26): a finished pod's UID is written to
   ``status.uncountedTerminatedPods`` first, then its finalizer is removed (a JSON patch whose ``test`` op
   guards concurrent edits), then it moves into ``succeeded``/``failed``. A crash between steps never counts
   a pod twice or loses it; a pod without the finalizer is already counted.
4. **Finishing**, as 1.31+ does: the interim ``SuccessCriteriaMet`` (``CompletionsReached`` "Reached expected
   number of succeeded pods") or ``FailureTarget`` condition comes first; a failed Job's active pods are
   deleted; ``Complete``/``Failed`` (same reason and message; ``completionTime`` for Complete) follow once
   nothing is uncounted and no pod is terminating. Events: ``Completed`` "Job completed", or a Warning with
   the failure's reason and message.

Status follows the Go JSON: ``active``/``succeeded``/``failed`` omitted at 0; ``ready``, ``terminating`` and
``uncountedTerminatedPods`` always present. As in kube a sync may write status twice (counters, then the
terminal condition). Races: what this controller created, deleted or un-finalized is checked against the
cache itself before it trusts the cache again (expectations, 5 min expiry); status writes carry the cached
resourceVersion, so a stale cache gets 409 and a retry.

:class:`OrphanPodFinalizerController` is kube's orphan-pod worker: it strips the tracking finalizer from pods
whose Job is gone or finished, so deleting a Job never leaves its pods stuck Terminating.

Not implemented: Indexed completion mode (a Warning ``UnsupportedCompletionMode``, then nothing),
podFailurePolicy, successPolicy, backoffLimitPerIndex, adoption/release of pods (the generated selector holds
the Job's UID, so only ``manualSelector`` Jobs could adopt), and ``ttlSecondsAfterFinished`` (kube's separate
TTL-after-finished controller).
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.apiserver.objects import parse_rfc3339, rfc3339
from ferry.cluster.apiserver.selectors import label_selector_from_object
from ferry.cluster.controllers.endpoints import is_ready, is_terminal, meta, namespace_terminating, spec
from ferry.cluster.controllers.replicaset.podcontrol import slow_start_batch
from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.manager import SyncResult
from ferry.cluster.controllers.runtime.types import ApiStatusError, Lister, Obj, key_of

JOBS, PODS = "batch/v1/jobs", "v1/pods"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
JOB_CONTROLLER_NAME = "kubernetes.io/job-controller"
POD_BACKOFF_SECONDS, MAX_POD_BACKOFF_SECONDS = 10.0, 600.0
MAX_UNCOUNTED_PODS = MAX_POD_CHANGES_PER_SYNC = 500
EXPECTATIONS_TIMEOUT = dt.timedelta(minutes=5)
BATCH_SECONDS = 1.0  # pod events and status-only Job updates are batched, as kube's syncJobBatchPeriod
SUCCESS = ("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods")
BACKOFF_EXCEEDED = ("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline")
Dict = dict[str, Any]
Keys = list[str | tuple[str, float]]


def _status(obj: Obj) -> Dict:
    return obj.get("status") or {}


def controller_ref(obj: Obj) -> Dict | None:
    return next((r for r in meta(obj).get("ownerReferences") or [] if r.get("controller")), None)


def condition(job: Obj, type_: str) -> Dict | None:
    conditions = _status(job).get("conditions") or []
    return next((c for c in conditions if c.get("type") == type_ and c.get("status") == "True"), None)


def is_finished(job: Obj) -> bool:
    return condition(job, "Complete") is not None or condition(job, "Failed") is not None


def new_condition(type_: str, reason: str, message: str, now: dt.datetime, status: str = "True") -> Dict:
    cond = {
        "type": type_,
        "status": status,
        "lastProbeTime": rfc3339(now),
        "lastTransitionTime": rfc3339(now),
    }
    return cond | ({"reason": reason} if reason else {}) | ({"message": message} if message else {})


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


def uncounted(status: Dict) -> tuple[list[str], list[str]]:
    u = status.get("uncountedTerminatedPods") or {}
    return list(u.get("succeeded") or []), list(u.get("failed") or [])


def _set_uncounted(status: Dict, succeeded_uids: list[str], failed_uids: list[str]) -> None:
    pairs = (("succeeded", succeeded_uids), ("failed", failed_uids))
    status["uncountedTerminatedPods"] = {k: v for k, v in pairs if v}


def _set_count(status: Dict, name: str, value: int) -> None:
    status.pop(name, None)
    status.update({name: value} if value else {})


def count_removed(status: Dict, with_finalizer: set[str]) -> bool:
    """``cleanUncountedPodsWithoutFinalizers``: uncounted pods whose finalizer is gone become counted."""
    unc_s, unc_f = uncounted(status)
    keep_s, keep_f = [u for u in unc_s if u in with_finalizer], [u for u in unc_f if u in with_finalizer]
    if (keep_s, keep_f) == (unc_s, unc_f):
        return False
    _set_count(status, "succeeded", int(status.get("succeeded") or 0) + len(unc_s) - len(keep_s))
    _set_count(status, "failed", int(status.get("failed") or 0) + len(unc_f) - len(keep_f))
    _set_uncounted(status, keep_s, keep_f)
    return True


def past_backoff_on_failure(job: Obj, pods: list[Obj]) -> bool:
    """``pastBackoffLimitOnFailure``: with restartPolicy OnFailure, restarts of running/pending pods count."""
    if ((spec(job).get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    live = [_status(p) for p in pods if _status(p).get("phase") in ("Running", "Pending")]
    statuses = [
        c for s in live for c in (s.get("initContainerStatuses") or []) + (s.get("containerStatuses") or [])
    ]
    restarts, limit = (
        sum(int(c.get("restartCount") or 0) for c in statuses),
        int(spec(job).get("backoffLimit", 6)),
    )
    return restarts > 0 if limit == 0 else restarts >= limit


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


class JobController:
    """Runs a Job's pods to completion or failure. Keys: ``<ns>/<job>``."""

    resources = (JOBS, PODS)

    def __init__(
        self, jobs: Lister, pods: Lister, client: rt.Client, recorder: rt.EventRecorder, clock: rt.Clock
    ):
        self.jobs, self.pods, self.client, self.recorder, self.clock = jobs, pods, client, recorder, clock
        self.state: dict[str, _State] = {}

    # -- event handlers: pod events and status-only Job updates are batched ------------------------
    def _owner(self, pod: Obj) -> Keys:
        ref = controller_ref(pod) or {}
        job = (
            self.jobs.get(meta(pod).get("namespace"), str(ref.get("name")))
            if ref.get("kind") == "Job"
            else None
        )
        return [(key_of(job), BATCH_SECONDS)] if job and meta(job).get("uid") == ref.get("uid") else []

    def on_add(self, resource: str, obj: Obj) -> Keys:
        return [key_of(obj)] if resource == JOBS else self._owner(obj)

    def on_update(self, resource: str, old: Obj, new: Obj) -> Keys:
        if resource == PODS:
            if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
                return []
            moved = controller_ref(old) != controller_ref(new)
            return list(dict.fromkeys(self._owner(new) + (self._owner(old) if moved else [])))
        spec_changed = meta(old).get("generation") != meta(new).get("generation")
        keys: Keys = [key_of(new) if spec_changed else (key_of(new), BATCH_SECONDS)]
        deadline, start = spec(new).get("activeDeadlineSeconds"), parse_rfc3339(_status(new).get("startTime"))
        if deadline is not None and start is not None and spec(old).get("activeDeadlineSeconds") != deadline:
            keys.append((key_of(new), max(0.0, deadline - (self.clock.now() - start).total_seconds())))
        return keys

    def on_delete(self, resource: str, obj: Obj) -> Keys:
        return [key_of(obj)] if resource == JOBS else self._owner(obj)

    # -- reconcile -----------------------------------------------------------------------------------
    async def sync(self, key: str) -> SyncResult | None:
        ns, name = rt.split_key(key)
        cached = self.jobs.get(ns, name)
        if cached is None or is_finished(cached):
            self.state.pop(key, None)
            return None
        if spec(cached).get("managedBy") not in (None, JOB_CONTROLLER_NAME):
            return None
        if (spec(cached).get("completionMode") or "NonIndexed") != "NonIndexed":
            msg = "ferry's job controller does not run Indexed Jobs yet"
            self.recorder.event(cached, "Warning", "UnsupportedCompletionMode", msg)
            return None
        job, now, st = copy.deepcopy(cached), self.clock.now(), self.state.setdefault(key, _State())
        status = job.setdefault("status", {})
        status.setdefault("uncountedTerminatedPods", {})
        selector, uid = label_selector_from_object(spec(job).get("selector")), meta(job).get("uid")
        pods = self.pods.list(
            ns,
            lambda p: (controller_ref(p) or {}).get("uid") == uid and selector.matches(meta(p).get("labels")),
        )
        satisfied = st.observe(pods, now)
        unc_s, unc_f = (set(u) for u in uncounted(status))
        fresh = [p for p in pods if has_finalizer(p) and meta(p).get("uid") not in st.finalizers]
        new_s = [p for p in fresh if succeeded(p) and meta(p).get("uid") not in unc_s]
        new_f = [p for p in fresh if is_failed(p, job) and meta(p).get("uid") not in unc_f]
        active = [p for p in pods if is_active(p)]
        terminating = sum(bool(meta(p).get("deletionTimestamp")) and not is_terminal(p) for p in pods)
        done = int(status.get("succeeded") or 0) + len(new_s) + len(unc_s)
        ctx = _Pass(
            job, pods, active, done, terminating, sum(map(is_ready, active)), st.backoff_after(new_s, new_f)
        )
        failed = int(status.get("failed") or 0) + len(new_f) + len(unc_f)
        suspended = spec(job).get("suspend") is True
        if not status.get("startTime") and not suspended:
            status["startTime"] = rfc3339(now)
        ctx.finished = condition(job, "SuccessCriteriaMet")
        target = condition(job, "FailureTarget") if ctx.finished is None else None
        if target is not None:
            ctx.finished = new_condition("Failed", target.get("reason", ""), target.get("message", ""), now)
        deadline = spec(job).get("activeDeadlineSeconds")
        elapsed = (now - (parse_rfc3339(status.get("startTime")) or now)).total_seconds()
        if ctx.finished is not None:
            pass
        elif failed > int(spec(job).get("backoffLimit", 6)) or past_backoff_on_failure(job, pods):
            ctx.finished = new_condition(*BACKOFF_EXCEEDED, now)
        elif deadline is not None and not suspended and elapsed >= deadline:
            ctx.finished = new_condition(*DEADLINE_EXCEEDED, now)
        elif deadline is not None and not suspended:
            ctx.requeue = deadline - elapsed
        count, error, suspend_changed = len(active), None, False
        if ctx.finished is not None:
            deleted, ready, error = await self._delete(job, st, active, strip=False)
            if deleted != count or not satisfied:
                ctx.finished = None  # pods are left, or the cache is not trusted yet: finish later
            count, ctx.terminating, ctx.ready = count - deleted, ctx.terminating + deleted, ctx.ready - ready
        else:
            managed = satisfied and not meta(job).get("deletionTimestamp")
            if managed:
                count, error = await self._manage(ctx, st, now)
            completions = spec(job).get("completions")
            if (ctx.succeeded > 0 if completions is None else ctx.succeeded >= completions) and count == 0:
                ctx.finished = new_condition(*SUCCESS, now)
            elif managed:
                suspend_changed = self._suspend_condition(job, suspended, now)
        seen = (int(status.get("active") or 0), status.get("ready"), status.get("terminating"))
        needs_flush = suspend_changed or (count, ctx.ready, ctx.terminating) != seen
        _set_count(status, "active", count)
        status["ready"], status["terminating"] = ctx.ready, ctx.terminating
        await self._track(ctx, st, needs_flush)
        if error is not None:
            raise error
        return SyncResult(requeue_after_seconds=ctx.requeue) if ctx.requeue is not None else None

    def _suspend_condition(self, job: Obj, suspended: bool, now: dt.datetime) -> bool:
        """``Suspended`` True/JobSuspended or False/JobResumed; resuming restarts the deadline's clock."""
        conditions = job["status"].setdefault("conditions", [])
        current = next((c for c in conditions if c.get("type") == "Suspended"), None)
        want = (
            ("True", "JobSuspended", "Job suspended") if suspended else ("False", "JobResumed", "Job resumed")
        )
        have = current and (current.get("status"), current.get("reason"), current.get("message"))
        if (current is None and not suspended) or have == want:
            if not conditions:
                del job["status"]["conditions"]
            return False
        fresh = new_condition("Suspended", want[1], want[2], now, status=want[0])
        if current is None:
            conditions.append(fresh)
        else:
            conditions[conditions.index(current)] = fresh
        self.recorder.event(job, "Normal", "Suspended" if suspended else "Resumed", want[2])
        if not suspended:
            job["status"]["startTime"] = rfc3339(now)
        return True

    async def _manage(self, ctx: _Pass, st: _State, now: dt.datetime) -> tuple[int, Exception | None]:
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
            deleted, ready, error = await self._delete(job, st, victims, strip=True)
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
        created, error = await slow_start_batch(missing, 1, lambda: self._create(job, st))
        return active + created, error

    async def _create(self, job: Obj, st: _State) -> Exception | None:
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

    async def _delete(
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

    async def _track(self, ctx: _Pass, st: _State, needs_flush: bool) -> None:
        """``trackJobStatusAndRemoveFinalizers``: uncounted → finalizers removed → counted → finished."""
        job, finished = ctx.job, ctx.finished
        live = {str(meta(p).get("uid")) for p in ctx.pods if has_finalizer(p)} - st.finalizers
        needs_flush |= count_removed(job["status"], live)
        unc_s, unc_f = uncounted(job["status"])
        strip, full = [], False
        for pod in ctx.pods:
            uid, failed = str(meta(pod).get("uid")), is_failed(pod, job)
            if uid not in live or not (
                meta(job).get("deletionTimestamp") or finished or succeeded(pod) or failed
            ):
                continue
            strip.append(pod)
            if succeeded(pod) and uid not in unc_f:
                unc_s += [] if uid in unc_s else [uid]
            elif (failed or (finished and finished["type"] != SUCCESS[0])) and uid not in unc_f:
                unc_f.append(uid)  # once the Job has failed, every unfinished pod counts as failed
            if len(unc_s) + len(unc_f) >= MAX_UNCOUNTED_PODS:
                full = True
                break
        if (unc_s, unc_f) != uncounted(job["status"]):
            needs_flush = True
            _set_uncounted(job["status"], unc_s, unc_f)
        if finished is not None and finished["type"] in ("FailureTarget", SUCCESS[0]):
            if condition(job, finished["type"]) is None:
                job["status"].setdefault("conditions", []).append(finished)
                needs_flush = True
            final = "Failed" if finished["type"] == "FailureTarget" else "Complete"
            reason, message = finished.get("reason", ""), finished.get("message", "")
            finished = new_condition(final, reason, message, self.clock.now())
        if needs_flush:
            job = await self._write(job)
            st.failures, st.last_failure = ctx.backoff
            needs_flush = False
        failures = []
        for pod in strip:
            uid = str(meta(pod).get("uid"))
            st.finalizers.add(uid)
            try:
                await strip_finalizer(self.client, pod)
            except ApiStatusError as e:
                st.finalizers.discard(uid)
                if not e.not_found:
                    failures.append(e)
                    continue
            live.discard(uid)
        needs_flush |= count_removed(job["status"], live)
        if failures:
            if needs_flush:
                await self._write(job)
            raise failures[0]
        done = not full and self._enact(job, finished, ctx.terminating)
        if needs_flush or done:
            job = await self._write(job)
        if done and finished is not None and finished["type"] == "Complete":
            completions = spec(job).get("completions")
            if completions is not None and int(job["status"].get("succeeded") or 0) > completions:
                msg = "Too many succeeded pods running after completion count reached"
                self.recorder.event(job, "Warning", "TooManySucceededPods", msg)
            self.recorder.event(job, "Normal", "Completed", "Job completed")
        elif done and finished is not None:
            self.recorder.event(job, "Warning", finished.get("reason", ""), finished.get("message", ""))

    def _enact(self, job: Obj, finished: Dict | None, terminating: int) -> bool:
        """``enactJobFinished``: Complete/Failed only with nothing uncounted and nothing terminating."""
        if finished is None or any(uncounted(job["status"])) or terminating > 0:
            return False
        conditions = job["status"].setdefault("conditions", [])
        current = next((c for c in conditions if c.get("type") == finished["type"]), None)
        if current is None:
            conditions.append(finished)
        elif (current.get("status"), current.get("reason"), current.get("message")) != (
            "True",
            finished.get("reason"),
            finished.get("message"),
        ):
            conditions[conditions.index(current)] = finished
        if finished["type"] == "Complete":
            job["status"]["completionTime"] = finished["lastTransitionTime"]
        return True

    async def _write(self, job: Obj) -> Obj:
        return await self.client.update(JOBS, meta(job).get("namespace"), job, subresource="status")


class OrphanPodFinalizerController:
    """Kube's orphan-pod worker: strips the tracking finalizer from pods no running Job accounts for.

    Keys are *pod* keys. A pod is queued when it carries the finalizer and has no controller, when it is
    being deleted while its Job is gone or finished, and when its Job finishes or is deleted.
    """

    resources = (PODS, JOBS)

    def __init__(
        self, jobs: Lister, pods: Lister, client: rt.Client, recorder: rt.EventRecorder, clock: rt.Clock
    ):
        self.jobs, self.pods, self.client, self.recorder, self.clock = jobs, pods, client, recorder, clock

    def _job_of(self, pod: Obj) -> Obj | None:
        ref = controller_ref(pod) or {}
        job = (
            self.jobs.get(meta(pod).get("namespace"), str(ref.get("name")))
            if ref.get("kind") == "Job"
            else None
        )
        return job if job is not None and meta(job).get("uid") == ref.get("uid") else None

    def _pods_of(self, job: Obj) -> list[str]:
        uid, ns = meta(job).get("uid"), meta(job).get("namespace")
        return [
            key_of(p)
            for p in self.pods.list(ns)
            if has_finalizer(p) and (controller_ref(p) or {}).get("uid") == uid
        ]

    def on_add(self, resource: str, obj: Obj) -> list[str]:
        if resource == JOBS or not has_finalizer(obj):
            return []
        if controller_ref(obj) is None:
            return [key_of(obj)]
        job = self._job_of(obj)
        return (
            [key_of(obj)] if meta(obj).get("deletionTimestamp") and (job is None or is_finished(job)) else []
        )

    def on_update(self, resource: str, old: Obj, new: Obj) -> list[str]:
        if resource == JOBS:
            return self._pods_of(new) if is_finished(new) else []
        same = meta(old).get("resourceVersion") == meta(new).get("resourceVersion")
        return [] if same else self.on_add(resource, new)

    def on_delete(self, resource: str, obj: Obj) -> list[str]:
        return self._pods_of(obj) if resource == JOBS else []

    async def sync(self, key: str) -> None:
        ns, name = rt.split_key(key)
        pod = self.pods.get(ns, name)
        if pod is None or not has_finalizer(pod):
            return
        ref = controller_ref(pod)
        if ref is not None:
            if (ref.get("kind"), ref.get("apiVersion")) != ("Job", "batch/v1"):
                return
            job = self._job_of(pod)
            if job is not None and (
                spec(job).get("managedBy") not in (None, JOB_CONTROLLER_NAME) or not is_finished(job)
            ):
                return
        try:
            await strip_finalizer(self.client, pod)
        except ApiStatusError as e:
            if not e.not_found:
                raise
