"""One asynchronous task per pod: the pod's lifecycle, level-triggered.

A :class:`PodWorker` loops: read the pod from the cache, compare with what runs, act, write the status, sleep
until woken (pod event, container exit, probe result) or until the next timer (back-off). Each pass:

1. **sandbox**: the pod network (``NodeNetwork.create_pod_network``, idempotent) or the host's network when
   the node has none; ``/etc/hosts`` and ``/etc/resolv.conf``; the volumes (:mod:`.volumes`);
2. **images** per container and ``imagePullPolicy``: ``Pulling``/``Pulled`` events, failures →
   ``ErrImagePull`` then ``ImagePullBackOff`` with the kubelet back-off (10 s doubling to 300 s);
3. **init containers** one at a time, in order; then every **app container** not running; a failed
   container restarts per ``restartPolicy`` with the CrashLoopBackOff schedule (at once, then 10 s, 20 s...);
4. per running instance a watcher (``runtime.wait``: the termination, OOMKilled included) and the probers
   (:mod:`.probes`): startup first, then readiness and liveness; a liveness failure kills the instance
   (``Killing`` event), the watcher then restarts it per policy.

On ``deletionTimestamp``: first the pod **leaves the Services** (:meth:`PodWorker._leave_services`: the node's
service proxy routes it no new connection, and its open ones drained; bounded by ``LEAVE_MAX_SECONDS`` and half
the grace period, which the wait uses up), then probers stop, preStop hooks run, SIGTERM, then SIGKILL when the
grace period is over; the final status is written, the sandbox and pod directory removed, and the pod DELETEd
with grace 0 and a uid precondition (as the sim). What ran is recorded in ``<pod dir>/record.json``, so a
restarted kubelet adopts the running instances (their shims outlived it) instead of starting new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj
from ferry.cluster.kubelet.behaviour import go_duration
from ferry.cluster.kubelet.images import PulledImage
from ferry.cluster.kubelet.process.containers import build_spec, kill, post_start, pull, stop_container
from ferry.cluster.kubelet.process.envs import EnvError, container_env
from ferry.cluster.kubelet.process.probes import Prober, check_probe
from ferry.cluster.kubelet.process.status import CtrState, load_record, pod_status, restore, save_record
from ferry.cluster.kubelet.process.volumes import (
    VolumeError,
    container_mounts,
    prepare_volumes,
    remove_pod_dir,
    write_etc_files,
)
from ferry.cluster.kubelet.runtime import ContainerId, ContainerRuntimeError
from ferry.cluster.network import resolv_conf
from ferry.cluster.network.podfiles import hosts_file

if TYPE_CHECKING:
    from ferry.cluster.kubelet.process.kubelet import ProcessKubelet

log = logging.getLogger("ferry.kubelet.process")
RETRY_SECONDS = 10.0
LEAVE_MAX_SECONDS = 5.0  # the most a deletion waits for the proxy before preStop and SIGTERM


class PodWorker:
    """The lifecycle of one pod (see the module docstring)."""

    def __init__(self, k: ProcessKubelet, namespace: str, name: str, uid: str) -> None:
        self.k, self.ns, self.name, self.uid = k, namespace, name, uid
        self.dir = k.pods_dir / uid
        self.wake = asyncio.Event()
        self.ctrs: dict[str, CtrState] = {}
        self.order: list[str] = []
        self.inits: list[str] = []
        self.images: dict[str, PulledImage] = {}
        self.due: dict[str, float] = {}  # container → earliest next start/pull
        self.tasks: dict[str, list[asyncio.Task[None]]] = {}
        self.pod_ip, self.sandbox = "", False
        self.netns: str | None = None
        self.etc: tuple[Path, Path] = (self.dir / "etc" / "hosts", self.dir / "etc" / "resolv.conf")
        self.since = time.time()
        self.stopping = False
        self.written: Obj | None = None
        self.base: tuple[str, Obj] | None = None
        self.finished = False

    # -- the loop -------------------------------------------------------------------------------------
    def obj(self) -> Obj | None:
        obj = self.k.pods.get(self.ns, self.name)
        return obj if obj is not None and obj["metadata"].get("uid") == self.uid else None

    async def run(self) -> None:
        obj = self.obj()
        if obj is None:
            return
        self._load(obj)
        await self._adopt()
        while True:
            self.wake.clear()
            obj = self.obj()
            if obj is None or obj["metadata"].get("deletionTimestamp"):
                await self._terminate(obj)
                return
            if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                await self._stop_all(obj, 0.0)  # terminal: nothing runs again
                await self.wake.wait()
                continue
            delay = RETRY_SECONDS
            try:
                delay = await self._sync(obj)
            except Exception:
                log.exception("pod %s/%s: sync failed", self.ns, self.name)
            delay = min(delay, await self._write(obj))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(0.05, delay))

    def _load(self, obj: Obj) -> None:
        spec = obj["spec"]
        for c in spec.get("initContainers") or []:
            self.ctrs[c["name"]] = CtrState(c["name"], str(c.get("image", "")), init=True)
            self.inits.append(c["name"])
        for c in spec.get("containers") or []:
            self.ctrs[c["name"]] = CtrState(c["name"], str(c.get("image", "")))
            self.order.append(c["name"])

    def _spec_of(self, obj: Obj, name: str) -> Obj:
        spec = obj["spec"]
        return next(
            c for c in [*(spec.get("initContainers") or []), *spec["containers"]] if c["name"] == name
        )

    async def _sync(self, obj: Obj) -> float:
        now = time.time()
        if not self.sandbox:
            await self._make_sandbox(obj)
        volumes = await prepare_volumes(obj, self.dir, self.k.lookup, tokens=self.k.tokens)
        pending = [n for n in self.inits if not self.ctrs[n].done]
        failed = any(self.ctrs[n].done and (self.ctrs[n].last or {}).get("exitCode") for n in self.inits)
        if failed:
            return 3600.0
        todo = pending[:1] if pending else self.order
        waits = [RETRY_SECONDS]
        for name in todo:
            c = self.ctrs[name]
            if c.running or c.done or self.tasks.get(name):
                continue
            if self.due.get(name, 0.0) > now:
                waits.append(self.due[name] - now)
                continue
            await self._start(obj, c, volumes)
            if not c.running and name in self.due:
                waits.append(max(0.0, self.due[name] - time.time()))
        return min(waits)

    async def _make_sandbox(self, obj: Obj) -> None:
        net = self.k.network
        if net is not None:
            pn = await net.create_pod_network(self.uid)
            self.pod_ip, self.netns = pn.ip, pn.netns_path
            nameserver = net.gateway
        else:
            self.pod_ip, nameserver = self.k.node.ip, self.k.node.ip
        hostname = str(obj["spec"].get("hostname") or self.name)[:63]
        hosts = hosts_file(self.pod_ip, hostname, host_aliases=obj["spec"].get("hostAliases"))
        self.etc = write_etc_files(self.dir, hosts, resolv_conf(self.ns, nameserver))
        self.sandbox = True
        self._save()

    # -- containers -----------------------------------------------------------------------------------
    async def _start(self, obj: Obj, c: CtrState, volumes: dict[str, Any]) -> None:
        spec = self._spec_of(obj, c.name)
        image, retry_at = await pull(self.k, obj, c, spec, have=self.images.get(c.name))
        if image is None:
            self.due[c.name] = retry_at
            return
        self.images[c.name] = image
        c.image_id = image.image_id
        restarts = c.restarts + 1 if c.cid else c.restarts
        try:
            status = dict(obj.get("status") or {}) | {"podIP": self.pod_ip, "hostIP": self.k.node.ip}
            status |= {"podIPs": [{"ip": self.pod_ip}], "hostIPs": [{"ip": self.k.node.ip}]}
            env = await container_env(
                obj | {"status": status},
                spec,
                self.k.lookup,
                services=self.k.services(),
                allocatable=self.k.allocatable,
            )
            mounts = container_mounts(spec, volumes, self.etc)
            cs = build_spec(
                obj,
                spec,
                image,
                env=env,
                mounts=mounts,
                pod_dir=self.dir,
                restart_count=restarts,
                netns_path=self.netns,
            )
            cid = await self.k.runtime.create(cs)
        except (EnvError, VolumeError, ContainerRuntimeError) as e:
            c.waiting = ("CreateContainerConfigError", str(e))
            self.k.event(obj, "Warning", "Failed", f"Error: {e}")
            self.due[c.name] = time.time() + RETRY_SECONDS
            return
        self.k.event(obj, "Normal", "Created", f"Created container: {c.name}")
        c.cid, c.restarts = cid, restarts
        try:
            await self.k.runtime.start(cid)
        except ContainerRuntimeError as e:
            self.k.event(obj, "Warning", "Failed", f"Error: {e}")
        started_at = time.time()
        self.k.event(obj, "Normal", "Started", f"Started container {c.name}")
        # Running (and probed) only once its postStart hook completed; a failed hook killed the instance.
        failed = await post_start(self.k, obj, c, spec, host=self.pod_ip or "127.0.0.1")
        if failed:
            c.waiting = ("PostStartHookError", failed)
        c.started_at = started_at
        c.started, c.ready = "startupProbe" not in spec, "readinessProbe" not in spec and not c.init
        self._save()
        self._watch(obj, c, spec)

    def _watch(self, obj: Obj, c: CtrState, spec: Obj) -> None:
        cid = ContainerId(c.cid)
        tasks = [asyncio.create_task(self._wait_exit(obj, c, cid))]
        if not c.init:
            if "startupProbe" in spec and not c.started:
                tasks.append(asyncio.create_task(self._prober(obj, c, spec, "startup").run()))
            else:
                tasks += self._main_probers(obj, c, spec)
        self.tasks[c.name] = tasks

    def _main_probers(self, obj: Obj, c: CtrState, spec: Obj) -> list[asyncio.Task[None]]:
        kinds = [k for k in ("readiness", "liveness") if f"{k}Probe" in spec]
        return [asyncio.create_task(self._prober(obj, c, spec, k).run()) for k in kinds]

    def _prober(self, obj: Obj, c: CtrState, spec: Obj, kind: str) -> Prober:
        cid = ContainerId(c.cid)

        async def exec_fn(argv: list[str], timeout: float) -> tuple[int, bytes]:
            r = await self.k.runtime.exec_sync(cid, argv, timeout_seconds=timeout)
            return (-1 if r.timed_out else r.exit_code), r.stdout + r.stderr

        probe = spec[f"{kind}Probe"]
        ports = list(spec.get("ports") or [])

        async def check() -> tuple[bool, str]:
            return await check_probe(probe, host=self.pod_ip, ports=ports, exec_fn=exec_fn)

        def on_result(ok: bool, message: str) -> None:
            if kind == "readiness":
                c.ready = ok
            elif kind == "startup" and ok:
                c.started = True
                self.tasks.setdefault(c.name, []).extend(self._main_probers(obj, c, spec))
            elif not ok:  # liveness or startup failed: kill, the watcher restarts per policy
                self.k.event(
                    obj, "Normal", "Killing", f"Container {c.name} failed {kind} probe, will be restarted"
                )
                grace = float(obj["spec"].get("terminationGracePeriodSeconds") or 30)
                self.tasks.setdefault(c.name, []).append(
                    asyncio.create_task(kill(self.k.runtime, cid, grace))
                )
            self.wake.set()

        def on_failure(message: str) -> None:
            self.k.event(obj, "Warning", "Unhealthy", f"{kind.capitalize()} probe failed: {message}")

        return Prober(kind, probe, check, on_result, on_failure)

    async def _wait_exit(self, obj: Obj, c: CtrState, cid: ContainerId) -> None:
        try:
            status = await self.k.runtime.wait(cid)
        except ContainerRuntimeError as e:
            log.warning("pod %s/%s: container %s lost: %s", self.ns, self.name, c.name, e)
            return
        # Decide before the next await: the pod's loop must not see a stopped container without its verdict.
        t = status.finished_at
        for task in self.tasks.pop(c.name, []):
            if task is not asyncio.current_task():
                task.cancel()
        c.prior, c.last = c.last, status.terminated(c.container_id)
        c.started_at, c.ready, c.started = None, False, False
        policy = obj["spec"].get("restartPolicy") or "Always"
        if (
            (c.init and status.exit_code == 0)
            or self.stopping
            or policy == "Never"
            or (policy == "OnFailure" and status.exit_code == 0)
        ):
            c.done = True
        elif c.crash.live(t):  # kubelet's IsInBackOffSince: wait out the current delay, then double it
            pod = f"{self.name}_{self.ns}({self.uid})"
            back_off = f"back-off {go_duration(c.crash.delay)} restarting failed container={c.name} pod={pod}"
            c.waiting = ("CrashLoopBackOff", back_off)
            self.k.event(
                obj, "Warning", "BackOff", f"Back-off restarting failed container {c.name} in pod {pod}"
            )
            self.due[c.name] = t + c.crash.delay
            c.crash.next(t, t + c.crash.delay)
        else:  # the first crash (or stable for 10 min): restart at once, the back-off starts at 10 s
            c.crash.next(t, t)
            self.due[c.name] = t
        self._save()
        self.wake.set()
        with contextlib.suppress(ContainerRuntimeError):
            await self.k.runtime.delete(cid)

    # -- termination ----------------------------------------------------------------------------------
    async def _stop_all(self, obj: Obj | None, grace: float) -> None:
        running = [c for c in self.ctrs.values() if c.running and c.cid]

        async def stop(c: CtrState) -> None:
            spec = self._spec_of(obj, c.name) if obj is not None else {}
            await stop_container(self.k, obj, c, spec, host=self.pod_ip, grace=grace)

        for tasks in self.tasks.values():
            for t in tasks[1:]:  # probers; the watchers record the exits
                t.cancel()
        await asyncio.gather(*(stop(c) for c in running))
        watchers = [ts[0] for ts in self.tasks.values() if ts]
        if watchers:
            await asyncio.wait(watchers, timeout=5.0)
        for c in self.ctrs.values():
            if not c.running and not c.done:
                c.done = c.last is not None or self.stopping
                if c.last is None and self.stopping and c.cid == "":
                    c.last = {
                        "exitCode": 137,
                        "reason": "ContainerStatusUnknown",
                        "message": "The container could not be located when the pod was terminated",
                    }

    async def _leave_services(self, grace: float) -> float:
        """Before preStop and SIGTERM: wait until the node's service proxy routes this pod no new connection and
        its open ones drained (``ServingGate.leave``); on Kubernetes the endpoint removal races SIGTERM, here it
        comes first. At most ``LEAVE_MAX_SECONDS`` and half the grace period; returns the seconds spent, which
        the caller takes from the grace period. No wait with the host's network or nothing running."""
        if (
            self.netns is None
            or not self.pod_ip
            or grace <= 0
            or not any(c.running for c in self.ctrs.values())
        ):
            return 0.0
        budget = min(LEAVE_MAX_SECONDS, grace / 2)
        return await self.k.gate.leave(self.pod_ip, timeout_seconds=budget, who=f"pod {self.ns}/{self.name}")

    async def _terminate(self, obj: Obj | None) -> None:
        self.stopping = True
        grace = float((obj or {}).get("metadata", {}).get("deletionGracePeriodSeconds") or 0) if obj else 0.0
        grace = max(0.0, grace - await self._leave_services(grace))
        await self._stop_all(obj, grace)
        await self.k.release(self.uid, [c.cid for c in self.ctrs.values() if c.cid])
        if obj is not None:
            await self._write(obj)
        # Volumes are released before the final DELETE, as kube's status manager waits for
        # PodResourcesAreReclaimed (volumes unmounted) before it deletes the pod object.
        remove_pod_dir(self.dir)
        if obj is not None:
            opts = {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}}
            try:
                await self.k.client.delete("v1/pods", self.ns, self.name, options=opts)
            except ApiStatusError as err:
                if not (err.not_found or err.code == 409):
                    log.warning("pod %s/%s: delete failed: %s", self.ns, self.name, err)
        self.finished = True

    # -- status ---------------------------------------------------------------------------------------
    async def _write(self, obj: Obj) -> float:
        now = time.time()
        status = pod_status(
            obj,
            [self.ctrs[n] for n in self.order],
            [self.ctrs[n] for n in self.inits],
            host_ip=self.k.node.ip,
            pod_ip=self.pod_ip,
            since=self.since,
            stopping=self.stopping,
            sandbox_ready=self.sandbox,
            now=now,
        )
        if status == obj.get("status") or status == self.written:
            return RETRY_SECONDS
        meta = obj["metadata"]
        rv = str(meta.get("resourceVersion"))
        base = self.base[1] if self.base is not None and self.base[0] == rv else obj
        try:
            answer = await self.k.client.update(
                "v1/pods", self.ns, base | {"status": status}, subresource="status"
            )
        except ApiStatusError as err:
            return 1.0 if not err.not_found else RETRY_SECONDS
        except Exception:
            log.exception("pod %s/%s: status write failed", self.ns, self.name)
            return 1.0
        self.written, self.base = status, (rv, answer)
        return RETRY_SECONDS

    # -- restart of the kubelet -----------------------------------------------------------------------
    def _save(self) -> None:
        save_record(self.dir / "record.json", self.since, self.pod_ip, self.netns, self.ctrs)

    async def _adopt(self) -> None:
        rec = load_record(self.dir / "record.json")
        obj = self.obj()
        if rec is None or obj is None:
            return
        self.since, self.pod_ip, self.netns = float(rec["since"]), str(rec["pod_ip"]), rec.get("netns")
        self.etc = (self.dir / "etc" / "hosts", self.dir / "etc" / "resolv.conf")
        self.sandbox = bool(self.pod_ip)
        ready = {
            s.get("name"): s.get("ready") for s in (obj.get("status") or {}).get("containerStatuses") or []
        }
        for n, r in (rec.get("ctrs") or {}).items():
            c = self.ctrs.get(n)
            if c is None:
                continue
            restore(c, r)
            if not c.cid or c.done:
                continue
            try:
                state = await self.k.runtime.state(ContainerId(c.cid))
            except ContainerRuntimeError:
                continue
            c.started_at = r["started_at"] if state.status == "running" else None
            c.ready = bool(ready.get(n)) and c.started_at is not None
            self._watch(obj, c, self._spec_of(obj, n))  # a stopped one is reaped by its watcher at once
        log.info("pod %s/%s: adopted %s", self.ns, self.name, sorted(rec.get("ctrs") or {}))
