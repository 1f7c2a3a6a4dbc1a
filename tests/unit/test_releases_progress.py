"""The rollout in words: new and old ReplicaSets, failing pods, this release's Warning events, the reason."""

from __future__ import annotations

from typing import Any

from ferry.delivery.apply import ResourceType
from ferry.delivery.releases import RolloutObserver
from tests.unit.apply_support import FakeKubeApi

RS = ResourceType("apps", "v1", "ReplicaSet", "replicasets", True)
POD = ResourceType("", "v1", "Pod", "pods", True)
EVENT = ResourceType("", "v1", "Event", "events", True)
DEP = ResourceType("apps", "v1", "Deployment", "deployments", True)
SELECTOR = {"app": "web"}


def kube_with_types() -> FakeKubeApi:
    kube = FakeKubeApi()
    for rt in (RS, POD, EVENT):
        kube.types[(rt.api_version, rt.kind)] = rt
    return kube


def deployment(revision: str, *, generation: int = 2, observed: int = 2) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "app", "generation": generation,
                     "annotations": {"deployment.kubernetes.io/revision": revision}},
        "spec": {"replicas": 2, "selector": {"matchLabels": SELECTOR}},
        "status": {"observedGeneration": observed},
    }  # fmt: skip


def replicaset(name: str, revision: str, *, replicas: int, ready: int) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "app", "labels": SELECTOR,
                     "annotations": {"deployment.kubernetes.io/revision": revision},
                     "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": True}]},
        "status": {"replicas": replicas, "readyReplicas": ready},
    }  # fmt: skip


def pod(name: str, rs: str, *, ready: bool, waiting: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                        **({} if ready else {"reason": "ContainersNotReady",
                                             "message": "containers with unready status: [web]"})}],
    }  # fmt: skip
    if waiting:
        status["containerStatuses"] = [
            {"name": "web", "state": {"waiting": {"reason": waiting, "message": "back-off"}}}
        ]
    return {"metadata": {"name": name, "namespace": "app", "labels": SELECTOR,
                         "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": True}]},
            "status": status}  # fmt: skip


def event(name: str, reason: str, at: str, type_: str = "Warning") -> dict[str, Any]:
    return {"metadata": {"name": f"{name}.{reason}", "namespace": "app"}, "type": type_, "reason": reason,
            "message": f"{reason} happened", "lastTimestamp": at,
            "involvedObject": {"kind": "Pod", "name": name}}  # fmt: skip


def seeded(kube: FakeKubeApi, *, waiting: str = "") -> None:
    kube.put(DEP, deployment("2"))
    kube.put(RS, replicaset("web-old", "1", replicas=2, ready=2))
    kube.put(RS, replicaset("web-new", "2", replicas=1, ready=0))
    kube.put(POD, pod("web-old-a", "web-old", ready=True))
    kube.put(POD, pod("web-new-a", "web-new", ready=False, waiting=waiting))
    kube.put(EVENT, event("web-new-a", "BackOff", "2026-11-27T05:00:10Z"))
    kube.put(EVENT, event("web-new-a", "OldNews", "2026-11-27T04:00:00Z"))  # before this release started


async def test_lines_name_the_new_and_old_replicasets_and_failing_pods_once() -> None:
    kube = kube_with_types()
    seeded(kube)
    observer = RolloutObserver(kube, "app", ["web"], since="2026-11-27T05:00:00Z")
    await observer.read()
    assert observer.lines() == [
        "web: new ReplicaSet web-new 0/2 ready; old: web-old (2 pods)",
        "  pod web-new-a not ready: ContainersNotReady: containers with unready status: [web]",
        "  warning Pod web-new-a: BackOff: BackOff happened",
    ]
    await observer.read()
    assert observer.lines() == []  # nothing new: nothing printed again


async def test_failure_prefers_a_waiting_reason_over_readiness() -> None:
    kube = kube_with_types()
    seeded(kube, waiting="CrashLoopBackOff")
    observer = RolloutObserver(kube, "app", ["web"], since="2026-11-27T05:00:00Z")
    await observer.read()
    assert observer.failure() == "pods not ready: web-new-a: CrashLoopBackOff: back-off"


async def test_failure_names_an_unready_pod_of_the_new_replicaset() -> None:
    kube = kube_with_types()
    seeded(kube)
    observer = RolloutObserver(kube, "app", ["web"], since="2026-11-27T05:00:00Z")
    await observer.read()
    assert observer.failure() == (
        "pods not ready: web-new-a: ContainersNotReady: containers with unready status: [web]"
    )


async def test_no_new_replicaset_until_the_controller_observed_the_new_generation() -> None:
    kube = kube_with_types()
    seeded(kube)
    kube.put(DEP, deployment("1", generation=3, observed=2))
    observer = RolloutObserver(kube, "app", ["web"], since="2026-11-27T05:00:00Z")
    snapshot = await observer.read()
    assert snapshot.deployments[0].new_rs == ""
    assert (
        observer.lines()[0]
        == "web: waiting for the deployment controller; old: web-old (2 pods), web-new (1 pods)"
    )
