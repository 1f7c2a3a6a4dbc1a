"""The ``sim`` node runtime: Node objects and pod status driven as a kubelet would, without processes.

:class:`SimRuntime` registers ``ferry-node-1..N`` (capacity = allocatable from :class:`SimConfig`, the
Ready/pressure conditions, nodeInfo with ``containerRuntimeVersion: sim://1.0``, addresses, a podCIDR per node)
and a Lease per node in ``kube-node-lease``, renewed every 10 s. For pods bound to its nodes it plays the kubelet
of k8s-semantics.md §4: ContainerCreating → Running (podIP from the node's CIDR, hostIP, startTime,
containerStatuses with ``sim://`` containerIDs and an imageID), readiness, restarts with kube's exact
CrashLoopBackOff schedule (restart at once, then 10 s, 20 s, 40 s … 300 s; reset after 10 min without a crash),
OOMKilled (137), ErrImagePull/ImagePullBackOff, phases per restartPolicy, and graceful termination:
deletionTimestamp → containers stop after min(max(grace, 2 s), stop time) (exit 0 in time, else 137) → final
status (Succeeded/Failed) → DELETE with gracePeriodSeconds 0 and a uid precondition. Conditions are written in
the kubelet's order (foreign ones first, then PodReadyToStartContainers, Initialized, Ready, ContainersReady,
PodScheduled); lastTransitionTime changes only when a status flips. Init containers complete at the first start.

Behaviour per pod (annotations; times in ms; invalid values are ignored):
  ``sim.ferry.dev/start-after-ms``   ContainerCreating time (default ``SimConfig.start_delay_ms``)
  ``sim.ferry.dev/ready-after-ms``   ready this long after each start (default: readinessProbe
                                     initialDelaySeconds, else 0)
  ``sim.ferry.dev/never-ready``      ``"true"``: runs, never ready
  ``sim.ferry.dev/crash-after-ms``   every instance exits after this long, with ``sim.ferry.dev/exit-code``
                                     (default 1; 0 means "completes")
  ``sim.ferry.dev/oom-after-ms``     every instance is OOMKilled (exit 137) after this long
  ``sim.ferry.dev/image-pull-error`` ``"true"`` or a message: every pull fails
  ``sim.ferry.dev/stop-after-ms``    time to exit after SIGTERM (default 0)
By image tag, so that ``kubectl set image`` can break a rollout: a tag containing ``never-ready`` or
``pull-error``, or with the word ``crash`` (exit 1 after 1 s) or ``oom`` (OOMKilled after 1 s), behaves so
(``app:never-ready``, ``app:1.2-crash``); annotations win. Pods with restartPolicy
Never/OnFailure and no behaviour complete (exit 0) after ``SimConfig.run_to_completion_ms``.

Design for scale (10,000 pods): one heap of (due time, pod) timers, no task per pod; handlers only mark pods
dirty. ``step()`` pops due timers, advances each dirty pod's state machine to ``now``, builds its status and
writes only what changed, all writes of a step concurrently (at most ``max_inflight_writes``): a burst of
transitions costs one write per pod. Writes are ``update`` of ``/status`` with a resourceVersion precondition;
when the cache has not caught up with our own last write yet, that write's answer is the base (no self-inflicted
409). A 409 is retried when the next event (or a 1 s timer) arrives. After a restart the state is rebuilt from
the pod's status (started times, restart counts, IPs), so running pods are not restarted; back-off is in
memory, as in kubelet. Tests drive it with a FakeClock: ``await register()``, ``on_pod_*``, ``await step()``.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import hashlib
import heapq
import ipaddress
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, Clock, EventRecorder, Lister, Obj
from ferry.cluster.resources.defaults.pods import image_tag

log = logging.getLogger("ferry.kubelet.sim")
ANN = "sim.ferry.dev/"
LEASE_NAMESPACE = "kube-node-lease"
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
BACKOFF_INITIAL_SECONDS, BACKOFF_MAX_SECONDS = 10.0, 300.0
PULL_RESYNC_SECONDS = 10.0  # the pod worker's back-off period after a failed sync
MIN_GRACE_SECONDS = 2.0
_NODE_CONDITION_KEYS = ("type", "status", "reason", "message")
_NODE_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)
UNKNOWN = {"exitCode": 137, "reason": "ContainerStatusUnknown"}
UNKNOWN_MESSAGE = "The container could not be located when the pod was terminated"


@dataclass(frozen=True)
class SimConfig:
    """Settings of the sim runtime: node count and size (quantities as in Node.status.capacity), addresses,
    the default behaviour of containers, and the kubelet's periods."""

    nodes: int = 1
    cpu: str = "8"
    memory: str = "32Gi"
    ephemeral_storage: str = "100Gi"
    max_pods: int = 110
    labels: tuple[tuple[str, str], ...] = ()  # extra node labels
    taints: tuple[tuple[str, str, str], ...] = ()  # (key, value, effect) on every node
    pod_cidr: str = "10.244.0.0/16"  # split into one subnet per node, sized for max_pods
    node_ip_start: str = "172.18.0.2"
    start_delay_ms: int = 500
    run_to_completion_ms: int = 1000
    lease_duration_seconds: int = 40
    lease_renew_seconds: float = 10.0
    node_status_report_seconds: float = 300.0
    max_inflight_writes: int = 32
    container_events: bool = True  # Pulled/Created/Started per start (off for benchmarks)
    kubelet_version: str = "v1.32.4+ferry"


