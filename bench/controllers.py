"""Controller figures: a large Deployment created and rolled by a real cluster process (printed, not asserted).

Run ``.venv/bin/python bench/controllers.py`` (``--quick`` for 100 replicas). It starts a cluster process with
the sim kubelet (``python -m ferry cluster up --detach --data-dir <tmp> --listen 127.0.0.1:0 --runtime sim --nodes 10``),
drives it over HTTPS with the admin token and the cluster's CA, and stops it with ``ferry cluster down``.

1. **scale-up**: a Deployment of 1,000 replicas (RollingUpdate 25%/25%) whose pods start at once and are
   ready 1 s after they start (``sim.ferry.dev/start-after-ms: 0``, ``sim.ferry.dev/ready-after-ms:
   1000`` in the template). The figure is the time from the create until the Deployment reports every
   replica available (observedGeneration current, available == updated == replicas).
2. **rollout**: the template changes (a new image). The figure is the time until the rollout is complete
   (observedGeneration current, updated == available == replicas, Progressing/NewReplicaSetAvailable),
   against the floor the rolling-update arithmetic sets: the number of waves of new pods that maxSurge
   and maxUnavailable allow (computed with the Deployment controller's rules, every controller acting
   instantly), each wave waiting the pods' 1 s readiness.

Throughout, the bench watches the namespace's pods (list, then watch from its resourceVersion) and counts
pods created (ADDED) and deleted (DELETED) per second and the most pods the cluster held at once. A
separate **prober process** does one GET (the Deployment) and one small write (a merge patch of a
ConfigMap) every 50 ms; their latencies during each phase give the API p99 under controller load. Server
CPU seconds and RSS (current and peak) are read from ``/proc``.

``--profile-server FILE`` runs the server in the foreground under ``cProfile`` (thread CPU time, as in
``bench/apiserver.py``), writes the profile to FILE and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import msgspec
from apiserver import (
    PROFILE_RUNNER,
    Client,
    Report,
    Server,
    await_server,
    ferry,
    ms,
    percentile,
    print_profile,
    stop_server,
)

NAMESPACE = "bench-controllers"
NAME = "web"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
PROBE_CM = f"/api/v1/namespaces/{NAMESPACE}/configmaps/probe"


# -- parameters ----------------------------------------------------------------------------------------
@dataclass
class Params:
    replicas: int = 1_000
    nodes: int = 10
    ready_after_ms: int = 1_000
    max_surge: str = "25%"
    max_unavailable: str = "25%"
    probe_interval: float = 0.050
    phase_timeout: float = 1_800.0

    @classmethod
    def quick(cls) -> Params:
        return cls(replicas=100)


# -- the rolling-update floor --------------------------------------------------------------------------
def resolve(value: str | int, replicas: int, round_up: bool) -> int:
    """An int-or-percent of ``replicas`` as kube resolves it (surge rounds up, unavailable down)."""
    if isinstance(value, int):
        return value
    if value.endswith("%"):
        exact = int(value[:-1]) * replicas / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def rollout_waves(replicas: int, max_surge: str | int, max_unavailable: str | int) -> tuple[int, int, int]:
    """(waves, surge, unavailable): how many rounds of new pods becoming ready a RollingUpdate from a fully
    available old ReplicaSet needs, if every controller acted instantly between rounds.

    Each round applies the Deployment controller's two steps until neither moves: scale the new RS up to
    ``replicas + maxSurge - all pods`` (capped at ``replicas``); scale the old RS down by
    ``all pods - (replicas - maxUnavailable) - unavailable new pods``. Then all new pods become ready.
    """
    surge = resolve(max_surge, replicas, True)
    unavailable = resolve(max_unavailable, replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    old, new, new_ready, waves = replicas, 0, 0, 0
    while True:
        while True:
            before = (old, new)
            new += max(0, min(replicas + surge - (old + new), replicas - new))
            scale_down = (old + new) - (replicas - unavailable) - (new - new_ready)
            old -= max(0, min(old, scale_down))
            if (old, new) == before:
                break
        if old == 0 and new_ready == replicas:
            return waves, surge, unavailable
        if new == new_ready:
            raise RuntimeError(f"no progress possible: old {old}, new {new}")
        waves += 1
        new_ready = new


# -- objects -------------------------------------------------------------------------------------------
def deployment(p: Params) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "labels": {"app": NAME}},
        "spec": {
            "replicas": p.replicas,
            "selector": {"matchLabels": {"app": NAME}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": p.max_surge, "maxUnavailable": p.max_unavailable},
            },
            "template": {
                "metadata": {
                    "labels": {"app": NAME},
                    "annotations": {
                        "sim.ferry.dev/start-after-ms": "0",
                        "sim.ferry.dev/ready-after-ms": str(p.ready_after_ms),
                    },
                },
                "spec": {
                    "containers": [
                        {
                            "name": NAME,
                            "image": "registry.local/web:1.0",
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ]
                },
            },
        },
    }


def rollout_complete(dep: dict[str, Any], replicas: int) -> bool:
    st = dep.get("status") or {}
    progressing = next((c for c in st.get("conditions") or [] if c.get("type") == "Progressing"), {})
    return (
        st.get("observedGeneration", 0) >= dep["metadata"]["generation"]
        and st.get("updatedReplicas") == st.get("availableReplicas") == st.get("replicas") == replicas
        and progressing.get("reason") == "NewReplicaSetAvailable"
    )


def available(dep: dict[str, Any], replicas: int) -> bool:
    st = dep.get("status") or {}
    return (
        st.get("observedGeneration", 0) >= dep["metadata"]["generation"]
        and st.get("updatedReplicas") == st.get("availableReplicas") == replicas
    )


# -- the server ----------------------------------------------------------------------------------------
def start_server(data_dir: Path, nodes: int, profile: Path | None) -> Server:
    """``ferry cluster up`` with the sim kubelet on ``nodes`` nodes: detached, or in the foreground under
    cProfile (as ``bench/apiserver.py`` does) with the controllers in the server's process, so that one
    profile covers both."""
    args = ["cluster", "up", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0", "--runtime", "sim"]
    args += ["--nodes", str(nodes)]
    proc: subprocess.Popen[bytes] | None = None
    if profile is None:
        ferry(*args[:2], "--detach", *args[2:])
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        with open(data_dir / "cluster.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", PROFILE_RUNNER, str(profile), *args, "--controllers-in-process"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
    return await_server(data_dir, proc, profile)


def _status_mb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb(server: Server) -> float:
    return _status_mb(server.pid, "VmHWM:")


def controller_manager_pid(server: Server) -> int | None:
    """The server's controller-manager child (``ferry.cluster.controllers.process``), if it has one."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == server.pid and b"ferry.cluster.controllers.process" in cmd:
            return int(entry)
    return None


