"""Creating and deleting a ReplicaSet's pods: slow-start batches, expectations, events.

This is kube's ``RealPodControl`` plus the two halves of ``manageReplicas`` (k8s-semantics.md §3).

**Creating** ``n`` pods (``n`` already capped at ``burstReplicas``): the controller first *expects*
``n`` creations, then creates in slow-start batches of 1, 2, 4, 8, … (each batch concurrently). The
first batch with a failure is finished and no further batch starts, so a quota error costs one
request, not hundreds. Every pod that did not turn into a successful create (the failed ones and the
never attempted ones) lowers the expectations again, because no watch event will ever observe it.
A create refused because the namespace is terminating counts as a success and is not reported
(kube's choice: the namespace is going away anyway).

A pod is built from the template: ``generateName: <rs>-``, the template's labels, annotations and
finalizers, its spec, and one ownerReference ``{apps/v1, ReplicaSet, name, uid, controller: true,
blockOwnerDeletion: true}``. A template without labels is refused before any request. Events on the
RS: ``SuccessfulCreate`` "Created pod: <name>" and Warning ``FailedCreate`` "Error creating: <err>".

**Deleting** the chosen victims: expect their keys (``namespace/name``), then delete them all
concurrently with default options (each pod's own grace period). A failed delete lowers the
expectations for that pod; NotFound is not an error (someone else deleted it). Events:
``SuccessfulDelete`` "Deleted pod: <name>", Warning ``FailedDelete`` "Error deleting: <err>".

Errors returned to the caller feed the ``ReplicaFailure`` condition; their text is kube's.

Exception tree::

    Exception
     ├── ApiStatusError     (runtime.types) a create refused by the API server, returned as is
     └── PodControlError    "unable to create pods, no labels" / "unable to delete pods: <err>"
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Protocol

from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, EventRecorder, Obj, key_of

PODS = "v1/pods"
SLOW_START_INITIAL_BATCH_SIZE = 1
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"
_MAX_NAME = 253


class PodControlError(Exception):
    """A pod operation failed for a reason kube words itself (the message is the condition text)."""


class Expectations(Protocol):
    """What the RS controller needs from expectations (``runtime/expectations.py`` implements it).

    Per RS key: a count of creations and a set of pod keys whose deletion is awaited. ``satisfied``
    is true with no record, when both are exhausted, or when the record is older than 5 minutes.
    Parameters are positional-only so any implementation's parameter names fit.
    """

    def expect_creations(self, key: str, n: int, /) -> None: ...

    def creation_observed(self, key: str, /) -> None: ...

    def expect_deletions(self, key: str, pod_keys: list[str], /) -> None: ...

    def deletion_observed(self, key: str, pod_key: str, /) -> None: ...

    def satisfied(self, key: str, /) -> bool: ...

    def delete(self, key: str, /) -> None: ...


def controller_ref(rs: Obj) -> Obj:
    meta = rs.get("metadata") or {}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_from_template(rs: Obj) -> Obj:
    """kube's ``GetPodFromTemplate``: the pod body ``create`` sends (empty fields omitted, as Go does)."""
    template = (rs.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    name = str((rs.get("metadata") or {}).get("name"))
    prefix = f"{name}-" if len(name) + 1 <= _MAX_NAME else name
    meta: Obj = {"generateName": prefix}
    for field in ("labels", "annotations", "finalizers"):
        if tmeta.get(field):
            meta[field] = copy.deepcopy(tmeta[field])
    meta["ownerReferences"] = [controller_ref(rs)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def _namespace_terminating(err: Exception) -> bool:
    if not isinstance(err, ApiStatusError):
        return False
    causes = (err.status.get("details") or {}).get("causes") or []
    return any(isinstance(c, dict) and c.get("type") == NAMESPACE_TERMINATING_CAUSE for c in causes)


async def slow_start_batch(
    count: int, initial_batch_size: int, fn: Callable[[], Awaitable[Exception | None]]
) -> tuple[int, Exception | None]:
    """Call ``fn`` ``count`` times in batches of 1, 2, 4, …; stop after the first batch with an error.

    Returns the number of successful calls and the first error of the failing batch (or None).
    """
    remaining, successes = count, 0
    batch = min(remaining, initial_batch_size)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)))
        errors = [e for e in results if e is not None]
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


class PodControl:
    """Creates and deletes one controller's pods through the API, reporting events on the RS."""

    def __init__(self, client: Client, recorder: EventRecorder, expectations: Expectations) -> None:
        self.client = client
        self.recorder = recorder
        self.expectations = expectations

    async def create_pod(self, rs: Obj) -> Exception | None:
        """One create from the template; returns the error (None on success or namespace-terminating)."""
        body = pod_from_template(rs)
        if not body["metadata"].get("labels"):
            return PodControlError("unable to create pods, no labels")
        namespace = (rs.get("metadata") or {}).get("namespace")
        try:
            pod = await self.client.create(PODS, namespace, body)
        except Exception as err:  # any failure: a transport error must not leak the expectation either
            if _namespace_terminating(err):
                return None
            self.recorder.event(rs, "Warning", "FailedCreate", f"Error creating: {err}")
            return err
        name = (pod.get("metadata") or {}).get("name")
        self.recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {name}")
        return None

    async def create_pods(self, rs: Obj, count: int) -> Exception | None:
        """Expect ``count`` creations and make them in slow-start batches; lower what was not created."""
        key = key_of(rs)
        self.expectations.expect_creations(key, count)
        successes, err = await slow_start_batch(
            count, SLOW_START_INITIAL_BATCH_SIZE, lambda: self.create_pod(rs)
        )
        for _ in range(count - successes):
            self.expectations.creation_observed(key)
        return err

    async def delete_pod(self, rs: Obj, pod: Obj) -> Exception | None:
        """Delete one victim with default options; NotFound is returned but is not a failure."""
        namespace = (rs.get("metadata") or {}).get("namespace")
        name = str((pod.get("metadata") or {}).get("name"))
        try:
            await self.client.delete(PODS, namespace, name)
        except Exception as err:
            if isinstance(err, ApiStatusError) and err.not_found:
                return err
            self.recorder.event(rs, "Warning", "FailedDelete", f"Error deleting: {err}")
            return PodControlError(f"unable to delete pods: {err}")
        self.recorder.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
        return None

    async def delete_pods(self, rs: Obj, victims: list[Obj]) -> Exception | None:
        """Expect the victims' deletions and delete them concurrently; returns the first real failure."""
        key = key_of(rs)
        pod_keys = [key_of(p) for p in victims]
        self.expectations.expect_deletions(key, pod_keys)
        results = await asyncio.gather(*(self.delete_pod(rs, p) for p in victims))
        first: Exception | None = None
        for pod_key, err in zip(pod_keys, results, strict=True):
            if err is None:
                continue
            self.expectations.deletion_observed(key, pod_key)
            if first is None and not (isinstance(err, ApiStatusError) and err.not_found):
                first = err
        return first
