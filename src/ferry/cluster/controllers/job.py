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

Modules: this one (:class:`JobController`: the event handlers and ``sync``), ``jobpods`` (pod predicates,
expectations, creating and deleting pods, the pod-failure back-off), ``jobstatus`` (conditions, counters,
finalizer tracking and the ``/status`` writes) and ``joborphans`` (:class:`OrphanPodFinalizerController`).
"""

from __future__ import annotations

import copy

from ferry.cluster.apiserver.objects import parse_rfc3339, rfc3339
from ferry.cluster.apiserver.selectors import label_selector_from_object
from ferry.cluster.controllers.endpoints import is_ready, is_terminal, meta, spec
from ferry.cluster.controllers.joborphans import OrphanPodFinalizerController
from ferry.cluster.controllers.jobpods import (
    BATCH_SECONDS,
    EXPECTATIONS_TIMEOUT,
    MAX_POD_BACKOFF_SECONDS,
    MAX_POD_CHANGES_PER_SYNC,
    POD_BACKOFF_SECONDS,
    PODS,
    TRACKING_FINALIZER,
    Dict,
    JobPodControl,
    _Pass,
    _State,
    _status,
    backoff_remaining,
    controller_ref,
    finished_at,
    has_finalizer,
    is_active,
    is_failed,
    removal_order,
    strip_finalizer,
    succeeded,
)
from ferry.cluster.controllers.jobstatus import (
    BACKOFF_EXCEEDED,
    DEADLINE_EXCEEDED,
    JOB_CONTROLLER_NAME,
    JOBS,
    MAX_UNCOUNTED_PODS,
    SUCCESS,
    JobStatusControl,
    _set_count,
    condition,
    count_removed,
    is_finished,
    new_condition,
    past_backoff_on_failure,
    uncounted,
)
from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.manager import SyncResult
from ferry.cluster.controllers.runtime.types import Lister, Obj, key_of

__all__ = [
    "BACKOFF_EXCEEDED",
    "BATCH_SECONDS",
    "DEADLINE_EXCEEDED",
    "EXPECTATIONS_TIMEOUT",
    "JOBS",
    "JOB_CONTROLLER_NAME",
    "MAX_POD_BACKOFF_SECONDS",
    "MAX_POD_CHANGES_PER_SYNC",
    "MAX_UNCOUNTED_PODS",
    "PODS",
    "POD_BACKOFF_SECONDS",
    "SUCCESS",
    "TRACKING_FINALIZER",
    "Dict",
    "JobController",
    "Keys",
    "OrphanPodFinalizerController",
    "backoff_remaining",
    "condition",
    "controller_ref",
    "count_removed",
    "finished_at",
    "has_finalizer",
    "is_active",
    "is_failed",
    "is_finished",
    "new_condition",
    "past_backoff_on_failure",
    "removal_order",
    "strip_finalizer",
    "succeeded",
    "uncounted",
]

Keys = list[str | tuple[str, float]]


class JobController:
    """Runs a Job's pods to completion or failure. Keys: ``<ns>/<job>``."""

    resources = (JOBS, PODS)

    def __init__(
        self, jobs: Lister, pods: Lister, client: rt.Client, recorder: rt.EventRecorder, clock: rt.Clock
    ):
        self.jobs, self.pods, self.client, self.recorder, self.clock = jobs, pods, client, recorder, clock
        self.state: dict[str, _State] = {}
        self.pod_control = JobPodControl(client, recorder, clock)
        self.status_control = JobStatusControl(client, recorder, clock)

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
            deleted, ready, error = await self.pod_control.delete(job, st, active, strip=False)
            if deleted != count or not satisfied:
                ctx.finished = None  # pods are left, or the cache is not trusted yet: finish later
            count, ctx.terminating, ctx.ready = count - deleted, ctx.terminating + deleted, ctx.ready - ready
        else:
            managed = satisfied and not meta(job).get("deletionTimestamp")
            if managed:
                count, error = await self.pod_control.manage(ctx, st, now)
            completions = spec(job).get("completions")
            if (ctx.succeeded > 0 if completions is None else ctx.succeeded >= completions) and count == 0:
                ctx.finished = new_condition(*SUCCESS, now)
            elif managed:
                suspend_changed = self.status_control.suspend_condition(job, suspended, now)
        seen = (int(status.get("active") or 0), status.get("ready"), status.get("terminating"))
        needs_flush = suspend_changed or (count, ctx.ready, ctx.terminating) != seen
        _set_count(status, "active", count)
        status["ready"], status["terminating"] = ctx.ready, ctx.terminating
        await self.status_control.track(ctx, st, needs_flush)
        if error is not None:
            raise error
        return SyncResult(requeue_after_seconds=ctx.requeue) if ctx.requeue is not None else None
