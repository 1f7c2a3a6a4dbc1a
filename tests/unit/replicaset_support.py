"""Test helpers for the ReplicaSet controller: a fake cluster and object builders.

``Harness`` wires the controller to the recording fakes of ``ferry.cluster.controllers.runtime.fakes``
and to the runtime's ``UIDTrackingExpectations`` on the fake clock. ``sync()`` runs one pass;
``deliver()`` then plays the informer: it diffs the listers against the last delivery and calls the
handlers from ``controller.handlers()`` with the adds/updates/deletes, so expectations are observed the
way the runtime would observe them. ``ScriptedClient`` adds what the stock fake lacks: failing the
N-th call of a verb, yielding inside ``create`` (so concurrent batches are visible as in-flight counts)
and applying strategic-merge patches with the real engine.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.apiserver.objects import rfc3339
from ferry.cluster.apiserver.patch import apply_strategic_merge_patch, patch_meta
from ferry.cluster.controllers.replicaset import ReplicaSetController
from ferry.cluster.controllers.runtime.expectations import UIDTrackingExpectations
from ferry.cluster.controllers.runtime.fakes import FakeClock, FakeLister, RecordingClient, RecordingRecorder
from ferry.cluster.controllers.runtime.manager import Handlers, SyncResult
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj

RS = "apps/v1/replicasets"
PODS = "v1/pods"
NS = "default"
KEY = "default/web"
LABELS = {"app": "web"}


def api_error(code: int, reason: str, message: str, **extra: Any) -> ApiStatusError:
    return ApiStatusError({"kind": "Status", "code": code, "reason": reason, "message": message, **extra})


class ScriptedClient(RecordingClient):
    def __init__(self, listers: dict[str, FakeLister], clock: FakeClock) -> None:
        super().__init__(listers, clock)
        self.calls: dict[tuple[str, str], int] = {}
        self.fail_on: dict[tuple[str, str, int], ApiStatusError] = {}  # (verb, resource, n-th call) -> error
        self.yield_in_create = False
        self.in_flight = 0
        self.create_started_with: list[int] = []  # creates in flight when each create started

    def _check(self, verb: str, resource: str) -> None:
        n = self.calls[(verb, resource)] = self.calls.get((verb, resource), 0) + 1
        err = self.fail_on.get((verb, resource, n))
        if err is not None:
            raise err
        super()._check(verb, resource)

    @property
    def batches(self) -> list[int]:
        """Sizes of the create batches, read off the in-flight counts (each batch restarts at 1)."""
        out: list[int] = []
        for n in self.create_started_with:
            if n == 1:
                out.append(0)
            out[-1] += 1
        return out

    async def create(self, resource: str, namespace: str | None, body: Obj) -> Obj:
        self.in_flight += 1
        self.create_started_with.append(self.in_flight)
        try:
            if self.yield_in_create:
                await asyncio.sleep(0)  # a yield, not a delay: lets the whole batch start first
            return await super().create(resource, namespace, body)
        finally:
            self.in_flight -= 1

    async def patch(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        patch_type: str = "merge",
        subresource: str = "",
    ) -> Obj:
        if patch_type != "strategic":
            return await super().patch(
                resource, namespace, name, body, patch_type=patch_type, subresource=subresource
            )
        self.actions.append(("patch", resource, namespace, name, patch_type, copy.deepcopy(body)))
        self._check("patch", resource)
        current = self._lister(resource).get(namespace, name)
        if current is None:
            raise api_error(404, "NotFound", f'pods "{name}" not found')
        meta = patch_meta("", "Pod")
        assert meta is not None
        merged = apply_strategic_merge_patch(current, body, meta)
        merged["metadata"]["resourceVersion"] = str(next(self._rv))
        self._lister(resource).put(merged)
        return copy.deepcopy(merged)


# -- builders -------------------------------------------------------------------------------------
def rs_obj(
    name: str = "web",
    *,
    replicas: int = 3,
    uid: str = "rs-uid",
    min_ready: int = 0,
    generation: int = 1,
    status: Obj | None = None,
    owner_uid: str | None = None,
    template_labels: dict[str, str] | None = None,
    template_extra_meta: Obj | None = None,
    selector: dict[str, str] | None = None,
    deleting: bool = False,
) -> Obj:
    meta: Obj = {"name": name, "namespace": NS, "uid": uid, "resourceVersion": "10", "generation": generation}
    meta["labels"] = dict(LABELS)
    if owner_uid is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "web",
                "uid": owner_uid,
                "controller": True,
            }
        ]
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    tmeta: Obj = {"labels": dict(LABELS if template_labels is None else template_labels)}
    tmeta.update(template_extra_meta or {})
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": dict(LABELS if selector is None else selector)},
        "template": {"metadata": tmeta, "spec": {"containers": [{"name": "app", "image": "web:1"}]}},
    }
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": meta,
        "spec": spec,
        "status": {"replicas": 0, "observedGeneration": generation} if status is None else status,
    }


def owner_ref(rs: Obj) -> Obj:
    m = rs["metadata"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": m["name"],
        "uid": m["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def ago(clock: FakeClock, seconds: float) -> str:
    return rfc3339(clock.now() - dt.timedelta(seconds=seconds))


def pod_obj(
    name: str,
    clock: FakeClock,
    *,
    owner: Obj | None = None,
    uid: str | None = None,
    labels: dict[str, str] | None = None,
    node: str | None = "node-1",
    phase: str = "Running",
    ready: bool = True,
    ready_for: float | None = 3600,
    created_ago: float = 7200,
    restarts: int = 0,
    cost: str | None = None,
    deleting: bool = False,
) -> Obj:
    meta: Obj = {
        "name": name,
        "namespace": NS,
        "uid": uid or f"uid-{name}",
        "resourceVersion": "5",
        "labels": dict(LABELS if labels is None else labels),
        "creationTimestamp": ago(clock, created_ago),
    }
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": cost}
    if deleting:
        meta["deletionTimestamp"] = rfc3339(clock.now())
    cond: Obj = {"type": "Ready", "status": "True" if ready else "False"}
    if ready_for is not None:
        cond["lastTransitionTime"] = ago(clock, ready_for)
    spec: Obj = {"containers": [{"name": "app", "image": "web:1"}]}
    if node:
        spec["nodeName"] = node
    status: Obj = {
        "phase": phase,
        "conditions": [cond],
        "containerStatuses": [{"name": "app", "restartCount": restarts, "ready": ready}],
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


# -- the harness ----------------------------------------------------------------------------------
@dataclass
class Harness:
    replicasets: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    burst_replicas: int = 500

    def __post_init__(self) -> None:
        self.clock = FakeClock()
        self.listers = {RS: FakeLister(self.replicasets), PODS: FakeLister(self.pods)}
        self.client = ScriptedClient(self.listers, self.clock)
        self.recorder = RecordingRecorder()
        self.expectations = UIDTrackingExpectations(clock=self.clock)
        self.controller = ReplicaSetController(
            self.listers[RS],
            self.listers[PODS],
            client=self.client,
            recorder=self.recorder,
            clock=self.clock,
            expectations=self.expectations,
            burst_replicas=self.burst_replicas,
        )
        self.enqueued: list[Any] = []
        self._seen = {r: dict(lister.objects) for r, lister in self.listers.items()}

    async def sync(self, key: str = KEY) -> SyncResult | None:
        return await self.controller.sync(key)

    def on(self, resource: str) -> Handlers:
        """The handlers the runtime would call for ``resource`` (through ``handlers()``)."""
        return self.controller.handlers()[resource]

    def deliver(self) -> list[Any]:
        """Play the informer: hand every change since the last delivery to the handlers."""
        out: list[Any] = []
        for resource, lister in self.listers.items():
            h = self.on(resource)
            assert h.on_add and h.on_update and h.on_delete
            before, after = self._seen[resource], dict(lister.objects)
            for k, obj in after.items():
                if k not in before:
                    out += h.on_add(obj)
                elif before[k] is not obj:
                    out += h.on_update(before[k], obj)
            for k, obj in before.items():
                if k not in after:
                    out += h.on_delete(obj)
            self._seen[resource] = after
        self.enqueued += out
        return out

    def take_actions(self) -> list[tuple[Any, ...]]:
        actions, self.client.actions = self.client.actions, []
        return actions

    def take_events(self) -> list[tuple[str, str, str, str]]:
        events, self.recorder.events = self.recorder.events, []
        return events

    def pod(self, name: str) -> Obj:
        obj = self.listers[PODS].get(NS, name)
        assert obj is not None, name
        return obj

    def rs(self, name: str = "web") -> Obj:
        obj = self.listers[RS].get(NS, name)
        assert obj is not None, name
        return obj


def verbs(actions: Iterable[tuple[Any, ...]]) -> list[tuple[str, str]]:
    return [(a[0], a[1]) for a in actions]


def deleted_names(actions: Iterable[tuple[Any, ...]]) -> list[str]:
    return [a[3] for a in actions if a[0] == "delete"]
