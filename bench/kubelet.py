"""Pod start latency, pods/s and service-proxy throughput on the process kubelet (printed, not asserted).

``.venv/bin/python bench/kubelet.py`` (as root; ``--quick`` for a smoke run) starts its own process-runtime
cluster (``python -m ferry cluster up --runtime process --listen 127.0.0.1:0``, isolated like the e2e fixture:
``FERRY_KUBELET_PREFIX``, a random ``FERRY_KUBELET_POD_CIDR`` and ``--service-cidr``), builds demo-api
(``examples/services/demo-api``, Node buildpack on the host base, ``ferry.build.build_image``) and pushes it to
the embedded registry. Every pod runs demo-api with the chart's container settings (port 3000, readiness and
liveness ``httpGet /health`` every 5 s, requests and limits). Then:

1. **first pod**: one pod, which pulls the image: its create-to-Ready is reported on its own;
2. **latency**: ``--pods`` pods (default 30), ``--batch`` at a time (default 1): each batch is created and the
   next one starts when all are Ready. A watch on the namespace records, in this process's monotonic clock,
   when the API first shows each pod scheduled (``spec.nodeName``), its containers started
   (``containerStatuses[].started``) and Ready=True; latencies are from the moment the create returned (kube's
   own timestamps are second-granular). p50/p90/p99/max of each step;
3. **scale**: a Deployment scaled 0 → ``--replicas`` (default 100): time from the scale's PATCH to every
   pod Running (containers started) and to every pod Ready; pods/s; memory used; CPU seconds per process group.
   These pods request less CPU than the chart's 50m (1.5 CPUs in all), or only 40 would fit a 2-CPU node;
   an Unschedulable pod stops the bench with the scheduler's message rather than a time-out;
4. **throughput**: an asyncio load generator (``--concurrency`` keep-alive HTTP/1.1 connections, ``GET /``
   for ``--duration`` s each) against (a) one pod's IP:3000, (b) the Service's ClusterIP with that one
   backend (the ferry service proxy in between), (c) the same Service with ``--backends`` backends. Requests/s,
   p50/p99 latency, the ratio proxy/direct, and the CPU seconds the busiest processes used meanwhile.

Deleted pods that are still there after 60 s (a kubelet bug, see docs/benchmarks.md) are reported and skipped.
At the end ``ferry cluster down``, and a check that nothing is left (netns, links, cgroups, mounts, containers);
the temp dir is kept (its ``cluster.log``) when something failed or with ``--keep``.
The Kubernetes anchor is sig-scalability's pod startup SLO: 5 s p99 from creation to all containers started, as
observed through a watch, for stateless pods without image pulls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ferry.build import BuildRequest, build_image
from ferry.cluster.kubelet.runtime.cgroups import cgroup_v1_hierarchies
from ferry.cluster.kubelet.runtime.rootfs import mounts_under
from ferry.registry.client import RegistryClient

DEMO_API = Path(__file__).resolve().parents[1] / "examples" / "services" / "demo-api"
NS = "bench-kubelet"
OURS: list[Ours] = []  # this run's cluster, set in main()
JSON = "application/json"


# -- figures (pure) ------------------------------------------------------------------------------------
def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), -(-len(sorted_values) * q // 100)))
    return sorted_values[int(rank) - 1]


def summary(values: list[float]) -> dict[str, float]:
    """n, p50, p90, p99 and max of ``values`` (seconds), nearest rank."""
    s = sorted(values)
    return {
        "n": len(s),
        "p50": percentile(s, 50),
        "p90": percentile(s, 90),
        "p99": percentile(s, 99),
        "max": s[-1] if s else float("nan"),
    }


def fmt(stats: dict[str, float]) -> str:
    return ", ".join(f"{k} {stats[k] * 1000:,.0f} ms" for k in ("p50", "p90", "p99", "max"))


def milestones(pod: dict[str, Any]) -> set[str]:
    """What ``pod`` shows: ``scheduled`` (a node), ``started`` (every container started and running),
    ``ready`` (condition Ready=True)."""
    out: set[str] = set()
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if spec.get("nodeName"):
        out.add("scheduled")
    statuses = status.get("containerStatuses") or []
    want = len(spec.get("containers") or [])
    if (
        want
        and len(statuses) == want
        and all(s.get("started") and "running" in (s.get("state") or {}) for s in statuses)
    ):
        out.add("started")
    if any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []):
        out.add("ready")
    return out


def unschedulable(pod: dict[str, Any]) -> str:
    """The scheduler's message if ``pod`` is Unschedulable (PodScheduled=False), else ""."""
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable":
            return f"{pod['metadata']['name']}: {c.get('message', 'Unschedulable')}"
    return ""