def cm_cpu_seconds(server: Server) -> float:
    pid = controller_manager_pid(server)
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the pod watch -------------------------------------------------------------------------------------
class _Meta(msgspec.Struct):
    uid: str = ""  # BOOKMARK and ERROR objects have none
    resourceVersion: str = ""
    deletionTimestamp: str | None = None


class _Spec(msgspec.Struct):
    nodeName: str | None = None


class _Obj(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)
    spec: _Spec | None = None
    code: int | None = None  # an ERROR event's Status


class _Event(msgspec.Struct):
    type: str
    object: _Obj


class _ListMeta(msgspec.Struct):
    resourceVersion: str


class _List(msgspec.Struct):
    metadata: _ListMeta
    items: list[_Obj]


@dataclass
class PodWatch:
    """The namespace's pods as list+watch shows them: counts over time (decoded with msgspec, only the
    fields needed, so that the bench's own CPU stays small)."""

    client: Client
    pods: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # uid -> (terminating, bound)
    added: list[float] = field(default_factory=list)  # times of ADDED events
    deleted: list[float] = field(default_factory=list)  # times of DELETED events
    max_held: int = 0
    max_active: int = 0
    max_pending: int = 0
    events: int = 0
    relists: int = 0
    error: str = ""
    active: int = 0  # pods not being deleted
    pending: int = 0  # of those, not yet bound to a node

    def counts(self) -> tuple[int, int, int]:
        """(pods, not being deleted, of those not yet bound)."""
        return len(self.pods), self.active, self.pending

    def _put(self, uid: str, state: tuple[bool, bool] | None) -> None:
        """Set (or with None, drop) a pod's (terminating, bound) state, keeping the counters."""
        old = self.pods.pop(uid, None) if state is None else self.pods.get(uid)
        for st, sign in ((old, -1), (state, 1)):
            if st is not None and not st[0]:
                self.active += sign
                self.pending += sign * (not st[1])
        if state is not None:
            self.pods[uid] = state
        self.max_held = max(self.max_held, len(self.pods))
        self.max_active = max(self.max_active, self.active)
        self.max_pending = max(self.max_pending, self.pending)

    @staticmethod
    def _state(obj: _Obj) -> tuple[bool, bool]:
        return obj.metadata.deletionTimestamp is not None, bool(obj.spec and obj.spec.nodeName)

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # reported in the table
            self.error = f"{type(e).__name__}: {e}"

    async def _run(self) -> None:
        event_decoder = msgspec.json.Decoder(_Event)
        rv = ""
        while True:
            if not rv:
                lst = msgspec.json.decode(await self.client.must("GET", PODS), type=_List)
                self.pods, self.active, self.pending = {}, 0, 0
                for o in lst.items:
                    self._put(o.metadata.uid, self._state(o))
                self.relists += 1
                rv = lst.metadata.resourceVersion
            url = f"{self.client.base}{PODS}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}"
            async with self.client.session.get(url, headers=self.client.headers) as resp:
                if resp.status == 410:
                    rv = ""
                    continue
                if resp.status != 200:
                    raise RuntimeError(f"watch -> {resp.status}: {(await resp.read())[:300]!r}")
                buf = b""
                async for chunk in resp.content.iter_any():
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    now = time.monotonic()
                    for line in lines:
                        ev = event_decoder.decode(line)
                        if ev.type == "ERROR":
                            if ev.object.code == 410:
                                rv = ""
                                break
                            raise RuntimeError(f"watch ERROR event: {line[:300]!r}")
                        rv = ev.object.metadata.resourceVersion
                        if ev.type == "BOOKMARK":
                            continue
                        self.events += 1
                        uid = ev.object.metadata.uid
                        if ev.type == "DELETED":
                            if uid in self.pods:
                                self.deleted.append(now)
                            self._put(uid, None)
                        else:
                            if uid not in self.pods:
                                self.added.append(now)
                            self._put(uid, self._state(ev.object))
                    if not rv:
                        break


