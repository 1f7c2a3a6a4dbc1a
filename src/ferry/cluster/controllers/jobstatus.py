"""A Job's status: conditions, counters, and tracking finished pods with the finalizer.

Conditions (:func:`condition`, :func:`new_condition`, :func:`is_finished`) and the failure checks
(``BackoffLimitExceeded`` via :func:`past_backoff_on_failure`, ``DeadlineExceeded``); the counters as the Go
JSON has them (``active``/``succeeded``/``failed`` omitted at 0, ``uncountedTerminatedPods`` always present).
:class:`JobStatusControl` owns the writes: the ``Suspended`` condition, ``trackJobStatusAndRemoveFinalizers``
(a finished pod's UID goes to ``uncountedTerminatedPods``, then its finalizer is removed, then it is counted,
so a crash between steps neither counts it twice nor loses it) and ``enactJobFinished`` (``Complete``/``Failed``
once nothing is uncounted and no pod is terminating), with the Job's ``Completed``/failure events. Every
``/status`` write carries the cached resourceVersion, so a stale cache gets 409 and a retry.
"""

from __future__ import annotations

import datetime as dt

from ferry.cluster.apiserver.objects import rfc3339
from ferry.cluster.controllers.endpoints import meta, spec
from ferry.cluster.controllers.jobpods import (
    Dict,
    _Pass,
    _State,
    _status,
    has_finalizer,
    is_failed,
    strip_finalizer,
    succeeded,
)
from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj

JOBS = "batch/v1/jobs"
JOB_CONTROLLER_NAME = "kubernetes.io/job-controller"
MAX_UNCOUNTED_PODS = 500
SUCCESS = ("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods")
BACKOFF_EXCEEDED = ("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_EXCEEDED = ("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline")


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


class JobStatusControl:
    """Writes a Job's ``/status``: the Suspended condition, finalizer tracking and the finished conditions."""

    def __init__(self, client: rt.Client, recorder: rt.EventRecorder, clock: rt.Clock) -> None:
        self.client, self.recorder, self.clock = client, recorder, clock

    def suspend_condition(self, job: Obj, suspended: bool, now: dt.datetime) -> bool:
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

    async def track(self, ctx: _Pass, st: _State, needs_flush: bool) -> None:
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
            job = await self.write(job)
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
                await self.write(job)
            raise failures[0]
        done = not full and self.enact(job, finished, ctx.terminating)
        if needs_flush or done:
            job = await self.write(job)
        if done and finished is not None and finished["type"] == "Complete":
            completions = spec(job).get("completions")
            if completions is not None and int(job["status"].get("succeeded") or 0) > completions:
                msg = "Too many succeeded pods running after completion count reached"
                self.recorder.event(job, "Warning", "TooManySucceededPods", msg)
            self.recorder.event(job, "Normal", "Completed", "Job completed")
        elif done and finished is not None:
            self.recorder.event(job, "Warning", finished.get("reason", ""), finished.get("message", ""))

    def enact(self, job: Obj, finished: Dict | None, terminating: int) -> bool:
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

    async def write(self, job: Obj) -> Obj:
        return await self.client.update(JOBS, meta(job).get("namespace"), job, subresource="status")
