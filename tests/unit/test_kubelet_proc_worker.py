"""The process kubelet's pod worker with a fake runtime and image store: the lifecycle state machine.

The fake runtime records every create/start/kill/delete; a test ends an instance with ``finish``. The image
store fails for images named ``*broken*``. Status writes and the final DELETE go to the ``RecordingClient``.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ferry.cluster.controllers.runtime.fakes import FakeClock, FakeLister, RecordingClient, RecordingRecorder
from ferry.cluster.kubelet.images import ImagePullError
from ferry.cluster.kubelet.nodes import _Node
from ferry.cluster.kubelet.process.podworker import PodWorker
from ferry.cluster.kubelet.process.status import CtrState, phase
from ferry.cluster.kubelet.runtime import ContainerId, ContainerSpec, ContainerState, ExecResult, ExitStatus


class FakeImage:
    def __init__(self, image: str) -> None:
        self.image, self.image_id = image, f"reg.test/{image.split(':')[0]}@sha256:{'ab' * 32}"


class FakeImages:
    def __init__(self) -> None:
        self.pulls: list[str] = []

    async def pull(self, image: str) -> FakeImage:
        self.pulls.append(image)
        if "broken" in image:
            raise ImagePullError(f'failed to pull and unpack image "{image}": not found')
        return FakeImage(image)


class FakeRuntime:
    name = "fake"

    def __init__(self) -> None:
        self.specs: dict[str, ContainerSpec] = {}
        self.exits: dict[str, asyncio.Future[ExitStatus]] = {}
        self.started: dict[str, float] = {}
        self.calls: list[tuple[str, str, Any]] = []
        self.ignore_term: set[str] = set()

    def describe(self) -> str:
        return "fake"

    async def create(self, spec: ContainerSpec) -> ContainerId:
        cid = f"c{len(self.specs)}-{spec.name}"
        self.specs[cid] = spec
        self.exits[cid] = asyncio.get_running_loop().create_future()
        self.calls.append(("create", cid, spec.name))
        return ContainerId(cid)

    async def start(self, cid: ContainerId) -> None:
        self.started[cid] = time.time()
        self.calls.append(("start", cid, None))

    def finish(self, cid: str, code: int, reason: str = "Error") -> None:
        if not self.exits[cid].done():
            self.exits[cid].set_result(ExitStatus(code, reason, self.started.get(cid), time.time()))  # type: ignore[arg-type]

    def latest(self, name: str) -> str:
        return [cid for cid, spec in self.specs.items() if spec.name == name][-1]

    async def state(self, cid: ContainerId) -> ContainerState:
        return ContainerState(cid, "stopped" if self.exits[cid].done() else "running")

    async def kill(self, cid: ContainerId, sig: int) -> None:
        self.calls.append(("kill", cid, sig))
        if sig == signal.SIGKILL or cid not in self.ignore_term:
            self.finish(cid, 128 + sig)

    async def wait(self, cid: ContainerId) -> ExitStatus:
        return await asyncio.shield(self.exits[cid])

    async def delete(self, cid: ContainerId) -> None:
        self.calls.append(("delete", cid, None))

    async def exec_sync(self, cid: ContainerId, argv: list[str], *, timeout_seconds: float) -> ExecResult:
        self.calls.append(("exec", cid, argv))
        return ExecResult(0, b"", b"")

    async def list(self) -> list[ContainerId]:
        return [ContainerId(c) for c in self.specs]


class FakeKubelet:
    def __init__(self, tmp: Path) -> None:
        self.pods_dir = tmp / "pods"
        self.pods = FakeLister()
        self.client = RecordingClient({"v1/pods": self.pods}, FakeClock())
        self.recorder = RecordingRecorder()
        self.runtime = FakeRuntime()
        self.images = FakeImages()
        self.pulled: dict[str, Any] = {}
        self.network = None
        self.tokens = None  # projected service-account tokens: the placeholder (tests/unit/test_satokens.py)
        self.node = _Node("ferry-node-1", "127.0.0.1", __import__("ipaddress").IPv4Network("10.244.0.0/24"))
        self.allocatable = {"cpu": "2", "memory": "4Gi"}
        self.released: list[str] = []
        self.deletes: list[dict[str, Any] | None] = []
        delete = self.client.delete

        async def recording_delete(resource: str, ns: str | None, name: str, *, options: Any = None) -> None:
            self.deletes.append(options)
            await delete(resource, ns, name, options=options)

        self.client.delete = recording_delete  # type: ignore[method-assign]

    def event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        self.recorder.event(obj, type_, reason, message)

    def services(self) -> list[dict[str, Any]]:
        return []

    async def lookup(self, resource: str, namespace: str, name: str) -> None:
        return None

    async def release(self, uid: str, cids: list[str]) -> None:
        self.released.append(uid)

    def reasons(self) -> list[str]:
        return [r for _, _, r, _ in self.recorder.events]


def pod(**spec: Any) -> dict[str, Any]:
    containers = spec.pop("containers", [{"name": "main", "image": "app:1.0"}])
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "uid-1", "resourceVersion": "1"},
        "spec": {"nodeName": "ferry-node-1", "containers": containers, **spec},
        "status": {},
    }


async def until(what: str, check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def status(k: FakeKubelet) -> dict[str, Any]:
    obj = k.pods.get("ns", "p")
    assert obj is not None
    return obj.get("status") or {}


def ctr(k: FakeKubelet, name: str = "main") -> dict[str, Any]:
    return next((s for s in status(k).get("containerStatuses") or [] if s["name"] == name), {})


@pytest.fixture
async def kubelet(tmp_path: Path) -> Any:
    k = FakeKubelet(tmp_path)
    tasks: list[asyncio.Task[None]] = []

    def start(obj: dict[str, Any]) -> PodWorker:
        k.pods.put(obj)
        w = PodWorker(k, "ns", "p", "uid-1")  # type: ignore[arg-type]
        tasks.append(asyncio.create_task(w.run()))
        return w

    yield k, start
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_pod_runs_and_is_ready_without_probes(kubelet: Any) -> None:
    k, start = kubelet
    start(pod())
    await until("Running", lambda: status(k).get("phase") == "Running" and ctr(k).get("ready"))
    s = ctr(k)
    assert s["containerID"] == "ferry://" + k.runtime.latest("main")
    assert s["imageID"].startswith("reg.test/app@sha256:") and s["restartCount"] == 0
    assert k.reasons()[:4] == ["Pulling", "Pulled", "Created", "Started"]
    assert status(k)["podIP"] == "127.0.0.1"  # no pod network: the host's
    assert [c["type"] for c in status(k)["conditions"]] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]


async def test_a_crashing_container_restarts_at_once_then_backs_off(kubelet: Any) -> None:
    k, start = kubelet
    start(pod())
    await until("first start", lambda: len(k.runtime.specs) == 1)
    k.runtime.finish(k.runtime.latest("main"), 1)
    await until("restart at once", lambda: len(k.runtime.specs) == 2)
    assert k.runtime.specs[k.runtime.latest("main")].log_path.name == "1.log"
    k.runtime.finish(k.runtime.latest("main"), 2)
    await until(
        "CrashLoopBackOff",
        lambda: ctr(k).get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff",
    )
    s = ctr(k)
    assert s["restartCount"] == 1 and s["lastState"]["terminated"]["exitCode"] == 2
    assert s["state"]["waiting"]["message"].startswith(
        "back-off 10s restarting failed container=main pod=p_ns(uid-1)"
    )
    assert "BackOff" in k.reasons() and len(k.runtime.specs) == 2  # no restart before the 10 s


async def test_restart_policy_never_ends_the_pod_failed_or_succeeded(kubelet: Any) -> None:
    k, start = kubelet
    start(
        pod(restartPolicy="Never", containers=[{"name": "a", "image": "x:1"}, {"name": "b", "image": "x:1"}])
    )
    await until("both started", lambda: len(k.runtime.specs) == 2)
    k.runtime.finish(k.runtime.latest("a"), 0, "Completed")
    k.runtime.finish(k.runtime.latest("b"), 137, "OOMKilled")
    await until("Failed", lambda: status(k).get("phase") == "Failed")
    assert ctr(k, "b")["state"]["terminated"]["reason"] == "OOMKilled"
    assert len(k.runtime.specs) == 2


async def test_image_pull_failure_is_err_image_pull_then_back_off(kubelet: Any) -> None:
    k, start = kubelet
    w = start(pod(containers=[{"name": "main", "image": "broken:1"}]))
    await until(
        "ErrImagePull", lambda: ctr(k).get("state", {}).get("waiting", {}).get("reason") == "ErrImagePull"
    )
    assert k.runtime.specs == {} and "Failed" in k.reasons()
    w.due.clear()  # the back-off is over
    w.wake.set()
    await until(
        "ImagePullBackOff",
        lambda: ctr(k).get("state", {}).get("waiting", {}).get("reason") == "ImagePullBackOff",
    )
    assert w.ctrs["main"].pull.delay == 20.0


async def test_pull_policy_if_not_present_pulls_once_and_never_does_not_pull(kubelet: Any) -> None:
    k, start = kubelet
    k.pulled["app:1.0"] = FakeImage("app:1.0")
    start(
        pod(
            containers=[
                {"name": "main", "image": "app:1.0"},
                {"name": "n", "image": "gone:1", "imagePullPolicy": "Never"},
            ]
        )
    )
    await until(
        "ErrImageNeverPull",
        lambda: ctr(k, "n").get("state", {}).get("waiting", {}).get("reason") == "ErrImageNeverPull",
    )
    assert k.images.pulls == [] and ctr(k, "main")["state"].get("running")


async def test_init_containers_run_in_order_before_the_app(kubelet: Any) -> None:
    k, start = kubelet
    inits = [{"name": "i1", "image": "x:1"}, {"name": "i2", "image": "x:1"}]
    start(pod(initContainers=inits))
    await until("i1", lambda: len(k.runtime.specs) == 1)
    assert status(k)["phase"] == "Pending"
    assert ctr(k)["state"]["waiting"]["reason"] == "PodInitializing"
    k.runtime.finish(k.runtime.latest("i1"), 0, "Completed")
    await until("i2", lambda: len(k.runtime.specs) == 2)
    assert [s.name for s in k.runtime.specs.values()] == ["i1", "i2"]
    k.runtime.finish(k.runtime.latest("i2"), 0, "Completed")
    await until("Running", lambda: status(k).get("phase") == "Running")
    assert [s.name for s in k.runtime.specs.values()] == ["i1", "i2", "main"]
    assert [s["state"]["terminated"]["reason"] for s in status(k)["initContainerStatuses"]] == [
        "Completed"
    ] * 2


async def test_deletion_runs_pre_stop_then_term_then_kill_and_deletes_with_a_uid_precondition(
    kubelet: Any,
) -> None:
    k, start = kubelet
    hook = {"preStop": {"exec": {"command": ["/bin/cleanup"]}}}
    w = start(pod(containers=[{"name": "main", "image": "app:1.0", "lifecycle": hook}]))
    await until("running", lambda: ctr(k).get("state", {}).get("running") is not None)
    cid = k.runtime.latest("main")
    k.runtime.ignore_term.add(cid)
    obj = k.pods.get("ns", "p")
    obj["metadata"] |= {"deletionTimestamp": "2026-01-01T00:00:00Z", "deletionGracePeriodSeconds": 1}
    k.pods.put(obj)
    started = time.monotonic()
    w.wake.set()  # what the kubelet's pod update handler does
    await until("deleted", lambda: k.pods.get("ns", "p") is None, timeout=10)
    took = time.monotonic() - started
    ops = [(op, arg) for op, c, arg in k.runtime.calls if c == cid and op in ("exec", "kill")]
    assert ops == [("exec", ["/bin/cleanup"]), ("kill", signal.SIGTERM), ("kill", signal.SIGKILL)]
    assert 0.9 <= took < 12
    assert k.deletes == [{"gracePeriodSeconds": 0, "preconditions": {"uid": "uid-1"}}]
    assert k.released == ["uid-1"] and "Killing" in k.reasons()


def test_phase_follows_kubelet_get_phase() -> None:
    def c(running: bool = False, code: int | None = None, done: bool = False) -> CtrState:
        s = CtrState("c", "i", started_at=1.0 if running else None, done=done)
        s.last = None if code is None else {"exitCode": code}
        return s

    assert phase([c()], [], "Always", False) == "Pending"
    assert phase([c(running=True)], [], "Always", False) == "Running"
    assert phase([c(code=0, done=True)], [], "Never", False) == "Succeeded"
    assert phase([c(code=1, done=True)], [], "OnFailure", False) == "Running"  # restarting
    assert phase([c(code=0, done=True)], [], "OnFailure", False) == "Succeeded"
    assert phase([c(running=True)], [c(code=1, done=True)], "Never", False) == "Failed"
    assert phase([c(running=True)], [c(running=True)], "Always", False) == "Pending"


async def test_a_new_worker_adopts_the_running_instance_from_the_record(kubelet: Any) -> None:
    k, start = kubelet
    first = start(pod())
    await until("running", lambda: ctr(k).get("state", {}).get("running") is not None)
    cid = k.runtime.latest("main")
    for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
        if task.get_coro().__qualname__.startswith("PodWorker"):  # type: ignore[union-attr]
            task.cancel()  # the kubelet dies; the container runs on
    await asyncio.sleep(0.05)
    assert first.ctrs["main"].cid == cid
    start(k.pods.get("ns", "p"))
    await asyncio.sleep(0.3)
    assert len(k.runtime.specs) == 1 and ctr(k)["containerID"] == "ferry://" + cid
    k.runtime.finish(cid, 1)  # the adopted instance's exit is seen by the new worker
    await until("restart", lambda: ctr(k).get("restartCount") == 1)
    assert len(k.runtime.specs) == 2


def test_the_node_object_has_machine_capacity_and_says_how_pods_run() -> None:
    import ipaddress

    from ferry.cluster.kubelet.process.node import Capacity, machine_capacity, process_node_object

    cap = machine_capacity()
    assert int(cap.cpu) >= 1 and cap.memory.endswith("Ki") and int(cap.memory[:-2]) > 0
    node = _Node("ferry-node-1", "10.1.0.1", ipaddress.IPv4Network("10.1.0.0/24"))
    obj = process_node_object(
        node,
        Capacity("2", "1000Ki"),
        0.0,
        runtime_version="runc://1.1.5",
        runtime="runc 1.1.5",
        network="host: no root",
    )
    st = obj["status"]
    assert st["capacity"] | {} == st["allocatable"] and st["capacity"]["pods"] == "110"
    assert (st["capacity"]["cpu"], st["capacity"]["memory"]) == ("2", "1000Ki")
    assert st["nodeInfo"]["containerRuntimeVersion"] == "runc://1.1.5"
    assert obj["metadata"]["annotations"]["kubelet.ferry.dev/network"] == "host: no root"
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert "host networking" in ready["message"] and obj["spec"]["podCIDR"] == "10.1.0.0/24"


def test_container_runtime_version_names_the_runtime_and_its_version() -> None:
    from types import SimpleNamespace

    import ferry
    from ferry.cluster.kubelet.process.kubelet import ProcessKubelet

    def kubelet(name: str, described: str) -> Any:
        return SimpleNamespace(runtime=SimpleNamespace(name=name, describe=lambda: described))

    runc = kubelet("runc", "runc 1.1.5: isolated containers (pid, mount)")
    assert ProcessKubelet._runtime_version(runc) == "runc://1.1.5"
    plain = kubelet("process", "process: NOT isolated: containers run as plain host processes")
    assert ProcessKubelet._runtime_version(plain) == f"process://{ferry.__version__}"