# -- the prober process --------------------------------------------------------------------------------
def prober(url: str, token: str, ca: str, interval: float, stop: MpEvent, out: Connection) -> None:
    """Every ``interval`` s: GET the Deployment, then merge-patch the probe ConfigMap. Sends back
    ``[(start monotonic, "get"|"write", seconds, status)]`` once ``stop`` is set."""
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    samples: list[tuple[float, str, float, int]] = []
    conn: http.client.HTTPSConnection | None = None
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(method: str, path: str, body: bytes | None = None, ctype: str = "") -> tuple[float, float, int]:
        nonlocal conn
        t0 = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPSConnection(host.hostname or "", host.port, context=ctx, timeout=60)
            conn.request(
                method, path, body=body, headers=dict(headers, **({"Content-Type": ctype} if ctype else {}))
            )
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            conn = None
            status = 0
        return t0, time.monotonic() - t0, status

    try:
        n = 0
        tick = time.monotonic()
        while not stop.is_set():
            t0, dt, st = call("GET", f"{DEPLOYMENTS}/{NAME}")
            samples.append((t0, "get", dt, st))
            n += 1
            body = json.dumps({"data": {"n": str(n)}}).encode()
            t0, dt, st = call("PATCH", PROBE_CM, body, "application/merge-patch+json")
            samples.append((t0, "write", dt, st))
            tick = max(tick + interval, time.monotonic())  # no catch-up burst after a slow answer
            time.sleep(max(0.0, tick - time.monotonic()))
    finally:
        out.send(samples)
        if conn is not None:
            conn.close()


# -- phases --------------------------------------------------------------------------------------------
@dataclass
class Window:
    name: str
    t0: float
    t1: float = 0.0
    server_cpu: float = 0.0
    cm_cpu: float = 0.0  # the controller-manager child process (0 when the controllers run in-process)
    client_cpu: float = 0.0
    load: float = 0.0