def parse_head(head: bytes) -> tuple[int, int | None, bool]:
    """An HTTP/1.1 response head → (status, Content-Length or None, chunked)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"bad status line {lines[0]!r}")
    length, chunked = None, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    return int(parts[1]), length, chunked


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response from a keep-alive connection: (status, body)."""
    status, length, chunked = parse_head(await reader.readuntil(b"\r\n\r\n"))
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, await reader.readexactly(length or 0)


# -- the cluster ---------------------------------------------------------------------------------------
@dataclass
class Cluster:
    data: Path
    prefix: str
    proc: subprocess.Popen[bytes]
    log: Any
    registry: str = ""
    server: str = ""

    @classmethod
    def up(cls, tmp: Path) -> Cluster:
        data, prefix = tmp / "cluster", f"fb{uuid.uuid4().hex[:4]}"
        cidr = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24"
        service_cidr = f"10.{random.randint(100, 190)}.0.0/16"
        env = dict(os.environ, FERRY_KUBELET_PREFIX=prefix, FERRY_KUBELET_POD_CIDR=cidr)
        data.mkdir()
        log = open(data / "cluster.log", "wb")  # noqa: SIM115 - closed in down()
        cmd = [
            sys.executable,
            "-m",
            "ferry",
            "cluster",
            "up",
            "--data-dir",
            str(data),
            "--runtime",
            "process",
        ]
        cmd += ["--listen", "127.0.0.1:0", "--service-cidr", service_cidr]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        c = cls(data, prefix, proc, log)
        deadline = time.monotonic() + 90
        while not ((data / "cluster.json").exists() and (data / "admin.token").exists()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not start; see {data / 'cluster.log'}")
            time.sleep(0.2)
        state = json.loads((data / "cluster.json").read_text())
        c.registry, c.server = str(state["registry"]), str(state["server"])
        return c

    def down(self) -> list[str]:
        """``ferry cluster down``; what is left behind (should be nothing)."""
        done = subprocess.run(
            [sys.executable, "-m", "ferry", "cluster", "down", "--data-dir", str(self.data)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        left = [] if done.returncode == 0 else [f"cluster down exited {done.returncode}: {done.stderr}"]
        return left + self.leftovers()

    def leftovers(self) -> list[str]:
        found: list[str] = []
        ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()
        found += [f"netns {line.split()[0]}" for line in ns if line.startswith(self.prefix)]
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
        found += [f"link {ln.split(':')[1].strip()}" for ln in links.splitlines() if f" {self.prefix}" in ln]
        found += [f"cgroup {h / self.prefix}" for h in cgroup_v1_hierarchies() if (h / self.prefix).exists()]
        found += [f"mount {m}" for m in mounts_under(self.data)]
        runtime = self.data / "kubelet" / "runtime" / "containers"
        found += [f"container {d.name}" for d in runtime.iterdir()] if runtime.exists() else []
        return found


async def build_and_push(registry: str, cache: Path) -> str:
    request = BuildRequest(
        context=DEMO_API, version="1.0.0", revision="0" * 40, created="2026-01-01T00:00:00Z", cache_dir=cache
    )
    built = await build_image(request)
    async with RegistryClient(registry) as client:
        await client.push_image("bench/demo-api", "1.0.0", built.manifest, built.blobs)
    return f"{registry}/bench/demo-api:1.0.0"


def pod_template(image: str, labels: dict[str, str], cpu_request: str = "50m") -> dict[str, Any]:
    """demo-api's pod as the chart (examples/helm/demo-api) makes it, minus the ConfigMap. The chart requests
    50m CPU, so only 40 fit a 2-CPU node (the scheduler counts requests, as kube's): the scale phase asks less."""
    probe = {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3}
    container = {
        "name": "demo-api",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 3000, "protocol": "TCP"}],
        "env": [{"name": "PORT", "value": "3000"}],
        "readinessProbe": probe,
        "livenessProbe": dict(probe, initialDelaySeconds=10),
        "resources": {
            "requests": {"cpu": cpu_request, "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
    }
    return {"metadata": {"labels": labels}, "spec": {"containers": [container]}}


# -- the API -------------------------------------------------------------------------------------------
class Api:
    def __init__(self, cluster: Cluster) -> None:
        token = (cluster.data / "admin.token").read_text().strip()
        tls = ssl.create_default_context(cafile=str(cluster.data / "pki" / "ca.crt"))
        self.base = cluster.server
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=tls, limit=16),
            headers={"Authorization": f"Bearer {token}", "Accept": JSON},
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        )

    async def call(self, method: str, path: str, body: Any = None, ctype: str = JSON) -> Any:
        data = None if body is None else json.dumps(body)
        async with self.session.request(
            method, self.base + path, data=data, headers={"Content-Type": ctype}
        ) as r:
            text = await r.text()
            if r.status >= 400:
                raise RuntimeError(f"{method} {path}: {r.status} {text[:300]}")
            return json.loads(text) if text else None

    async def watch(self, path: str, rv: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        url = f"{self.base}{path}?watch=true&resourceVersion={rv}&allowWatchBookmarks=false"
        async with self.session.get(url) as r:
            async for line in r.content:
                if line.strip():
                    event = json.loads(line)
                    yield event["type"], event["object"]


class Tracker:
    """The first time (monotonic) each pod of the namespace showed each milestone, from a watch."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, float]] = {}
        self.pods: dict[str, dict[str, Any]] = {}
        self.changed = asyncio.Event()

    async def run(self, api: Api) -> None:
        """Watch the namespace's pods; when the stream ends or reports an error (410 Gone), list and watch anew."""
        path = f"/api/v1/namespaces/{NS}/pods"
        while True:
            listed = await api.call("GET", path)
            self.pods = {p["metadata"]["name"]: p for p in listed["items"]}
            for pod in listed["items"]:
                self.observe(pod, time.monotonic())
            async for kind, pod in api.watch(path, listed["metadata"]["resourceVersion"]):
                if kind == "ERROR":
                    break
                if kind == "DELETED":
                    self.pods.pop(pod["metadata"]["name"], None)
                else:
                    self.pods[pod["metadata"]["name"]] = pod
                    self.observe(pod, time.monotonic())
                self.changed.set()

    def observe(self, pod: dict[str, Any], now: float) -> None:
        marks = self.seen.setdefault(pod["metadata"]["name"], {})
        for m in milestones(pod):
            marks.setdefault(m, now)

    async def until(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {what}")
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except TimeoutError:
                pass


# -- phases --------------------------------------------------------------------------------------------
@dataclass
class Report:
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, phase: str, figure: str, value: str) -> None:
        self.rows.append((phase, figure, value))
        print(f"  {phase} | {figure}: {value}", flush=True)

    def table(self) -> str:
        widths = [max(len(r[i]) for r in self.rows) for i in range(3)]
        return "\n".join(
            " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in self.rows
        )


def load_avg() -> str:
    return "load avg {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


async def create_pods(api: Api, tracker: Tracker, image: str, names: list[str]) -> dict[str, float]:
    """Create ``names`` at once; wait until all are Ready; the monotonic time each create returned."""
    returned: dict[str, float] = {}

    async def one(name: str) -> None:
        body = {"apiVersion": "v1", "kind": "Pod", **pod_template(image, {"bench": "latency"})}
        body["metadata"]["name"] = name
        await api.call("POST", f"/api/v1/namespaces/{NS}/pods", body)
        returned[name] = time.monotonic()

    def ready() -> bool:
        if stuck := next(filter(None, (unschedulable(tracker.pods.get(n, {})) for n in names)), ""):
            raise RuntimeError(stuck)
        return all("ready" in tracker.seen.get(n, {}) for n in names)

    await asyncio.gather(*(one(n) for n in names))
    await tracker.until(ready, 120, f"{names} Ready")
    return returned


async def phase_latency(api: Api, tracker: Tracker, image: str, pods: int, batch: int, rep: Report) -> None:
    print(f"== first pod (pulls the image), {load_avg()}", flush=True)
    first = await create_pods(api, tracker, image, ["first"])
    marks = tracker.seen["first"]
    rep.add(
        "first pod",
        "create → Ready, with the image pull",
        f"{(marks['ready'] - first['first']) * 1000:,.0f} ms",
    )
    rep.data["first_pod_ready_s"] = marks["ready"] - first["first"]

    print(f"== latency: {pods} pods, {batch} at a time, {load_avg()}", flush=True)
    returned: dict[str, float] = {}
    names = [f"lat-{i:03d}" for i in range(pods)]
    for i in range(0, pods, batch):
        returned |= await create_pods(api, tracker, image, names[i : i + batch])
    steps: dict[str, list[float]] = {"scheduled": [], "started": [], "ready": [], "started→ready": []}
    for n in names:
        m = tracker.seen[n]
        for step in ("scheduled", "started", "ready"):
            steps[step].append(m[step] - returned[n])
        steps["started→ready"].append(m["ready"] - m["started"])
    for step, values in steps.items():
        label = step if "→" in step else f"create → {step}"
        stats = summary(values)
        rep.add("latency", label, fmt(stats))
        rep.data[f"latency_{step}"] = stats
    rep.add("latency", "machine", load_avg())
    await delete_all(api, tracker, "bench=latency", rep)


async def delete_all(api: Api, tracker: Tracker, selector: str, rep: Report) -> None:
    """Delete the pods of ``selector``; report how long until they are gone, or which are stuck after 60 s."""
    started = time.monotonic()
    await api.call("DELETE", f"/api/v1/namespaces/{NS}/pods?labelSelector={selector}")
    key, value = selector.split("=")

    def left() -> list[str]:
        return [n for n, p in tracker.pods.items() if p["metadata"].get("labels", {}).get(key) == value]

    try:
        await tracker.until(lambda: not left(), 60, f"pods {selector} gone")
        rep.add("cleanup", f"delete pods {selector} until gone", f"{time.monotonic() - started:.2f} s")
    except TimeoutError:
        rep.add("cleanup", f"delete pods {selector}", f"FAILED: still there after 60 s: {left()}")
        rep.data.setdefault("stuck_pods", []).extend(left())


def mem_available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def deployment(name: str, image: str, replicas: int, cpu_request: str = "50m") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": pod_template(image, labels, cpu_request),
        },
    }


