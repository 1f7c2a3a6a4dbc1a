"""Shared builders for the scheduler and sim unit tests: defaulted-looking pods and nodes, a fake cluster."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.controllers.runtime.fakes import FakeClock, FakeLister, RecordingClient, RecordingRecorder
from ferry.cluster.controllers.runtime.types import Obj

T0 = "2026-01-01T00:00:00Z"


class OptionsClient(RecordingClient):
    """RecordingClient that also keeps the DeleteOptions of every delete (the base records only the name)."""

    def __init__(self, listers: dict[str, FakeLister], clock: FakeClock) -> None:
        super().__init__(listers, clock)
        self.delete_options: list[Obj | None] = []

    async def delete(
        self, resource: str, namespace: str | None, name: str, *, options: Obj | None = None
    ) -> None:
        self.delete_options.append(copy.deepcopy(options))
        await super().delete(resource, namespace, name, options=options)


def container(name: str = "app", image: str = "nginx:1.25", **extra: Any) -> Obj:
    return {"name": name, "image": image, "resources": {}, "imagePullPolicy": "IfNotPresent", **extra}


def pod(
    name: str,
    *,
    node: str | None = None,
    annotations: dict[str, str] | None = None,
    containers: list[Obj] | None = None,
    restart_policy: str = "Always",
    uid: str | None = None,
    **spec: Any,
) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "uid": uid or f"uid-{name}", "resourceVersion": "1"}
    meta["creationTimestamp"] = T0
    if annotations:
        meta["annotations"] = annotations
    body: Obj = {
        "containers": containers or [container()],
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": 30,
        "schedulerName": "default-scheduler",
        **spec,
    }
    status: Obj = {"phase": "Pending", "qosClass": "BestEffort"}
    if node:
        body["nodeName"] = node
        status["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": T0}
        ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body, "status": status}


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    labels: dict[str, str] | None = None,
    taints: list[Obj] | None = None,
    unschedulable: bool = False,
) -> Obj:
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    alloc = {"cpu": cpu, "memory": memory, "pods": pods}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "1", "labels": labels or {}},
        "spec": spec,
        "status": {"capacity": dict(alloc), "allocatable": alloc},
    }


@dataclass
class Cluster:
    clock: FakeClock = field(default_factory=FakeClock)
    listers: dict[str, FakeLister] = field(default_factory=dict)
    recorder: RecordingRecorder = field(default_factory=RecordingRecorder)
    client: OptionsClient = field(init=False)

    def __post_init__(self) -> None:
        for res in ("v1/pods", "v1/nodes", "coordination.k8s.io/v1/leases"):
            self.listers.setdefault(res, FakeLister())
        self.client = OptionsClient(self.listers, self.clock)

    @property
    def pods(self) -> FakeLister:
        return self.listers["v1/pods"]

    @property
    def nodes(self) -> FakeLister:
        return self.listers["v1/nodes"]

    def add(self, *objs: Obj) -> None:
        for o in objs:
            (self.nodes if o["kind"] == "Node" else self.pods).put(copy.deepcopy(o))

    def take_actions(self) -> list[tuple[Any, ...]]:
        out, self.client.actions = self.client.actions, []
        return out

    def take_events(self) -> list[tuple[str, str, str, str]]:
        out, self.recorder.events = self.recorder.events, []
        return out


def status_writes(c: Cluster) -> list[Obj]:
    """The statuses of the pod /status updates since the last call (asserting there was nothing else but the
    kubelet's final pod DELETE)."""
    out = []
    for a in c.take_actions():
        if a[:2] == ("delete", "v1/pods"):
            continue
        assert a[:2] == ("update", "v1/pods/status"), a
        out.append(a[3]["status"])
    return out


def cond(type_: str, status: str, at: str, reason: str = "", message: str = "") -> Obj:
    out: Obj = {"type": type_, "status": status, "lastProbeTime": None, "lastTransitionTime": at}
    return out | ({"reason": reason} if reason else {}) | ({"message": message} if message else {})


def at(seconds: float) -> str:
    """The RFC 3339 time ``seconds`` after the FakeClock's start."""
    import datetime as dt

    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


async def run_until(c: Cluster, sim: Any, seconds: float) -> list[tuple[float, Obj]]:
    """Step the sim at every due time up to ``seconds`` after the start; return (time, pod status) writes."""
    import datetime as dt

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out: list[tuple[float, Obj]] = []
    while True:
        now = (c.clock.now() - start).total_seconds()
        await sim.step()
        out += [(now, s) for s in status_writes(c)]
        due = sim.next_due()
        if now + due > seconds:
            return out
        c.clock.advance(due)