class Phase:
    def __init__(self, server: Server, name: str) -> None:
        self.server, self.w = server, Window(name, time.monotonic())

    def __enter__(self) -> Window:
        self.cpu0, self.client0 = self.server.cpu_seconds(), time.process_time()
        self.cm0 = cm_cpu_seconds(self.server)
        self.w.t0 = time.monotonic()
        return self.w

    def __exit__(self, *exc: object) -> None:
        self.w.t1 = time.monotonic()
        self.w.server_cpu = self.server.cpu_seconds() - self.cpu0
        self.w.cm_cpu = cm_cpu_seconds(self.server) - self.cm0
        self.w.client_cpu = time.process_time() - self.client0
        self.w.load = os.getloadavg()[0]


async def wait_deployment(
    client: Client, watch: PodWatch, p: Params, done: Any, label: str, t0: float
) -> dict[str, Any]:
    """Poll the Deployment every 100 ms until ``done(dep, replicas)``; progress every 5 s."""
    next_print = t0 + 5
    while True:
        dep = json.loads(await client.must("GET", f"{DEPLOYMENTS}/{NAME}"))
        now = time.monotonic()
        if done(dep, p.replicas):
            return dep
        if watch.error:
            raise RuntimeError(f"the pod watch failed: {watch.error}")
        if now >= next_print:
            st = dep.get("status") or {}
            held, active, pending = watch.counts()
            print(
                f"  [{label} {now - t0:5.0f} s] replicas {st.get('replicas', 0)}, updated "
                f"{st.get('updatedReplicas', 0)}, available {st.get('availableReplicas', 0)}; pods held {held} "
                f"({active} not terminating, {pending} not bound); {len(watch.added)} created, "
                f"{len(watch.deleted)} deleted so far; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            next_print = now + 5
        if now - t0 > p.phase_timeout:
            raise RuntimeError(f"{label}: not done after {p.phase_timeout:.0f} s: {dep.get('status')}")
        await asyncio.sleep(0.1)


async def strategic_patch(client: Client, path: str, patch: dict[str, Any]) -> None:
    """What ``kubectl set image`` sends."""
    headers = dict(client.headers, **{"Content-Type": "application/strategic-merge-patch+json"})
    async with client.session.patch(client.base + path, data=json.dumps(patch), headers=headers) as resp:
        if resp.status != 200:
            raise RuntimeError(f"PATCH {path} -> {resp.status}: {(await resp.read())[:300]!r}")


def rate_figures(times: list[float], w: Window) -> tuple[int, float, int]:
    """(count in the window, per second over the window, busiest 1-s bucket)."""
    inside = [t for t in times if w.t0 <= t <= w.t1]
    buckets: dict[int, int] = {}
    for t in inside:
        buckets[int(t - w.t0)] = buckets.get(int(t - w.t0), 0) + 1
    return len(inside), len(inside) / max(1e-9, w.t1 - w.t0), max(buckets.values(), default=0)


def latency_rows(report: Report, phase: str, samples: list[tuple[float, str, float, int]], w: Window) -> None:
    inside = [s for s in samples if w.t0 <= s[0] <= w.t1]
    # A GET of the Deployment before it exists answers 404: an answer all the same.
    failed = [s for s in inside if not (200 <= s[3] < 300 or (s[1] == "get" and s[3] == 404))]
    everything = sorted(s[2] for s in inside)
    p99 = percentile(everything, 99)
    report.data[f"{phase}_api"] = {"requests": len(inside), "failed": len(failed), "p99_ms": p99 * 1000}
    for kind in ("get", "write"):
        lat = sorted(s[2] for s in inside if s[1] == kind)
        report.data[f"{phase}_api"][kind] = {
            "count": len(lat),
            "p50_ms": percentile(lat, 50) * 1000,
            "p99_ms": percentile(lat, 99) * 1000,
            "max_ms": (lat[-1] if lat else float("nan")) * 1000,
        }
        what = "GET Deployment" if kind == "get" else "PATCH ConfigMap"
        report.add(
            phase,
            f"API {what} ({len(lat)})",
            f"p50 {ms(percentile(lat, 50))}, p99 {ms(percentile(lat, 99))}, "
            f"max {ms(lat[-1] if lat else float('nan'))}",
        )
    report.add(
        phase,
        "API p99, all probe requests",
        ms(p99) + (f"; {len(failed)} failed" if failed else ""),
        "≤ 1 s",
        p99 <= 1.0 and not failed,
    )


def cpu_row(report: Report, server: Server, w: Window) -> None:
    wall = w.t1 - w.t0
    report.add(
        w.name,
        "CPU, RSS",
        f"API server {w.server_cpu:.1f} s CPU ({w.server_cpu / wall:.0%} of a core), controller manager "
        f"{w.cm_cpu:.1f} s ({w.cm_cpu / wall:.0%}) over {wall:.1f} s, bench "
        f"{w.client_cpu:.1f} s; server RSS {server.rss_mb():.0f} MB (peak {peak_rss_mb(server):.0f} MB), "
        f"controller manager RSS {_status_mb(controller_manager_pid(server) or 0, 'VmRSS:'):.0f} MB; "
        f"load avg {w.load:.1f}",
    )


async def bench(server: Server, p: Params, report: Report) -> None:
    client = Client(server, 4)
    watch = PodWatch(Client(server, 1))
    watch_task: asyncio.Task[None] | None = None
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    parent, child = ctx.Pipe(duplex=False)
    probe = ctx.Process(
        target=prober,
        args=(server.url, server.token, str(server.ca), p.probe_interval, stop, child),
        daemon=True,
    )
    waves, surge, unavailable = rollout_waves(p.replicas, p.max_surge, p.max_unavailable)
    floor = waves * p.ready_after_ms / 1000
    try:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        await client.must("POST", "/api/v1/namespaces", ns)
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}, "data": {"n": "0"}}
        await client.must("POST", f"/api/v1/namespaces/{NAMESPACE}/configmaps", cm)
        watch_task = asyncio.create_task(watch.run())
        probe.start()
        await asyncio.sleep(1.0)  # the prober imports and connects

        # -- scale-up ----------------------------------------------------------------------------------
        print(
            f"\n[scale-up] Deployment {NAME}: {p.replicas} replicas, ready {p.ready_after_ms} ms after start, "
            f"{p.nodes} sim nodes",
            flush=True,
        )
        with Phase(server, "scale-up") as up:
            await client.must("POST", DEPLOYMENTS, deployment(p))
            await wait_deployment(client, watch, p, available, "scale-up", up.t0)
        took = up.t1 - up.t0
        report.data["scale_up"] = {
            "seconds": took,
            "server_cpu_s": up.server_cpu,
            "cm_cpu_s": up.cm_cpu,
            "window": asdict(up),
        }
        report.add(
            "scale-up",
            f"{p.replicas} replicas available",
            f"{took:.1f} s after the create (readiness floor {p.ready_after_ms / 1000:.0f} s)",
        )
        created, per_s, peak = rate_figures(watch.added, up)
        report.add("scale-up", "pods created", f"{created} ({per_s:,.0f}/s; busiest second {peak})")
        cpu_row(report, server, up)

        # -- rollout -----------------------------------------------------------------------------------
        print(
            f"\n[rollout] new image; maxSurge {p.max_surge} ({surge}), maxUnavailable {p.max_unavailable} "
            f"({unavailable}) -> {waves} waves, floor {floor:.0f} s",
            flush=True,
        )
        patch = {
            "spec": {
                "template": {"spec": {"containers": [{"name": NAME, "image": "registry.local/web:2.0"}]}}
            }
        }
        with Phase(server, "rollout") as ro:
            await strategic_patch(client, f"{DEPLOYMENTS}/{NAME}", patch)
            await wait_deployment(client, watch, p, rollout_complete, "rollout", ro.t0)
        took = ro.t1 - ro.t0
        created, c_rate, c_peak = rate_figures(watch.added, ro)
        deleted, d_rate, d_peak = rate_figures(watch.deleted, ro)
        report.data["rollout"] = {
            "seconds": took,
            "waves": waves,
            "surge": surge,
            "unavailable": unavailable,
            "floor_s": floor,
            "created": created,
            "deleted": deleted,
            "created_per_s": c_rate,
            "deleted_per_s": d_rate,
            "server_cpu_s": ro.server_cpu,
            "cm_cpu_s": ro.cm_cpu,
            "window": asdict(ro),
        }
        report.add("rollout", "waves (maxSurge, maxUnavailable)", f"{waves} ({surge}, {unavailable})")
        report.add(
            "rollout",
            "rollout complete",
            f"{took:.1f} s after the change; floor {floor:.0f} s ({waves} waves x {p.ready_after_ms / 1000:.0f} s), "
            f"{took / floor:.1f}x the floor",
        )
        report.add("rollout", "pods created", f"{created} ({c_rate:,.0f}/s; busiest second {c_peak})")
        report.add("rollout", "pods deleted", f"{deleted} ({d_rate:,.0f}/s; busiest second {d_peak})")
        cpu_row(report, server, ro)

        # Terminating old pods may outlive the "complete" status by a little: wait for them (not timed).
        t_settle = time.monotonic()
        while len(watch.pods) > p.replicas and time.monotonic() - t_settle < 120:
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        samples: list[tuple[float, str, float, int]] = []
        if probe.pid is not None:
            if await asyncio.to_thread(parent.poll, 120):
                samples = parent.recv()
            probe.join(timeout=30)
            if probe.is_alive():
                probe.kill()
        if watch_task is not None:
            watch_task.cancel()
            await asyncio.gather(watch_task, return_exceptions=True)
        await watch.client.close()
        await client.close()

    for key, phase in (("scale_up", "scale-up"), ("rollout", "rollout")):
        w = Window(**report.data[key]["window"])
        latency_rows(report, phase, samples, w)
    report.data["pods"] = {
        "max_held": watch.max_held,
        "max_not_terminating": watch.max_active,
        "max_not_bound": watch.max_pending,
        "events": watch.events,
        "lists": watch.relists,
    }
    capacity = 110 * p.nodes
    big_enough = p.replicas + surge >= 10_000  # only a run this large can show the target
    report.add(
        "whole run",
        "most pods held at once",
        f"{watch.max_held:,} ({watch.max_active:,} not terminating; at most {watch.max_pending} not yet bound "
        f"to a node; {p.nodes} nodes x 110 = {capacity:,} pod slots)",
        "10,000 on 2 cores",
        watch.max_held >= 10_000 if big_enough else None,
    )
    report.add("whole run", "pod watch", f"{watch.events:,} events, {watch.relists} list(s)")
    report.add("whole run", "server RSS", f"{server.rss_mb():.0f} MB now, peak {peak_rss_mb(server):.0f} MB")


