"""A fake cluster for Deployment-controller unit tests: listers, a recording client, virtual time.

``World`` wires :class:`DeploymentController` to the runtime's recording fakes. Tests put objects in,
call ``await world.sync()``, read ``world.take()`` (the API actions and events since the last take)
and then play the other actors by hand: ``set_rs_status`` is the ReplicaSet controller reporting
pods, ``edit`` is a user's ``kubectl`` changing the Deployment (bumping generation as the API does).
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from ferry.cluster.controllers.deployment import DeploymentController, SyncResult
from ferry.cluster.controllers.runtime.fakes import FakeClock, FakeLister, RecordingClient, RecordingRecorder
from ferry.cluster.resources.defaults.workloads import default_deployment

Obj = dict[str, Any]
DEPLOYMENTS = "apps/v1/deployments"
REPLICASETS = "apps/v1/replicasets"
PODS = "v1/pods"
NS = "default"


def make_deployment(
    name: str = "web",
    *,
    replicas: int = 10,
    image: str = "nginx:1",
    uid: str = "d-uid",
    strategy: Obj | None = None,
    annotations: dict[str, str] | None = None,
    status: Obj | None = None,
    **spec: Any,
) -> Obj:
    """A Deployment as the API server stores it: defaulted, with server-set metadata."""
    d: Obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": uid,
            "resourceVersion": "1",
            "generation": 1,
            "creationTimestamp": "2025-12-31T00:00:00Z",
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            **spec,
        },
    }
    if strategy is not None:
        d["spec"]["strategy"] = strategy
    if annotations:
        d["metadata"]["annotations"] = dict(annotations)
    if status is not None:
        d["status"] = status
    default_deployment(d)
    return d


class World:
    def __init__(self, *objects: Obj) -> None:
        self.clock = FakeClock()
        self.listers = {DEPLOYMENTS: FakeLister(), REPLICASETS: FakeLister(), PODS: FakeLister()}
        self.client = RecordingClient(self.listers, self.clock)
        self.recorder = RecordingRecorder()
        self.controller = DeploymentController(
            self.listers[DEPLOYMENTS],
            self.listers[REPLICASETS],
            pods=self.listers[PODS],
            client=self.client,
            recorder=self.recorder,
            clock=self.clock,
        )
        self._rv = itertools.count(1)
        for obj in objects:
            self.put(obj)

    # -- state ------------------------------------------------------------------------------------------
    def put(self, obj: Obj) -> None:
        kind = obj.get("kind")
        resource = {"Deployment": DEPLOYMENTS, "ReplicaSet": REPLICASETS, "Pod": PODS}[str(kind)]
        self.listers[resource].put(copy.deepcopy(obj))

    def deployment(self, name: str = "web") -> Obj:
        d = self.listers[DEPLOYMENTS].get(NS, name)
        assert d is not None
        return d

    def rs(self, name: str) -> Obj:
        rs = self.listers[REPLICASETS].get(NS, name)
        assert rs is not None, name
        return rs

    def rss(self) -> list[Obj]:
        """Every ReplicaSet, oldest first."""
        return sorted(
            self.listers[REPLICASETS].list(NS),
            key=lambda r: (r["metadata"].get("creationTimestamp", ""), r["metadata"]["name"]),
        )

    def sizes(self) -> dict[str, int]:
        return {r["metadata"]["name"]: r["spec"]["replicas"] for r in self.rss()}

    # -- other actors -------------------------------------------------------------------------------------
    def edit(self, mutate: Any, name: str = "web") -> None:
        """A user's update of the Deployment's spec or annotations: generation + 1, new resourceVersion."""
        d = copy.deepcopy(self.deployment(name))
        mutate(d)
        d["metadata"]["generation"] = d["metadata"].get("generation", 1) + 1
        d["metadata"]["resourceVersion"] = f"user-{next(self._rv)}"
        self.listers[DEPLOYMENTS].put(d)

    def set_rs_status(
        self,
        name: str,
        *,
        replicas: int | None = None,
        ready: int | None = None,
        available: int | None = None,
        conditions: list[Obj] | None = None,
    ) -> None:
        """The ReplicaSet controller's status write (defaults: every spec replica running and available)."""
        rs = copy.deepcopy(self.rs(name))
        n = rs["spec"]["replicas"] if replicas is None else replicas
        rs["status"] = {
            "replicas": n,
            "readyReplicas": n if ready is None else ready,
            "availableReplicas": (n if ready is None else ready) if available is None else available,
            "observedGeneration": rs["metadata"].get("generation", 0),
        }
        if conditions:
            rs["status"]["conditions"] = conditions
        rs["metadata"]["resourceVersion"] = f"rsc-{next(self._rv)}"
        self.listers[REPLICASETS].put(rs)

    def settle(self) -> None:
        """Every ReplicaSet's pods exist and are available, as the ReplicaSet controller would report."""
        for rs in self.rss():
            self.set_rs_status(rs["metadata"]["name"])

    # -- the controller -------------------------------------------------------------------------------------
    async def sync(self, name: str = "web") -> SyncResult | None:
        return await self.controller.sync(f"{NS}/{name}")

    def take(self) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, str, str]]]:
        actions, events = list(self.client.actions), list(self.recorder.events)
        self.client.actions.clear()
        self.recorder.events.clear()
        return actions, events

    async def sync_quiet(self, name: str = "web") -> SyncResult | None:
        """Sync and assert that it wrote nothing and said nothing (the sync-again half of every test)."""
        result = await self.sync(name)
        actions, events = self.take()
        assert actions == [], actions
        assert events == [], events
        return result


def brief(actions: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Actions as (verb, resource, name, replicas-or-None): what a rollout step did, at a glance."""
    out: list[tuple[Any, ...]] = []
    for action in actions:
        verb, resource = action[0], action[1]
        if verb in ("create", "update"):
            body = action[3]
            size = body.get("spec", {}).get("replicas") if resource == REPLICASETS else None
            out.append((verb, resource, body["metadata"]["name"], size))
        else:
            out.append((verb, resource, action[3], None))
    return out


def condition(d: Obj, type_: str) -> Obj | None:
    for cond in d.get("status", {}).get("conditions", []):
        if cond["type"] == type_:
            return dict(cond)
    return None