async def scale(api: Api, name: str, replicas: int) -> float:
    patch = {"spec": {"replicas": replicas}}
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/{name}/scale"
    await api.call("PATCH", path, patch, "application/merge-patch+json")
    return time.monotonic()


def app_pods(tracker: Tracker, app: str) -> list[str]:
    return [n for n, p in tracker.pods.items() if p["metadata"].get("labels", {}).get("app") == app]


async def phase_scale(api: Api, tracker: Tracker, image: str, replicas: int, rep: Report) -> None:
    print(f"== scale 0 → {replicas}, {load_avg()}", flush=True)
    # requests: at most 1.5 CPUs in all, whatever the replicas (the node's 2 CPUs hold the other pods too)
    request = f"{max(1, min(50, 1500 // replicas))}m"
    await api.call(
        "POST", f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("scale", image, 0, request)
    )
    mem_before, cpu_before = mem_available_mb(), cpu_by_pid()
    t0 = await scale(api, "scale", replicas)

    def count() -> int:
        pods = [tracker.pods[n] for n in app_pods(tracker, "scale")]
        if stuck := next(filter(None, map(unschedulable, pods)), ""):
            raise RuntimeError(stuck)
        return sum(1 for p in pods if "ready" in tracker.seen.get(p["metadata"]["name"], {}))

    await tracker.until(lambda: count() >= replicas, 600, f"{replicas} Ready")
    mem_used = mem_before - mem_available_mb()
    cpu = busiest(cpu_before, cpu_by_pid(), OURS[0])
    pods = app_pods(tracker, "scale")
    for mark in ("scheduled", "started", "ready"):
        times = sorted(tracker.seen[n][mark] - t0 for n in pods)[:replicas]
        rep.add(
            "scale",
            f"all {replicas} {mark}",
            f"{times[-1]:.2f} s (first {times[0]:.2f} s, half {times[len(times) // 2]:.2f} s)",
        )
        rep.data[f"scale_all_{mark}_s"] = times[-1]
    rate = replicas / rep.data["scale_all_ready_s"]
    rep.add("scale", "pods/s to Ready", f"{rate:.1f}")
    rep.add("scale", "pods/s to Running", f"{replicas / rep.data['scale_all_started_s']:.1f}")
    rep.add(
        "scale",
        f"memory used at {replicas} Ready",
        f"{mem_used:,.0f} MB ({mem_used / replicas:.1f} MB per pod)",
    )
    rep.add("scale", "CPU s until all Ready", ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    rep.add("scale", "machine", load_avg())
    rep.data |= {"scale_pods_per_s": rate, "scale_mem_mb": mem_used, "scale_cpu_s": cpu}
    t1 = await scale(api, "scale", 0)
    try:
        await tracker.until(lambda: not app_pods(tracker, "scale"), 120, "scale pods gone")
        rep.add("scale", f"scale {replicas} → 0 until every pod is gone", f"{time.monotonic() - t1:.2f} s")
    except TimeoutError:
        left = app_pods(tracker, "scale")
        rep.add(
            "scale", f"scale {replicas} → 0", f"FAILED: {len(left)} pods still there after 120 s: {left[:3]}"
        )
        rep.data["scale_down_left"] = left


# -- load ----------------------------------------------------------------------------------------------
@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]