# -- main ----------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="100 replicas instead of 1,000")
    ap.add_argument("--replicas", type=int, help="replicas of the Deployment")
    ap.add_argument("--nodes", type=int, help="sim nodes (110 pods each)")
    ap.add_argument("--ready-after-ms", type=int, help="pods are ready this long after they start")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument(
        "--profile-server", type=Path, help="run the server under cProfile, write the profile here"
    )
    ap.add_argument("--keep", action="store_true", help="keep the data dir (printed) after the run")
    args = ap.parse_args()
    p = Params.quick() if args.quick else Params()
    for name in ("replicas", "nodes", "ready_after_ms"):
        if getattr(args, name) is not None:
            setattr(p, name, getattr(args, name))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}")
    print(f"parameters: {p}")
    tmp = Path(tempfile.mkdtemp(prefix="ferry-bench-controllers-"))
    profile = args.profile_server.resolve() if args.profile_server else None
    server = start_server(tmp / "cluster", p.nodes, profile)
    print(f"server pid {server.pid} on {server.url}" + (f" (under cProfile -> {profile})" if profile else ""))
    report = Report()
    report.data["params"] = asdict(p)
    t0 = time.monotonic()
    try:
        asyncio.run(bench(server, p, report))
    finally:
        print(f"\nstopping the server ({time.monotonic() - t0:.0f} s after the start)", flush=True)
        stop_server(server)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"data dir kept: {tmp}")
    order = {"scale-up": 0, "rollout": 1, "whole run": 2}
    report.rows.sort(key=lambda r: order.get(r.phase, 3))
    print("\n" + report.table())
    if args.json:
        args.json.write_text(json.dumps(report.data, indent=2) + "\n")
    if profile is not None:
        print_profile(profile)


if __name__ == "__main__":
    main()