@dataclass(frozen=True)
class Behaviour:
    """One container's script; seconds from the pod's arrival (start) or from each container start."""

    start: float
    ready: float | None  # None: never ready
    exit: float | None = None
    exit_code: int = 0
    oom: bool = False
    pull_error: str | None = None
    stop: float = 0.0


def behaviour(pod: Obj, container: Obj, config: SimConfig) -> Behaviour:
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    tag = (image_tag(str(container.get("image", ""))) or "").lower()
    words = set(re.split(r"[^a-z0-9]+", tag))

    def ms(name: str, default: float | None) -> float | None:
        try:
            return max(0, int(ann[ANN + name])) / 1000
        except (KeyError, ValueError, TypeError):
            return default

    probe = container.get("readinessProbe")
    ready = ms("ready-after-ms", float(probe.get("initialDelaySeconds") or 0) if probe else 0.0)
    if ann.get(ANN + "never-ready") == "true" or "never-ready" in tag:
        ready = None
    exit_, code, oom = None, 0, False
    if (pod.get("spec") or {}).get("restartPolicy") in ("Never", "OnFailure"):
        exit_ = config.run_to_completion_ms / 1000
    if words & {"crash", "crashloop"}:
        exit_, code = 1.0, 1
    if words & {"oom", "oomkilled"}:
        exit_, oom = 1.0, True
    if (crash := ms("crash-after-ms", None)) is not None:
        exit_, code, oom = crash, 1, False
    if (oom_after := ms("oom-after-ms", None)) is not None:
        exit_, oom = oom_after, True
    if str(ann.get(ANN + "exit-code", "")).lstrip("-").isdigit():
        code = int(ann[ANN + "exit-code"])
    pull = ann.get(ANN + "image-pull-error") or ("true" if "pull-error" in tag else None)
    if pull == "true":
        pull = f'failed to pull and unpack image "{container.get("image")}": not found'
    start = ms("start-after-ms", config.start_delay_ms / 1000) or 0.0
    return Behaviour(start, ready, exit_, code, oom, pull, ms("stop-after-ms", 0.0) or 0.0)


@dataclass
class Backoff:
    """client-go ``flowcontrol.Backoff`` (no jitter): 10 s doubling to 300 s; stale after 2 x max since update."""

    delay: float = 0.0
    updated: float | None = None

    def live(self, event: float) -> bool:
        return self.updated is not None and event - self.updated <= 2 * BACKOFF_MAX_SECONDS

    def next(self, event: float, now: float) -> None:
        self.delay = min(self.delay * 2, BACKOFF_MAX_SECONDS) if self.live(event) else BACKOFF_INITIAL_SECONDS
        self.updated = now


