"""Failing pods' last log lines: which logs are read (previous or current), once per restart, quietly refused,
shown in the progress lines and carried into the failure reason of a rolled-back deploy."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from ferry.delivery.apply import ApiRejectedError, PodLogApi, ResourceType
from ferry.delivery.pins import Pin
from ferry.delivery.releases import DeployPlan, MemoryReleaseStore, RolloutObserver, deploy
from tests.unit.apply_support import FakeKubeApi

RS = ResourceType("apps", "v1", "ReplicaSet", "replicasets", True)
POD = ResourceType("", "v1", "Pod", "pods", True)
EVENT = ResourceType("", "v1", "Event", "events", True)
DEP = ResourceType("apps", "v1", "Deployment", "deployments", True)
SELECTOR = {"app": "web"}
NOW = datetime(2026, 11, 27, 5, 1, 0, tzinfo=UTC)
SINCE = "2026-11-27T05:00:00Z"


class LogKube(FakeKubeApi):
    """The recording fake plus ``pod_log``: answers ``logs[(pod, container, previous)]`` or raises ``refuse``."""

    def __init__(self) -> None:
        super().__init__()
        for rt in (RS, POD, EVENT):
            self.types[(rt.api_version, rt.kind)] = rt
        self.logs: dict[tuple[str, str, bool], str] = {}
        self.refuse: ApiRejectedError | None = None
        self.log_reads: list[tuple[str, str, str, int, bool]] = []

    async def pod_log(
        self, namespace: str, name: str, *, container: str, tail_lines: int, previous: bool = False
    ) -> str:
        self.log_reads.append((namespace, name, container, tail_lines, previous))
        if self.refuse is not None:
            raise self.refuse
        return self.logs.get((name, container, previous), "")


def container(
    *,
    waiting: str = "",
    running_since: str = "",
    terminated: dict[str, Any] | None = None,
    last: dict[str, Any] | None = None,
    restarts: int = 0,
    ready: bool = False,
) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if waiting:
        state["waiting"] = {"reason": waiting, "message": "back-off 10s restarting failed container"}
    if running_since:
        state["running"] = {"startedAt": running_since}
    if terminated is not None:
        state["terminated"] = terminated
    cs: dict[str, Any] = {"name": "web", "state": state, "restartCount": restarts, "ready": ready}
    if last is not None:
        cs["lastState"] = {"terminated": last}
    return cs


def pod(name: str, cs: dict[str, Any], rs: str = "web-new") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "app", "labels": SELECTOR,
                     "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": True}]},
        "status": {"phase": "Running", "containerStatuses": [cs],
                   "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                                   "message": "containers with unready status: [web]"}]},
    }  # fmt: skip


def seeded(kube: FakeKubeApi, cs: dict[str, Any]) -> None:
    kube.put(DEP, {"metadata": {"name": "web", "namespace": "app",
                                "annotations": {"deployment.kubernetes.io/revision": "2"}},
                   "spec": {"replicas": 1, "selector": {"matchLabels": SELECTOR}}})  # fmt: skip
    kube.put(RS, {"metadata": {"name": "web-new", "namespace": "app", "labels": SELECTOR,
                               "annotations": {"deployment.kubernetes.io/revision": "2"},
                               "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": True}]},
                  "status": {"replicas": 1, "readyReplicas": 0}})  # fmt: skip
    kube.put(POD, pod("web-new-a", cs))


def observer(kube: LogKube) -> RolloutObserver:
    return RolloutObserver(kube, "app", ["web"], since=SINCE, clock=lambda: NOW)


CRASHED = {"reason": "Error", "exitCode": 1}


async def test_a_crash_looping_container_shows_its_previous_log_once_per_restart() -> None:
    kube = LogKube()
    kube.logs[("web-new-a", "web", True)] = "starting\nconnecting to db\npanic: db unreachable\n"
    seeded(kube, container(waiting="CrashLoopBackOff", last=CRASHED, restarts=1))
    obs = observer(kube)
    await obs.read()
    assert kube.log_reads == [("app", "web-new-a", "web", 5, True)]
    assert obs.lines() == [
        "web: new ReplicaSet web-new 0/1 ready; old: none",
        "  pod web-new-a not ready: CrashLoopBackOff: back-off 10s restarting failed container",
        "  pod web-new-a container web, restart 1 (previous instance), last log lines:",
        "    | starting",
        "    | connecting to db",
        "    | panic: db unreachable",
    ]
    await obs.read()
    assert len(kube.log_reads) == 1 and obs.lines() == []  # same restart: not read, not printed again
    seeded(kube, container(waiting="CrashLoopBackOff", last=CRASHED, restarts=2))
    await obs.read()
    assert len(kube.log_reads) == 2
    assert obs.lines()[0] == "  pod web-new-a container web, restart 2 (previous instance), last log lines:"


async def test_the_failure_reason_carries_the_last_log_lines() -> None:
    kube = LogKube()
    kube.logs[("web-new-a", "web", True)] = "boom\nexiting\n"
    seeded(kube, container(waiting="CrashLoopBackOff", last=CRASHED, restarts=3))
    obs = observer(kube)
    await obs.read()
    assert obs.failure() == (
        "pods not ready: web-new-a: CrashLoopBackOff: back-off 10s restarting failed container; "
        "last log lines of web-new-a/web: boom | exiting"
    )
    assert obs.table() == [
        ("web", "0/1", "new web-new; web-new-a: CrashLoopBackOff: back-off 10s restarting failed "
                       "container (log: exiting)")
    ]  # fmt: skip


async def test_an_image_that_cannot_be_pulled_has_no_log_to_read() -> None:
    kube = LogKube()
    seeded(kube, container(waiting="ImagePullBackOff"))
    obs = observer(kube)
    await obs.read()
    assert kube.log_reads == []
    assert (
        obs.failure()
        == "pods not ready: web-new-a: ImagePullBackOff: back-off 10s restarting failed container"
    )


async def test_a_terminated_container_shows_its_own_log_and_an_oom_kill_after_restart_the_previous() -> None:
    kube = LogKube()
    seeded(kube, container(terminated={"reason": "Error", "exitCode": 2}))
    await observer(kube).read()
    kube2 = LogKube()
    seeded(kube2, container(running_since="2026-11-27T05:00:50Z", last={"reason": "OOMKilled"}, restarts=1))
    await observer(kube2).read()
    assert kube.log_reads == [("app", "web-new-a", "web", 5, False)]
    assert kube2.log_reads == [("app", "web-new-a", "web", 5, True)]


async def test_readiness_failing_reads_the_current_log_only_after_the_grace_period() -> None:
    kube = LogKube()
    seeded(kube, container(running_since="2026-11-27T05:00:45Z"))  # 15 s before NOW
    obs = observer(kube)
    await obs.read()
    assert kube.log_reads == []
    seeded(kube, container(running_since="2026-11-27T05:00:00Z"))  # 60 s before NOW
    await obs.read()
    assert kube.log_reads == [("app", "web-new-a", "web", 5, False)]


async def test_a_refused_log_read_is_quiet_and_not_retried_every_poll() -> None:
    kube = LogKube()
    kube.refuse = ApiRejectedError(
        'Pod app/web-new-a: log of web failed (400 BadRequest): container "web" in pod "web-new-a" is '
        "waiting to start: ContainerCreating",
        code=400,
        reason="BadRequest",
    )
    seeded(kube, container(waiting="CrashLoopBackOff", last=CRASHED, restarts=1))
    obs = observer(kube)
    await obs.read()
    await obs.read()
    assert len(kube.log_reads) == 1
    assert not any("log" in line for line in obs.lines())
    assert obs.failure().endswith("back-off 10s restarting failed container")


async def test_an_api_without_the_log_verb_gives_no_lines() -> None:
    kube = FakeKubeApi()
    for rt in (RS, POD, EVENT):
        kube.types[(rt.api_version, rt.kind)] = rt
    assert not isinstance(kube, PodLogApi) and isinstance(LogKube(), PodLogApi)
    seeded(kube, container(waiting="CrashLoopBackOff", last=CRASHED, restarts=1))
    obs = RolloutObserver(kube, "app", ["web"], since=SINCE)
    snapshot = await obs.read()
    assert snapshot.logs == () and "last log lines" not in obs.failure()


async def test_a_rolled_back_deploy_reports_the_crashing_pods_log_lines() -> None:
    kube, store = LogKube(), MemoryReleaseStore()
    pin1 = Pin("127.0.0.1:5000/web", "1.0.0", "sha256:" + "1" * 64)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "app"}}
    first = DeployPlan("web", "sit", "app", "sit-web", pin1, [cm], who="alice")
    holder = f"{socket.gethostname()}:1:test"
    assert (await deploy(kube, store, first, holder=holder)).ok
    seeded(kube, container(waiting="CrashLoopBackOff", last=CRASHED, restarts=4))
    kube.logs[("web-new-a", "web", True)] = "Traceback (most recent call last):\nKeyError: 'DATABASE_URL'\n"
    web = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"},
           "spec": {"replicas": 1, "selector": {"matchLabels": SELECTOR}}}  # fmt: skip
    pin2 = Pin("127.0.0.1:5000/web", "2.0.0", "sha256:" + "2" * 64)
    second = DeployPlan("web", "sit", "app", "sit-web", pin2, [cm, web], who="alice")
    out = await deploy(kube, store, second, holder=holder, timeout_seconds=0.3)
    assert not out.ok
    assert out.message == (
        "rollout of web in sit failed: pods not ready: web-new-a: CrashLoopBackOff: back-off 10s restarting "
        "failed container; last log lines of web-new-a/web: Traceback (most recent call last): | "
        "KeyError: 'DATABASE_URL'; rolled back to v1 (1.0.0)"
    )
    assert out.release.reason is not None and "KeyError: 'DATABASE_URL'" in out.release.reason