async def load(host: str, port: int, seconds: float, concurrency: int) -> Load:
    """``concurrency`` keep-alive connections sending ``GET /`` back to back for ``seconds``."""
    request = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: ferry-bench\r\n\r\n".encode()
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    end = start + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (t := time.perf_counter()) < end:
                writer.write(request)
                status, _ = await read_response(reader)
                latencies.append(time.perf_counter() - t)
                errors += status != 200
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Load(len(latencies), errors, time.perf_counter() - start, latencies)


def cpu_by_pid() -> dict[int, tuple[str, int, float, float]]:
    """Every process: pid → (comm, ppid, its CPU seconds, CPU seconds of the children it has reaped)."""
    out: dict[int, tuple[str, int, float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
            own, reaped = (int(rest[11]) + int(rest[12])) / tick, (int(rest[13]) + int(rest[14])) / tick
            out[int(d.name)] = (comm, int(rest[1]), own, reaped)
    return out


@dataclass
class Ours:
    """How to recognise this bench's cluster: its server pid, host prefix (pod cgroups) and data dir (shims)."""

    server: int
    prefix: str
    data: str


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def role(pid: int, procs: dict[int, tuple[str, int, float, float]], ours: Ours) -> str:
    """Who ``pid`` is: this bench, the ferry server process, its controller-manager child (kubelet, service
    proxy; with the runc and ip it ran) and what else that runs, a container shim, a pod's process (in a cgroup
    under the cluster's prefix), or another process."""
    if pid == os.getpid():
        return "bench (load generator)"
    if pid == ours.server:
        return "ferry server (API)"
    if f"/{ours.prefix}/" in _read(f"/proc/{pid}/cgroup"):
        return "pods"
    comm, ppid = procs[pid][:2]
    if "shim.py" in (cmd := _read(f"/proc/{pid}/cmdline")) and ours.data in cmd:
        return "container shims"
    seen = 0
    while ppid > 1 and seen < 20:
        if ppid == ours.server:
            return "controller-manager (kubelet, proxy)" if comm.startswith("python") else f"ferry's {comm}"
        ppid, seen = procs[ppid][1] if ppid in procs else 0, seen + 1
    return "other processes"


def busiest(
    before: dict[int, tuple[str, int, float, float]],
    after: dict[int, tuple[str, int, float, float]],
    ours: Ours,
) -> dict[str, float]:
    """CPU seconds per :func:`role` between two :func:`cpu_by_pid` snapshots, largest first. What this cluster's
    processes reaped (the kubelet's runc and ip runs) is its own line; other processes' reaped children are not
    counted (a test run's exit would be charged to its shell)."""
    by: dict[str, float] = {}
    for pid, (_, _, own, reaped) in after.items():
        name = role(pid, after, ours)
        then = before.get(pid, ("", 0, 0.0, 0.0))
        by[name] = by.get(name, 0.0) + own - then[2]
        if name != "other processes":
            by[f"{name}: reaped children"] = by.get(f"{name}: reaped children", 0.0) + reaped - then[3]
    return {k: v for k, v in sorted(by.items(), key=lambda kv: -kv[1]) if v >= 0.05}


async def measure(name: str, host: str, port: int, seconds: float, concurrency: int, rep: Report) -> float:
    await load(host, port, 1.0, concurrency)  # warm up: connections, proxy tables
    before = cpu_by_pid()
    result = await load(host, port, seconds, concurrency)
    cpu = busiest(before, cpu_by_pid(), OURS[0])
    rate = result.requests / result.seconds
    stats = summary(result.latencies)
    rep.add(
        "throughput",
        name,
        f"{rate:,.0f} req/s, p50 {stats['p50'] * 1000:.2f} ms, p99 {stats['p99'] * 1000:.2f} ms, "
        f"{result.errors} non-200",
    )
    rep.add(
        "throughput",
        "  CPU s meanwhile",
        ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()) + f"; {load_avg()}",
    )
    rep.data[f"throughput_{name}"] = {"rps": rate, **stats, "errors": result.errors, "cpu_s": cpu}
    return rate


async def phase_throughput(
    api: Api, tracker: Tracker, image: str, seconds: float, concurrency: int, backends: int, rep: Report
) -> None:
    print(f"== throughput, {concurrency} connections, {seconds:g} s each, {load_avg()}", flush=True)
    await api.call("POST", f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("tp", image, 1))
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "tp"},
        "spec": {"selector": {"app": "tp"}, "ports": [{"port": 80, "targetPort": 3000}]},
    }
    cluster_ip = (await api.call("POST", f"/api/v1/namespaces/{NS}/services", svc))["spec"]["clusterIP"]

    def ready(n: int) -> bool:
        return sum(1 for p in app_pods(tracker, "tp") if "ready" in tracker.seen.get(p, {})) >= n

    async def endpoints(n: int) -> None:
        path = f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices?labelSelector=kubernetes.io/service-name=tp"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            slices = (await api.call("GET", path))["items"]
            eps = [
                e
                for s in slices
                for e in s.get("endpoints") or []
                if (e.get("conditions") or {}).get("ready")
            ]
            if len(eps) >= n:
                await asyncio.sleep(1.0)  # the proxy's informer
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{n} ready endpoints of tp")

    await tracker.until(lambda: ready(1), 120, "tp Ready")
    await endpoints(1)
    pod_ip = tracker.pods[app_pods(tracker, "tp")[0]]["status"]["podIP"]
    direct = await measure("direct to the pod IP", pod_ip, 3000, seconds, concurrency, rep)
    proxied = await measure("ClusterIP, 1 backend", cluster_ip, 80, seconds, concurrency, rep)
    await scale(api, "tp", backends)
    await tracker.until(lambda: ready(backends), 120, f"{backends} tp Ready")
    await endpoints(backends)
    spread = await measure(f"ClusterIP, {backends} backends", cluster_ip, 80, seconds, concurrency, rep)
    rep.add("throughput", "proxy / direct (1 backend)", f"{proxied / direct:.2f}")
    rep.add("throughput", f"proxy {backends} backends / direct", f"{spread / direct:.2f}")
    rep.data |= {"proxy_direct_ratio": proxied / direct, "proxy_n_direct_ratio": spread / direct}