@dataclass
class _Ctr:
    name: str
    image: str
    b: Behaviour
    restarts: int = 0
    cid: str = ""
    started: float | None = None  # startedAt of the running instance
    waiting: tuple[str, str] = ("ContainerCreating", "")
    last: Obj | None = None  # the latest termination; `prior` the one before
    prior: Obj | None = None
    finished: float = 0.0
    done: bool = False  # stays terminated: state = last, lastState = prior
    due: float | None = None  # when `action` happens
    action: str = ""
    crash: Backoff = field(default_factory=Backoff)
    pull: Backoff = field(default_factory=Backoff)
    stop_code: int = 0


@dataclass
class _Pod:
    uid: str
    key: str
    node: _Node
    ip: str
    since: float
    init_at: float
    ctrs: list[_Ctr]
    inits: list[tuple[str, str]]
    stopping: bool = False
    deleted: bool = False
    written: Obj | None = None
    base: tuple[str, Obj] | None = None  # (resourceVersion our last write was based on, its answer)
    wake: float | None = None


@dataclass
class _Node:
    name: str
    ip: str
    cidr: ipaddress.IPv4Network
    uid: str = ""
    used: set[int] = field(default_factory=set)
    cursor: int = 0
    lease: Obj | None = None

    def allocate(self, want: str = "") -> str:
        if want and ipaddress.ip_address(want) in self.cidr:
            self.used.add(int(ipaddress.ip_address(want)) - int(self.cidr.network_address))
            return want
        size = self.cidr.num_addresses - 3  # network, gateway (.1), broadcast
        for _ in range(size):
            self.cursor = self.cursor % size + 1
            if self.cursor + 1 not in self.used:
                self.used.add(self.cursor + 1)
                return str(self.cidr.network_address + self.cursor + 1)
        return ""


