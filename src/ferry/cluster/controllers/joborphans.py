"""Kube's orphan-pod worker for Jobs: releases the tracking finalizer of pods no running Job accounts for.

:class:`OrphanPodFinalizerController` strips ``batch.kubernetes.io/job-tracking`` from pods that have no
controller or whose Job is gone or finished, so deleting a Job never leaves its pods stuck Terminating. Pods
of Jobs managed by another controller (``spec.managedBy``) and pods controlled by anything but a batch/v1 Job
are left alone.
"""

from __future__ import annotations

from ferry.cluster.controllers.endpoints import meta, spec
from ferry.cluster.controllers.jobpods import PODS, controller_ref, has_finalizer, strip_finalizer
from ferry.cluster.controllers.jobstatus import JOB_CONTROLLER_NAME, JOBS, is_finished
from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.types import ApiStatusError, Lister, Obj, key_of


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