# -- main ----------------------------------------------------------------------------------------------
async def run(cluster: Cluster, tmp: Path, args: argparse.Namespace, rep: Report) -> None:
    started = time.monotonic()
    image = await build_and_push(cluster.registry, tmp / "bcache")
    rep.add("setup", "build + push demo-api", f"{time.monotonic() - started:.1f} s")
    api = Api(cluster)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                node = await api.call("GET", "/api/v1/nodes/ferry-node-1")
            except RuntimeError:
                node = {}
            conds = node.get("status", {}).get("conditions") or []
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("node Ready")
            await asyncio.sleep(0.5)
        await api.call(
            "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
        )
        tracker = Tracker()
        watch = asyncio.create_task(tracker.run(api))
        try:
            if "latency" in args.phases:
                await phase_latency(api, tracker, image, args.pods, args.batch, rep)
            if "scale" in args.phases:
                await phase_scale(api, tracker, image, args.replicas, rep)
            if "throughput" in args.phases:
                await phase_throughput(
                    api, tracker, image, args.duration, args.concurrency, args.backends, rep
                )
        finally:
            watch.cancel()
    finally:
        await api.session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=30, help="pods of the latency phase")
    parser.add_argument("--batch", type=int, default=1, help="pods created at once in the latency phase")
    parser.add_argument("--replicas", type=int, default=100, help="replicas of the scale phase")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per throughput measurement")
    parser.add_argument("--concurrency", type=int, default=32, help="connections of the load generator")
    parser.add_argument("--backends", type=int, default=4, help="backends of the multi-backend Service")
    parser.add_argument("--phases", default="latency,scale,throughput", help="comma-separated subset")
    parser.add_argument("--quick", action="store_true", help="5 pods, 10 replicas, 3 s per load")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (cluster.log)")
    args = parser.parse_args()
    if args.quick:
        args.pods, args.replicas, args.duration = 5, 10, 3.0
    if os.geteuid() != 0:
        sys.exit("the process kubelet needs root (runc, netns)")
    rep = Report()
    tmp = Path(tempfile.mkdtemp(prefix="ferry-bench-kubelet-"))
    print(f"== cluster up in {tmp}, {load_avg()}", flush=True)
    cluster = Cluster.up(tmp)
    OURS.append(Ours(cluster.proc.pid, cluster.prefix, str(cluster.data)))
    ok = False
    try:
        asyncio.run(run(cluster, tmp, args, rep))
        ok = True
    finally:
        left = cluster.down()
        print(f"== cluster down; left behind: {left or 'nothing'}", flush=True)
        rep.data["leftovers"] = left
        if ok and not left and not args.keep:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
        else:
            print(f"== kept {tmp} (cluster.log)", flush=True)
    print()
    print(rep.table())
    if args.json:
        args.json.write_text(json.dumps(rep.data, indent=2))
    if left:
        sys.exit(f"left behind: {left}")


if __name__ == "__main__":
    main()