def _ts(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(ts: Any, default: float) -> float:
    try:
        return dt.datetime.strptime(str(ts), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return default


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String`` for whole seconds: 10s, 1m20s, 5m0s."""
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s}s" if m else f"{s}s"


def _hex(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _image_id(image: str) -> str:
    name = image.split("@")[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    first = name.split("/")[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return f"{name}@sha256:{_hex(image)}"


class SimRuntime:
    """The simulated kubelet of all ``config.nodes`` nodes; see the module docstring."""

    def __init__(
        self,
        pods: Lister,
        client: Client,
        recorder: EventRecorder,
        clock: Clock,
        config: SimConfig | None = None,
    ) -> None:
        self.pods, self.client, self.recorder, self.clock = pods, client, recorder, clock
        self.config = cfg = config or SimConfig()
        bits = max(8, math.ceil(math.log2(cfg.max_pods + 4)))
        subnets = ipaddress.IPv4Network(cfg.pod_cidr).subnets(new_prefix=32 - bits)
        start = ipaddress.IPv4Address(cfg.node_ip_start)
        self.nodes: dict[str, _Node] = {}
        for i in range(cfg.nodes):
            cidr = next(subnets, None)
            if cidr is None:
                raise ValueError(f"pod_cidr {cfg.pod_cidr} is too small for {cfg.nodes} nodes")
            self.nodes[f"ferry-node-{i + 1}"] = _Node(f"ferry-node-{i + 1}", str(start + i), cidr)
        self._pods: dict[str, _Pod] = {}  # by uid
        self._dirty: set[str] = set()  # pod keys
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._wakeup = asyncio.Event()
        self._lease_due = self._status_due = math.inf

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- nodes and leases ------------------------------------------------------------------------------
    def node_object(self, node: _Node, now: float) -> Obj:
        cfg = self.config
        cond = {"lastHeartbeatTime": _ts(now), "lastTransitionTime": _ts(now)}
        res = {"cpu": cfg.cpu, "memory": cfg.memory, "ephemeral-storage": cfg.ephemeral_storage}
        res |= {"pods": str(cfg.max_pods), "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux"}
        labels |= {
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": node.name,
            "kubernetes.io/os": "linux",
        }
        spec: Obj = {"podCIDR": str(node.cidr), "podCIDRs": [str(node.cidr)]}
        if cfg.taints:
            spec["taints"] = [{"key": k, "value": v, "effect": e} for k, v, e in cfg.taints]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": node.name,
                "labels": labels | dict(cfg.labels),
                "annotations": {
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                },
            },
            "spec": spec,
            "status": {
                "capacity": res,
                "allocatable": dict(res),
                "conditions": [
                    cond | dict(zip(_NODE_CONDITION_KEYS, c, strict=True)) for c in _NODE_CONDITIONS
                ],
                "addresses": [
                    {"type": "InternalIP", "address": node.ip},
                    {"type": "Hostname", "address": node.name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "machineID": _hex("machine", node.name)[:32],
                    "systemUUID": _hex("uuid", node.name)[:32],
                    "bootID": _hex("boot", node.name)[:32],
                    "kernelVersion": "6.8.0-ferry",
                    "osImage": "ferry sim",
                    "containerRuntimeVersion": "sim://1.0",
                    "kubeletVersion": cfg.kubelet_version,
                    "kubeProxyVersion": "",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        }

    async def register(self) -> None:
        """Create (or take over) the Node objects and their Leases; start the renewal timers."""
        now = self._now()
        for node in self.nodes.values():
            body = self.node_object(node, now)
            try:
                obj = await self.client.create("v1/nodes", None, body)
            except ApiStatusError as err:
                if not err.already_exists:
                    raise
                obj = copy.deepcopy(await self.client.get("v1/nodes", None, node.name))
                obj["status"] = body["status"]
                obj = await self.client.update("v1/nodes", None, obj, subresource="status")
                node.cidr = ipaddress.IPv4Network((obj.get("spec") or {}).get("podCIDR") or str(node.cidr))
            node.uid = str(obj["metadata"].get("uid", ""))
            await self._renew(node, now)
        self._lease_due = now + self.config.lease_renew_seconds
        self._status_due = now + self.config.node_status_report_seconds

    async def _renew(self, node: _Node, now: float) -> None:
        res, renew = "coordination.k8s.io/v1/leases", dt.datetime.fromtimestamp(now, dt.UTC)
        spec = {"holderIdentity": node.name, "leaseDurationSeconds": self.config.lease_duration_seconds}
        spec["renewTime"] = renew.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        try:
            if node.lease is None:
                node.lease = await self.client.get(res, LEASE_NAMESPACE, node.name)
            body = copy.deepcopy(node.lease)
            body["spec"] = (body.get("spec") or {}) | spec
            node.lease = await self.client.update(res, LEASE_NAMESPACE, body)
        except ApiStatusError as err:
            node.lease = None
            if not err.not_found:
                return  # a conflict: fetched again at the next renewal
            owner = {"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": node.uid}
            meta = {"name": node.name, "namespace": LEASE_NAMESPACE, "ownerReferences": [owner]}
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}
            node.lease = await self.client.create(res, LEASE_NAMESPACE, lease)

    async def _heartbeat(self, node: _Node, now: float) -> None:
        obj = copy.deepcopy(await self.client.get("v1/nodes", None, node.name))
        for c in (obj.get("status") or {}).get("conditions") or []:
            c["lastHeartbeatTime"] = _ts(now)
        await self.client.update("v1/nodes", None, obj, subresource="status")

    # -- pods: handlers only mark dirty ---------------------------------------------------------------
    def on_pod_add(self, pod: Obj) -> list[str]:
        if (pod.get("spec") or {}).get("nodeName") not in self.nodes:
            return []
        key = rt.key_of(pod)
        self._dirty.add(key)
        self._wakeup.set()
        return [key]

    def on_pod_update(self, old: Obj, new: Obj) -> list[str]:
        return self.on_pod_add(new)

    def on_pod_delete(self, pod: Obj) -> list[str]:
        p = self._pods.pop(str((pod.get("metadata") or {}).get("uid")), None)
        if p is not None and p.ip:
            p.node.used.discard(int(ipaddress.ip_address(p.ip)) - int(p.node.cidr.network_address))
        return []

    def next_due(self) -> float:
        """Seconds until the earliest timer (may be early: stale heap entries are skipped when they fire)."""
        due = min(self._heap[0][0] if self._heap else math.inf, self._lease_due, self._status_due)
        return 0.0 if self._dirty else max(0.0, due - self._now())

    async def step(self) -> int:
        """Do the work due at ``clock.now()``: fired timers, dirty pods, lease renewals. Returns writes made."""
        now = self._now()
        while self._heap and self._heap[0][0] <= now:
            due, _, uid = heapq.heappop(self._heap)
            p = self._pods.get(uid)
            if p is not None and p.wake == due:
                p.wake = None
                self._dirty.add(p.key)
        keys, self._dirty = sorted(self._dirty), set()
        work = [w for k in keys if (w := self._sync_pod_safely(k, now)) is not None]
        gate = asyncio.Semaphore(self.config.max_inflight_writes)

        async def write(p: _Pod, obj: Obj, status: Obj | None) -> int:
            async with gate:
                try:
                    return await self._write(p, obj, status, now)
                except Exception:  # the API is unreachable: retry this pod shortly
                    log.exception("sim: writing %s failed", p.key)
                    self._push(p, now + 1.0)
                    return 0

        writes = sum(await asyncio.gather(*(write(*w) for w in work)))
        if now >= self._lease_due:
            self._lease_due = now + self.config.lease_renew_seconds
            for node in self.nodes.values():
                await self._renew(node, now)
        if now >= self._status_due:
            self._status_due = now + self.config.node_status_report_seconds
            for node in self.nodes.values():
                await self._heartbeat(node, now)
        return writes

    async def run(self, stop: asyncio.Event) -> None:
        """The real loop: register, then step whenever a timer is due or a handler marked a pod dirty."""
        while not stop.is_set():
            try:
                await self.register()
                break
            except Exception:
                log.exception("sim: registering nodes failed; retrying")
                await _wait_any(stop, None, 1.0)
        while not stop.is_set():
            self._wakeup.clear()
            try:
                await self.step()
            except Exception:
                log.exception("sim: step failed; retrying")
            await _wait_any(stop, self._wakeup, min(self.next_due(), 60.0))

    # -- one pod: advance its containers to `now`, build its status --------------------------------
    def _sync_pod_safely(self, key: str, now: float) -> tuple[_Pod, Obj, Obj | None] | None:
        try:
            return self._sync_pod(key, now)
        except Exception:  # one malformed pod must not stall the node
            log.exception("sim: pod %s skipped", key)
            return None

    def _sync_pod(self, key: str, now: float) -> tuple[_Pod, Obj, Obj | None] | None:
        obj = self.pods.get(*rt.split_key(key))
        if obj is None or (obj.get("spec") or {}).get("nodeName") not in self.nodes:
            return None
        meta = obj["metadata"]
        p = self._pods.get(str(meta.get("uid"))) or self._admit(obj, now)
        if p.deleted:
            return None
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):  # terminal never changes back
            return (p, obj, None) if meta.get("deletionTimestamp") else None
        if meta.get("deletionTimestamp") and not p.stopping:
            self._stop(p, obj, now)
        for c in p.ctrs:
            while c.due is not None and c.due <= now:
                t, c.due = c.due, None
                if c.action in ("start", "pull") and c.b.pull_error is not None:
                    self._pull(obj, c, t)
                elif c.action in ("start", "restart"):
                    if c.action == "restart":
                        c.crash.next(c.finished, t)
                    self._run(obj, c, t)
                elif c.action == "exit":
                    self._exit(p, obj, c, t)
                elif c.action == "stop":
                    self._terminate(c, t, c.stop_code, "Completed" if c.stop_code == 0 else "Error")
                    c.done = True
        times = [c.due for c in p.ctrs if c.due is not None] + [p.init_at] * (now < p.init_at)
        times += [c.started + c.b.ready for c in p.ctrs if c.started is not None and c.b.ready is not None]
        self._push(p, min((t for t in times if t > now), default=None))
        return p, obj, self._status(p, obj, now)

    def _push(self, p: _Pod, due: float | None) -> None:
        if due is not None and (p.wake is None or due < p.wake):
            p.wake, self._seq = due, self._seq + 1
            heapq.heappush(self._heap, (due, self._seq, p.uid))

    def _admit(self, obj: Obj, now: float) -> _Pod:
        spec, status = obj["spec"], obj.get("status") or {}
        node = self.nodes[spec["nodeName"]]
        previous = {cs.get("name"): cs for cs in status.get("containerStatuses") or []}
        ctrs = []
        for c in spec.get("containers") or []:
            b = behaviour(obj, c, self.config)
            ctr = _Ctr(c["name"], str(c.get("image", "")), b, due=now + b.start, action="start")
            self._restore(ctr, previous.get(ctr.name), now)
            ctrs.append(ctr)
        inits = [(str(c["name"]), str(c.get("image", ""))) for c in spec.get("initContainers") or []]
        since = _parse(status.get("startTime"), now)
        # Init containers complete when the first container starts (or did, before a restart of the sim).
        first = ((status.get("initContainerStatuses") or [{}])[0].get("state") or {}).get("terminated") or {}
        init_at = min((c.due for c in ctrs if c.action == "start" and c.due is not None), default=now)
        init_at = _parse(first.get("finishedAt"), init_at) if inits else now
        ip, uid = node.allocate(status.get("podIP") or ""), str(obj["metadata"].get("uid"))
        p = self._pods[uid] = _Pod(uid, rt.key_of(obj), node, ip, since, init_at, ctrs, inits)
        return p

    @staticmethod
    def _restore(c: _Ctr, cs: Obj | None, now: float) -> None:
        """Take over a container a previous run of the sim (or of ferry) already drove."""
        state, last = (cs or {}).get("state") or {}, ((cs or {}).get("lastState") or {}).get("terminated")
        if not cs or not cs.get("containerID"):
            return
        c.restarts, c.cid, c.last = int(cs.get("restartCount") or 0), cs["containerID"], last
        c.due, c.action = None, ""
        if "running" in state:
            c.started = _parse(state["running"].get("startedAt"), now)
            if c.b.exit is not None:
                c.due, c.action = c.started + c.b.exit, "exit"
        elif "terminated" in state:
            c.prior, c.last, c.done = last, state["terminated"], True
        else:  # waiting after a crash: back-off lives in memory (as in kubelet), so restart now
            c.finished = _parse((last or {}).get("finishedAt"), now)
            c.due, c.action = now, "restart"

    def _event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        self.recorder.event(obj, type_, reason, message)

    def _run(self, obj: Obj, c: _Ctr, t: float) -> None:
        if c.cid:
            c.restarts += 1
        c.cid = "sim://" + _hex(str(obj["metadata"].get("uid")), c.name, str(c.restarts))
        c.started, c.done, c.waiting = t, False, ("", "")
        if c.b.exit is not None:
            c.due, c.action = t + c.b.exit, "exit"
        if self.config.container_events:
            self._event(obj, "Normal", "Pulled", f'Container image "{c.image}" already present on machine')
            self._event(obj, "Normal", "Created", f"Created container: {c.name}")
            self._event(obj, "Normal", "Started", f"Started container {c.name}")

    def _terminate(self, c: _Ctr, t: float, code: int, reason: str) -> None:
        term = {
            "exitCode": code,
            "reason": reason,
            "startedAt": _ts(c.started if c.started is not None else t),
        }
        term |= {"finishedAt": _ts(t), "containerID": c.cid}
        c.prior, c.last, c.started, c.finished = c.last, term, None, t

    def _exit(self, p: _Pod, obj: Obj, c: _Ctr, t: float) -> None:
        code = 137 if c.b.oom else c.b.exit_code
        self._terminate(c, t, code, "OOMKilled" if c.b.oom else "Completed" if code == 0 else "Error")
        policy = obj["spec"].get("restartPolicy") or "Always"
        if p.stopping or policy == "Never" or (policy == "OnFailure" and code == 0):
            c.done = True
        elif c.crash.live(t):  # IsInBackOffSince(finishedAt): wait out the current delay
            m = obj["metadata"]
            pod = f"{m['name']}_{m.get('namespace')}({m.get('uid')})"
            c.waiting = (
                "CrashLoopBackOff",
                f"back-off {go_duration(c.crash.delay)} restarting failed container={c.name} pod={pod}",
            )
            c.due, c.action = t + c.crash.delay, "restart"
            self._event(
                obj, "Warning", "BackOff", f"Back-off restarting failed container {c.name} in pod {pod}"
            )
        else:  # no entry, or stable for 10 min: restart at once and start the back-off at 10 s
            c.crash.next(t, t)
            self._run(obj, c, t)

    def _pull(self, obj: Obj, c: _Ctr, t: float) -> None:
        if c.pull.live(t) and t - (c.pull.updated or 0.0) < c.pull.delay:
            c.waiting = ("ImagePullBackOff", f'Back-off pulling image "{c.image}"')
            self._event(obj, "Normal", "BackOff", c.waiting[1])
        else:
            c.pull.next(t, t)
            c.waiting = ("ErrImagePull", str(c.b.pull_error))
            self._event(obj, "Warning", "Failed", f'Failed to pull image "{c.image}": {c.b.pull_error}')
        c.due, c.action = t + PULL_RESYNC_SECONDS, "pull"

    def _stop(self, p: _Pod, obj: Obj, now: float) -> None:
        p.stopping = True
        grace = max(float(obj["metadata"].get("deletionGracePeriodSeconds") or 0), MIN_GRACE_SECONDS)
        for c in p.ctrs:
            if c.started is not None:
                c.stop_code = 0 if c.b.stop <= grace else 137
                c.due, c.action = now + min(grace, c.b.stop), "stop"
                self._event(obj, "Normal", "Killing", f"Stopping container {c.name}")
            elif not c.done:
                c.prior, c.last, c.done, c.due = c.last, UNKNOWN | {"message": UNKNOWN_MESSAGE}, True, None

    def _status(self, p: _Pod, obj: Obj, now: float) -> Obj:
        spec, current = obj["spec"], obj.get("status") or {}
        init_done = now >= p.init_at
        statuses = [self._container_status(p, c, now, init_done) for c in p.ctrs]
        phase = _phase(p, spec.get("restartPolicy") or "Always", init_done)
        terminal = phase in ("Succeeded", "Failed")
        unready = [s["name"] for s in statuses if not s["ready"]]
        incomplete = " ".join(n for n, _ in p.inits)
        conds: list[tuple[str, bool, str, str]] = [("PodReadyToStartContainers", not terminal, "", "")]
        if init_done:
            conds.append(("Initialized", True, "PodCompleted" if phase == "Succeeded" else "", ""))
        else:
            msg = f"containers with incomplete status: [{incomplete}]"
            conds.append(("Initialized", False, "ContainersNotInitialized", msg))
        if terminal:
            ready: tuple[bool, str, str] = (
                False,
                "PodCompleted" if phase == "Succeeded" else "PodFailed",
                "",
            )
        elif unready:
            ready = (False, "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
        else:
            ready = (True, "", "")
        conds += [("Ready", *(_gates(spec, current) if ready[0] else ready)), ("ContainersReady", *ready)]
        conds.append(("PodScheduled", True, "", ""))
        old = {c.get("type"): c for c in current.get("conditions") or []}
        out = [c for c in current.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
        for type_, ok, reason, message in conds:
            s = "True" if ok else "False"
            prev = old.get(type_) or {}
            since = prev.get("lastTransitionTime") if prev.get("status") == s else None
            cond = {
                "type": type_,
                "status": s,
                "lastProbeTime": None,
                "lastTransitionTime": since or _ts(now),
            }
            out.append(
                cond | ({"reason": reason} if reason else {}) | ({"message": message} if message else {})
            )
        st = dict(current) | {"phase": phase, "conditions": out, "hostIP": p.node.ip}
        st |= {"hostIPs": [{"ip": p.node.ip}], "startTime": _ts(p.since)}
        if p.ip:
            st |= {"podIP": p.ip, "podIPs": [{"ip": p.ip}]}
        if p.inits:
            st["initContainerStatuses"] = [self._init_status(p, n, i, init_done) for n, i in p.inits]
        st["containerStatuses"] = sorted(statuses, key=lambda s: str(s["name"]))
        return st

    @staticmethod
    def _container_status(p: _Pod, c: _Ctr, now: float, init_done: bool) -> Obj:
        state: Obj
        if c.started is not None:
            state, last = {"running": {"startedAt": _ts(c.started)}}, c.last
        elif c.done:
            state, last = {"terminated": c.last}, c.prior
        else:
            reason = "PodInitializing" if not init_done and p.inits else c.waiting[0]
            state, last = (
                {"waiting": {"reason": reason} | ({"message": c.waiting[1]} if c.waiting[1] else {})},
                c.last,
            )
        ready = c.started is not None and c.b.ready is not None and now >= c.started + c.b.ready
        s = {
            "name": c.name,
            "state": state,
            "lastState": {"terminated": last} if last else {},
            "ready": ready,
        }
        s |= {"restartCount": c.restarts, "image": c.image, "imageID": _image_id(c.image) if c.cid else ""}
        return s | {"started": c.started is not None} | ({"containerID": c.cid} if c.cid else {})

    @staticmethod
    def _init_status(p: _Pod, name: str, image: str, done: bool) -> Obj:
        s = {
            "name": name,
            "lastState": {},
            "ready": done,
            "restartCount": 0,
            "image": image,
            "started": False,
        }
        if not done:
            return s | {"state": {"waiting": {"reason": "PodInitializing"}}, "imageID": ""}
        cid = "sim://" + _hex(p.uid, name, "0")
        term = {
            "exitCode": 0,
            "reason": "Completed",
            "startedAt": _ts(p.init_at),
            "finishedAt": _ts(p.init_at),
        }
        return s | {
            "state": {"terminated": term | {"containerID": cid}},
            "imageID": _image_id(image),
            "containerID": cid,
        }

    async def _write(self, p: _Pod, obj: Obj, status: Obj | None, now: float) -> int:
        writes, meta = 0, obj["metadata"]
        if status is not None and status != obj.get("status") and status != p.written:
            rv = str(meta.get("resourceVersion"))
            base = p.base[1] if p.base is not None and p.base[0] == rv else obj  # cache behind our own write
            try:
                answer = await self.client.update(
                    "v1/pods", meta.get("namespace"), base | {"status": status}, subresource="status"
                )
            except ApiStatusError as err:
                if not err.not_found:
                    log.info("sim: status of %s not written (%s); retrying", p.key, err)
                    self._push(p, now + 1.0)
                return 0
            p.written, p.base, writes = status, (rv, answer), 1
        if p.stopping and all(c.done for c in p.ctrs) and not p.deleted:
            opts = {"gracePeriodSeconds": 0, "preconditions": {"uid": p.uid}}
            try:
                await self.client.delete("v1/pods", meta.get("namespace"), meta["name"], options=opts)
            except ApiStatusError as err:
                if not (err.not_found or err.code == 409):
                    self._push(p, now + 1.0)
                    return writes
            p.deleted, writes = True, writes + 1
        return writes


def _phase(p: _Pod, policy: str, init_done: bool) -> str:
    """kubelet's ``getPhase``; a pod stopped for deletion is terminal (Succeeded only if every exit was 0)."""
    if not init_done:
        return "Pending"
    running = sum(c.started is not None for c in p.ctrs)
    stopped = [c for c in p.ctrs if c.started is None and (c.done or c.last is not None)]
    if len(stopped) + running < len(p.ctrs):
        return "Pending"  # some container has not started yet
    if running:
        return "Running"
    ok = all(c.done and (c.last or {}).get("exitCode") == 0 for c in stopped)
    if (p.stopping and all(c.done for c in p.ctrs)) or policy == "Never":
        return "Succeeded" if ok else "Failed"
    return "Succeeded" if policy == "OnFailure" and ok else "Running"


def _gates(spec: Obj, current: Obj) -> tuple[bool, str, str]:
    """Ready when every readiness gate's condition is True (containers being ready)."""
    conds = {c.get("type"): c.get("status") for c in current.get("conditions") or []}
    msgs = []
    for gate in spec.get("readinessGates") or []:
        t = gate.get("conditionType")
        if t not in conds:
            msgs.append(f'corresponding condition of pod readiness gate "{t}" does not exist.')
        elif conds[t] != "True":
            msgs.append(f'the status of pod readiness gate "{t}" is not "True", but {conds[t]}')
    return (False, "ReadinessGatesNotReady", ", ".join(msgs)) if msgs else (True, "", "")


async def _wait_any(stop: asyncio.Event, wakeup: asyncio.Event | None, timeout: float) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in (stop, wakeup) if e is not None]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
