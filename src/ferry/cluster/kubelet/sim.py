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

The pieces: :mod:`~ferry.cluster.kubelet.behaviour` (SimConfig, the annotations and image tags above, the
back-off), :mod:`~ferry.cluster.kubelet.nodes` (Node objects, addresses, Leases, heartbeats) and
:mod:`~ferry.cluster.kubelet.podstatus` (phase, conditions, container statuses). This module owns
:class:`SimRuntime`: the handlers, the timer heap, each container's state machine and the writes.
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import logging
import math

from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, Clock, EventRecorder, Lister, Obj
from ferry.cluster.kubelet.behaviour import (
    ANN,
    BACKOFF_INITIAL_SECONDS,
    BACKOFF_MAX_SECONDS,
    Backoff,
    Behaviour,
    SimConfig,
    behaviour,
    go_duration,
)
from ferry.cluster.kubelet.nodes import (
    LEASE_NAMESPACE,
    _hex,
    _Node,
    _ts,
    heartbeat,
    make_nodes,
    node_object,
    register_node,
    renew_lease,
)
from ferry.cluster.kubelet.podstatus import KUBELET_CONDITIONS, _Ctr, _parse, _Pod, pod_status

__all__ = [
    "ANN",
    "BACKOFF_INITIAL_SECONDS",
    "BACKOFF_MAX_SECONDS",
    "KUBELET_CONDITIONS",
    "LEASE_NAMESPACE",
    "MIN_GRACE_SECONDS",
    "PULL_RESYNC_SECONDS",
    "UNKNOWN",
    "UNKNOWN_MESSAGE",
    "Backoff",
    "Behaviour",
    "SimConfig",
    "SimRuntime",
    "behaviour",
    "go_duration",
]

log = logging.getLogger("ferry.kubelet.sim")
PULL_RESYNC_SECONDS = 10.0  # the pod worker's back-off period after a failed sync
MIN_GRACE_SECONDS = 2.0
UNKNOWN = {"exitCode": 137, "reason": "ContainerStatusUnknown"}
UNKNOWN_MESSAGE = "The container could not be located when the pod was terminated"


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
        self.config = config or SimConfig()
        self.nodes: dict[str, _Node] = make_nodes(self.config)
        self._pods: dict[str, _Pod] = {}  # by uid
        self._dirty: set[str] = set()  # pod keys
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._wakeup = asyncio.Event()
        self._lease_due = self._status_due = math.inf

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- nodes and leases (ferry.cluster.kubelet.nodes) -----------------------------------------------
    def node_object(self, node: _Node, now: float) -> Obj:
        """The Node object this runtime registers for ``node``."""
        return node_object(node, self.config, now)

    async def register(self) -> None:
        """Create (or take over) the Node objects and their Leases; start the renewal timers."""
        now = self._now()
        for node in self.nodes.values():
            await register_node(self.client, node, self.node_object(node, now))
            await renew_lease(self.client, node, self.config, now)
        self._lease_due = now + self.config.lease_renew_seconds
        self._status_due = now + self.config.node_status_report_seconds

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
                await renew_lease(self.client, node, self.config, now)
        if now >= self._status_due:
            self._status_due = now + self.config.node_status_report_seconds
            for node in self.nodes.values():
                await heartbeat(self.client, node, now)
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
        return p, obj, pod_status(p, obj, now)

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


async def _wait_any(stop: asyncio.Event, wakeup: asyncio.Event | None, timeout: float) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in (stop, wakeup) if e is not None]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
