"""API server figures over real HTTPS, client and server in separate processes (printed, not asserted).

Run ``.venv/bin/python bench/apiserver.py`` (``--quick`` for a small smoke run). It starts a real
cluster process (``python -m ferry cluster up --detach --data-dir <tmp> --listen 127.0.0.1:0 --runtime sim``), drives
it with aiohttp clients using the admin token and the cluster's CA, and stops it with
``ferry cluster down``. Phases:

1. creates: 16 concurrent clients create ConfigMaps, then (separately) Pods; creates/s and per-request
   latency p50/p99/max;
2. list: 10,000 small Pods in a namespace of their own (created by 16 concurrent clients), then
   ``GET /api/v1/namespaces/<ns>/pods`` as full JSON, as the Table kubectl asks for, and kubectl's paged
   form (``limit=500`` + ``continue``, end to end);
3. watch fan-out: 1,000 concurrent watches on a namespace (``?watch=true&resourceVersion=<rv>``), then a
   1,000-write burst from a separate writer *process*; the figure is the time from the last write's
   acknowledgement until every watcher has received all 1,000 events (watchers count ``b"\\n"``).

Server and client CPU seconds are printed per phase so a reader can see which side was saturated (the
machine this runs on may have only 2 cores for server, clients and writer together).

``--profile-server FILE`` runs the server in the foreground under ``cProfile`` instead, timed by the
event-loop thread's CPU time (figures are then slower than normal), writes the profile to FILE and prints
the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import pstats
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

JSON = "application/json"
TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json"
)
NO_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=None)


# -- parameters ----------------------------------------------------------------------------------------
@dataclass
class Params:
    clients: int = 16
    creates: int = 5_000
    list_pods: int = 10_000
    list_runs: int = 10
    watchers: int = 1_000
    burst: int = 1_000
    writers: int = 16

    @classmethod
    def quick(cls) -> Params:
        return cls(creates=400, list_pods=1_000, list_runs=3, watchers=50, burst=100)


# -- figures -------------------------------------------------------------------------------------------
def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), -(-len(sorted_values) * q // 100)))
    return sorted_values[int(rank) - 1]


@dataclass
class Row:
    phase: str
    figure: str
    value: str
    target: str = ""
    verdict: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, phase: str, figure: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append(Row(phase, figure, value, target, verdict))
        print(f"  {figure}: {value}" + (f"   [target {target}: {verdict}]" if target else ""), flush=True)

    def table(self) -> str:
        head = ("phase", "figure", "value", "target", "")
        rows = [head, *((r.phase, r.figure, r.value, r.target, r.verdict) for r in self.rows)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# -- the server process --------------------------------------------------------------------------------
@dataclass
class Server:
    data_dir: Path
    url: str
    token: str
    ca: Path
    pid: int
    profile: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    def cpu_seconds(self) -> float:
        """utime + stime of the server process (all its threads), from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def ferry(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "ferry", *args], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ferry {' '.join(args)} exited {proc.returncode}: {proc.stdout}{proc.stderr}")
    return proc.stdout


# ``python -m ferry`` under cProfile, timed by the CPU time of the event-loop (main) thread rather than
# wall time: on a shared machine wall-clock profiles charge other processes' time to whatever function was
# running when the scheduler preempted the server.
PROFILE_RUNNER = """
import cProfile, runpy, sys, time
out = sys.argv[1]
sys.argv = ["ferry", *sys.argv[2:]]
prof = cProfile.Profile(time.thread_time)
prof.enable()
try:
    runpy.run_module("ferry", run_name="__main__")
except SystemExit:
    pass
finally:
    prof.disable()
    prof.dump_stats(out)
"""


def start_server(data_dir: Path, profile: Path | None) -> Server:
    proc: subprocess.Popen[bytes] | None = None
    if profile is None:
        ferry(
            "cluster",
            "up",
            "--detach",
            "--data-dir",
            str(data_dir),
            "--listen",
            "127.0.0.1:0",
            "--runtime",
            "sim",
        )
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        log = open(data_dir / "cluster.log", "ab")  # noqa: SIM115 - handed to the child
        cmd = [sys.executable, "-c", PROFILE_RUNNER, str(profile), "cluster", "up"]
        proc = subprocess.Popen(
            [*cmd, "--data-dir", str(data_dir), "--listen", "127.0.0.1:0", "--runtime", "sim"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
    return await_server(data_dir, proc, profile)


def await_server(data_dir: Path, proc: subprocess.Popen[bytes] | None, profile: Path | None) -> Server:
    """Wait until the cluster in ``data_dir`` (our child ``proc``, if any) serves; its connection details."""
    deadline = time.monotonic() + 60
    while True:
        state_file = data_dir / "cluster.json"
        if state_file.exists():
            state = json.loads(state_file.read_text())
            if proc is None or int(state["pid"]) == proc.pid:
                break
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"the profiled server exited {proc.returncode}; see {data_dir / 'cluster.log'}"
            )
        if time.monotonic() > deadline:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)
            raise RuntimeError(f"the server did not start within 60 s; see {data_dir / 'cluster.log'}")
        time.sleep(0.1)
    token = (data_dir / "admin.token").read_text().strip()
    return Server(
        data_dir, state["server"], token, data_dir / "pki" / "ca.crt", int(state["pid"]), profile, proc
    )


def stop_server(server: Server) -> None:
    ferry("cluster", "down", "--data-dir", str(server.data_dir), "--timeout", "120")
    if server.proc is not None:
        server.proc.wait(timeout=300)  # cProfile writes its file after run_cluster returns


def print_profile(path: Path, top: int = 35) -> None:
    stats = pstats.Stats(str(path))
    for key in ("tottime", "cumulative"):
        print(f"\n== server profile, top {top} by {key} ({path}) ==")
        stats.sort_stats(key).print_stats(top)


# -- clients -------------------------------------------------------------------------------------------
class Client:
    """An aiohttp session against the cluster; ``limit`` concurrent keep-alive connections."""

    def __init__(self, server: Server, limit: int) -> None:
        self.base = server.url
        self.headers = {"Authorization": f"Bearer {server.token}", "Accept": JSON}
        self.ssl = ssl.create_default_context(cafile=str(server.ca))
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit, ssl=self.ssl), timeout=NO_TIMEOUT
        )

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self, method: str, path: str, body: Any = None, accept: str = JSON
    ) -> tuple[int, bytes]:
        headers = dict(self.headers, Accept=accept)
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = JSON
        async with self.session.request(method, self.base + path, data=data, headers=headers) as resp:
            return resp.status, await resp.read()

    async def must(self, method: str, path: str, body: Any = None, accept: str = JSON) -> bytes:
        status, raw = await self.request(method, path, body, accept)
        if status >= 300:
            raise RuntimeError(f"{method} {path} -> {status}: {raw[:500]!r}")
        return raw


def configmap(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "data": {"greeting": "hello", "config.yaml": "listen: 8080\nlog: info\n"},
    }


def pod(name: str) -> dict[str, Any]:
    """A small, realistic Pod as a Deployment's ReplicaSet would create it (before server defaults)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"app": "web", "pod-template-hash": "5d8f7c9b6"},
            "annotations": {"kubectl.kubernetes.io/default-container": "web"},
        },
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "registry.local/web:1.2.3",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "LOG_LEVEL", "value": "info"}],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "64Mi"},
                        "limits": {"memory": "128Mi"},
                    },
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                }
            ]
        },
    }


async def create_namespace(client: Client, name: str) -> None:
    await client.must(
        "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )


async def create_many(
    client: Client, path: str, make: Callable[[str], dict[str, Any]], prefix: str, count: int, workers: int
) -> tuple[list[float], float, float]:
    """``workers`` concurrent loops create ``count`` objects; (latencies, first start, last ack)."""
    latencies: list[float] = []

    async def worker(w: int) -> None:
        for i in range(w, count, workers):
            body = make(f"{prefix}-{i}")
            t0 = time.monotonic()
            await client.must("POST", path, body)
            latencies.append(time.monotonic() - t0)

    t0 = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    return sorted(latencies), t0, time.monotonic()


class Phase:
    """Wall time and CPU seconds of the bench process and the server across one phase."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def __enter__(self) -> Phase:
        self.wall0 = time.monotonic()
        self.client0 = time.process_time()
        self.server0 = self.server.cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.monotonic() - self.wall0
        self.client_cpu = time.process_time() - self.client0
        self.server_cpu = self.server.cpu_seconds() - self.server0
        self.load = os.getloadavg()[0]

    def cpu(self) -> str:
        return (
            f"server {self.server_cpu:.1f} s CPU ({self.server_cpu / self.wall:.0%} of a core), "
            f"bench client {self.client_cpu:.1f} s ({self.client_cpu / self.wall:.0%}) over {self.wall:.1f} s; "
            f"load avg {self.load:.1f}"
        )


# -- phase 1: creates ----------------------------------------------------------------------------------
async def bench_creates(server: Server, p: Params, report: Report) -> None:
    client = Client(server, p.clients)
    try:
        await create_namespace(client, "bench-creates")
        for kind, plural, make in (("ConfigMap", "configmaps", configmap), ("Pod", "pods", pod)):
            print(f"\n[creates] {p.creates} {kind}s, {p.clients} concurrent clients", flush=True)
            with Phase(server) as ph:
                lat, t0, t1 = await create_many(
                    client,
                    f"/api/v1/namespaces/bench-creates/{plural}",
                    make,
                    kind.lower(),
                    p.creates,
                    p.clients,
                )
            rate = len(lat) / (t1 - t0)
            p99 = percentile(lat, 99)
            report.data[f"creates_{plural}"] = {
                "count": len(lat),
                "seconds": t1 - t0,
                "per_second": rate,
                "p50_ms": percentile(lat, 50) * 1000,
                "p99_ms": p99 * 1000,
                "max_ms": lat[-1] * 1000,
                "server_cpu_s": ph.server_cpu,
                "client_cpu_s": ph.client_cpu,
            }
            report.add(
                f"creates {kind}",
                "creates/s",
                f"{rate:,.0f} ({len(lat)} in {t1 - t0:.2f} s)",
                "≥ 1,000/s",
                rate >= 1000,
            )
            report.add(f"creates {kind}", "latency p50", ms(percentile(lat, 50)))
            report.add(f"creates {kind}", "latency p99", ms(p99), "≤ 50 ms", p99 <= 0.050)
            report.add(f"creates {kind}", "latency max", ms(lat[-1]))
            report.add(f"creates {kind}", "CPU", ph.cpu())
    finally:
        await client.close()


# -- phase 2: list -------------------------------------------------------------------------------------
async def timed_get(client: Client, path: str, accept: str) -> tuple[float, bytes]:
    t0 = time.monotonic()
    raw = await client.must("GET", path, accept=accept)
    return time.monotonic() - t0, raw


async def paged_list(client: Client, path: str, accept: str) -> tuple[float, float, int, int]:
    """kubectl's paged list end to end: (seconds, of which parsing pages in this client, items, pages).

    Each page must be parsed to find its ``continue`` token; that parse is the bench client's cost
    (Python's json, far slower than kubectl's Go decoder), so it is reported separately.
    """
    t0 = time.monotonic()
    parse = 0.0
    items = pages = 0
    cont = ""
    while True:
        query = "?limit=500" + (f"&continue={cont}" if cont else "")
        raw = await client.must("GET", path + query, accept=accept)
        p0 = time.monotonic()
        doc = json.loads(raw)
        parse += time.monotonic() - p0
        pages += 1
        items += len(doc.get("rows") if doc.get("kind") == "Table" else doc["items"])
        cont = (doc.get("metadata") or {}).get("continue") or ""
        if not cont:
            return time.monotonic() - t0, parse, items, pages


async def bench_list(server: Server, p: Params, report: Report) -> None:
    ns = "bench-list"
    path = f"/api/v1/namespaces/{ns}/pods"
    client = Client(server, p.clients)
    try:
        await create_namespace(client, ns)
        print(f"\n[list] creating {p.list_pods} Pods in {ns} with {p.clients} concurrent clients", flush=True)
        with Phase(server) as ph:
            lat, t0, t1 = await create_many(client, path, pod, "web-5d8f7c9b6", p.list_pods, p.clients)
        rate = len(lat) / (t1 - t0)
        report.data["list_setup_creates"] = {
            "count": len(lat),
            "per_second": rate,
            "p50_ms": percentile(lat, 50) * 1000,
            "p99_ms": percentile(lat, 99) * 1000,
            "max_ms": lat[-1] * 1000,
        }
        report.add(
            "list setup",
            f"{p.list_pods} Pod creates",
            f"{rate:,.0f}/s, p50 {ms(percentile(lat, 50))}, p99 {ms(percentile(lat, 99))}, max {ms(lat[-1])}",
        )
        report.add("list setup", "CPU", ph.cpu())

        for form, accept in (("JSON", JSON), ("Table", TABLE_ACCEPT)):
            print(f"\n[list] GET {path} as {form}, {p.list_runs} runs (one at a time)", flush=True)
            # One untimed request checks the answer (and warms nothing the timed ones would not).
            doc = json.loads(await client.must("GET", path, accept=accept))
            got = len(doc["rows"]) if form == "Table" else len(doc["items"])
            if (form == "Table") != (doc.get("kind") == "Table") or got != p.list_pods:
                raise RuntimeError(f"{form} list returned kind {doc.get('kind')} with {got} entries")
            times: list[float] = []
            size = 0
            with Phase(server) as ph:
                for _ in range(p.list_runs):
                    t, raw = await timed_get(client, path, accept)
                    times.append(t)
                    size = len(raw)
            times.sort()
            p99 = percentile(times, 99)
            report.data[f"list_{form.lower()}"] = {
                "items": got,
                "bytes": size,
                "runs": len(times),
                "p50_ms": percentile(times, 50) * 1000,
                "p99_ms": p99 * 1000,
                "min_ms": times[0] * 1000,
            }
            label = f"list {p.list_pods} {form}"
            report.add(label, "body", f"{size / 1e6:.1f} MB")
            report.add(
                label, "latency p50", ms(percentile(times, 50)), "≤ 300 ms", percentile(times, 50) <= 0.3
            )
            report.add(label, f"latency p99 (= max of {len(times)})", ms(p99), "≤ 300 ms", p99 <= 0.3)
            report.add(label, "CPU", ph.cpu())

        for form, accept in (("Table", TABLE_ACCEPT), ("JSON", JSON)):
            print(f"\n[list] kubectl-style paged list (limit=500 + continue) as {form}", flush=True)
            runs: list[float] = []
            waits: list[float] = []
            with Phase(server) as ph:
                for _ in range(max(1, p.list_runs // 2)):
                    t, parse, items, pages = await paged_list(client, path, accept)
                    if items != p.list_pods:
                        raise RuntimeError(f"paged {form} list returned {items} of {p.list_pods}")
                    runs.append(t)
                    waits.append(t - parse)
            runs.sort()
            waits.sort()
            report.data[f"list_paged_{form.lower()}"] = {
                "pages": pages,
                "runs": len(runs),
                "p50_ms": percentile(runs, 50) * 1000,
                "max_ms": runs[-1] * 1000,
                "p50_without_client_parse_ms": percentile(waits, 50) * 1000,
            }
            label = f"list {p.list_pods} paged {form}"
            report.add(
                label,
                f"end to end, {pages} pages",
                f"p50 {ms(percentile(runs, 50))}, max {ms(runs[-1])} ({len(runs)} runs)",
            )
            report.add(label, "same, minus this client's JSON parsing", f"p50 {ms(percentile(waits, 50))}")
            report.add(label, "CPU", ph.cpu())
    finally:
        await client.close()


# -- phase 3: watch fan-out ----------------------------------------------------------------------------
def writer_process(
    url: str, token: str, ca: str, ns: str, count: int, workers: int, start_at: float, out: Connection
) -> None:
    """The separate writer: waits until ``start_at`` (CLOCK_MONOTONIC), then creates ``count`` ConfigMaps."""

    async def run() -> None:
        server = Server(Path(), url, token, Path(ca), 0)
        client = Client(server, workers)
        try:
            await client.must("GET", "/version")  # connect before the clock starts
            await asyncio.sleep(max(0.0, start_at - time.monotonic()))
            lat, t0, t1 = await create_many(
                client, f"/api/v1/namespaces/{ns}/configmaps", configmap, "burst", count, workers
            )
            out.send(
                {
                    "first": t0,
                    "last_ack": t1,
                    "p50": percentile(lat, 50),
                    "p99": percentile(lat, 99),
                    "cpu": time.process_time(),
                }
            )
        except Exception as e:
            out.send({"error": f"{type(e).__name__}: {e}"})
        finally:
            await client.close()

    asyncio.run(run())


async def bench_watch(server: Server, p: Params, report: Report) -> None:
    ns = "bench-watch"
    path = f"/api/v1/namespaces/{ns}/configmaps"
    client = Client(server, 4)
    watch_client = Client(server, 0)  # no connection limit: one connection per watch
    tasks: list[asyncio.Task[None]] = []
    try:
        await create_namespace(client, ns)
        rv = json.loads(await client.must("GET", path))["metadata"]["resourceVersion"]
        print(f"\n[watch] opening {p.watchers} watches on {path} from resourceVersion {rv}", flush=True)
        established = 0
        all_established = asyncio.Event()
        established_at: list[float] = []
        done_at: list[float] = []
        counts = [0] * p.watchers
        reads = [0] * p.watchers  # socket reads per watcher: roughly how many writes the server made
        sample = bytearray()  # watcher 0 keeps its bytes, checked (parsed) after the measurement
        opening = asyncio.Semaphore(64)  # bound the TLS handshake storm, not the number of watches

        async def watcher(i: int) -> None:
            nonlocal established
            url = f"{server.url}{path}?watch=true&resourceVersion={rv}"
            async with opening:
                resp = await watch_client.session.get(url, headers=watch_client.headers)
            try:
                if resp.status != 200:
                    raise RuntimeError(f"watch {i} -> {resp.status}: {await resp.text()}")
                established += 1
                if established == p.watchers:
                    established_at.append(time.monotonic())
                    all_established.set()
                n = 0
                async for chunk in resp.content.iter_any():
                    reads[i] += 1
                    n += chunk.count(b"\n")
                    if i == 0:
                        sample.extend(chunk)
                    if n >= p.burst:
                        break
                counts[i] = n
                done_at.append(time.monotonic())
            finally:
                resp.release()

        t_open = time.monotonic()
        with Phase(server) as ph_open:
            tasks = [asyncio.create_task(watcher(i)) for i in range(p.watchers)]
            deadline = t_open + 300
            while not all_established.is_set():
                failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
                if failed:
                    raise RuntimeError(f"a watch failed: {failed[0].exception()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {established} of {p.watchers} watches established in 300 s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_established.wait(), 0.5)
        report.add("watch", f"{p.watchers} watches established", f"in {established_at[0] - t_open:.2f} s")
        report.add("watch", "CPU (establishing)", ph_open.cpu())
        rss_before = server.rss_mb()

        print(
            f"[watch] burst of {p.burst} ConfigMap creates from a separate writer process ({p.writers} connections)",
            flush=True,
        )
        parent, child = mp.Pipe(duplex=False)
        start_at = time.monotonic() + 2.0  # the writer process needs a moment to import and connect
        proc = mp.get_context("spawn").Process(
            target=writer_process,
            args=(server.url, server.token, str(server.ca), ns, p.burst, p.writers, start_at, child),
        )
        proc.start()
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        with Phase(server) as ph:
            result: dict[str, Any] = await asyncio.to_thread(parent.recv)
            proc.join(timeout=60)
            if "error" in result:
                raise RuntimeError(f"writer: {result['error']}")
            finished, pending = await asyncio.wait(tasks, timeout=120)
        for t in finished:
            if t.exception() is not None:
                raise RuntimeError(f"a watch failed: {t.exception()}")
        complete = sum(1 for c in counts if c >= p.burst)
        last_ack: float = result["last_ack"]
        all_done = max(done_at) if done_at else float("nan")
        fanout = all_done - last_ack
        events = [json.loads(line) for line in bytes(sample).splitlines() if line]
        names = {e["object"]["metadata"]["name"] for e in events if e["type"] == "ADDED"}
        expected = {f"burst-{i}" for i in range(p.burst)}
        ok = complete == p.watchers and not pending and names == expected
        report.data["watch"] = {
            "watchers": p.watchers,
            "burst": p.burst,
            "complete_watchers": complete,
            "burst_seconds": last_ack - result["first"],
            "writer_p50_ms": result["p50"] * 1000,
            "writer_p99_ms": result["p99"] * 1000,
            "fanout_after_last_ack_ms": fanout * 1000,
            "fanout_after_first_write_s": all_done - result["first"],
            "server_cpu_s": ph.server_cpu,
            "client_cpu_s": ph.client_cpu,
            "writer_cpu_s": result["cpu"],
            "server_rss_mb_with_watches": rss_before,
            "client_reads_per_watcher": sum(reads) / p.watchers,
        }
        report.add(
            "watch",
            "burst",
            f"{p.burst} creates in {last_ack - result['first']:.2f} s "
            f"({p.burst / (last_ack - result['first']):,.0f}/s), writer latency p50 {ms(result['p50'])}, "
            f"p99 {ms(result['p99'])}",
        )
        report.add("watch", "watchers with every event", f"{complete} of {p.watchers}", str(p.watchers), ok)
        report.add(
            "watch",
            "all delivered after last write's ack",
            (
                f"{fanout:.2f} s"
                if fanout > 0
                else f"0 (every watcher had all events {-fanout * 1000:.0f} ms before)"
            )
            + f"; {all_done - result['first']:.2f} s after the first write",
            "≤ 2 s",
            ok and fanout <= 2.0,
        )
        report.add(
            "watch",
            "events delivered",
            f"{sum(counts):,} ({sum(counts) / (all_done - result['first']):,.0f}/s)",
        )
        report.add(
            "watch",
            "client reads per watcher",
            f"{sum(reads) / p.watchers:.0f} on average ({sum(counts) / max(1, sum(reads)):.1f} events per read)",
        )
        report.add("watch", "server RSS with the watches open", f"{rss_before:.0f} MB")
        report.add("watch", "CPU (burst + fan-out)", ph.cpu() + f"; writer process {result['cpu']:.1f} s")
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await watch_client.close()
        await client.close()


# -- main ----------------------------------------------------------------------------------------------
def raise_nofile(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


PHASES: dict[str, Callable[[Server, Params, Report], Awaitable[None]]] = {
    "creates": bench_creates,
    "list": bench_list,
    "watch": bench_watch,
}


async def run_phases(server: Server, p: Params, phases: list[str], report: Report) -> None:
    for name in phases:
        await PHASES[name](server, p, report)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="a small smoke run (seconds, not minutes)")
    ap.add_argument("--phases", default="creates,list,watch", help="comma-separated: creates,list,watch")
    ap.add_argument("--creates", type=int, help="objects per kind in the creates phase")
    ap.add_argument("--list-pods", type=int, help="Pods in the listed namespace")
    ap.add_argument("--watchers", type=int, help="concurrent watches")
    ap.add_argument("--burst", type=int, help="writes in the watch burst")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument(
        "--profile-server", type=Path, help="run the server under cProfile, write the profile here"
    )
    ap.add_argument("--keep", action="store_true", help="keep the data dir (printed) after the run")
    args = ap.parse_args()
    p = Params.quick() if args.quick else Params()
    for name in ("creates", "list_pods", "watchers", "burst"):
        if getattr(args, name) is not None:
            setattr(p, name, getattr(args, name))
    phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    unknown = [x for x in phases if x not in PHASES]
    if unknown:
        ap.error(f"unknown phase(s) {unknown}; choose from {list(PHASES)}")

    nofile = raise_nofile(p.watchers * 2 + 1024)  # inherited by the server process, which needs as many
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, RLIMIT_NOFILE soft {nofile}")
    print(f"parameters: {p}")
    tmp = Path(tempfile.mkdtemp(prefix="ferry-bench-"))
    profile = args.profile_server.resolve() if args.profile_server else None
    server = start_server(tmp / "cluster", profile)
    print(f"server pid {server.pid} on {server.url}" + (f" (under cProfile -> {profile})" if profile else ""))
    report = Report()
    report.data["params"] = p.__dict__
    try:
        asyncio.run(run_phases(server, p, phases, report))
    finally:
        stop_server(server)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"data dir kept: {tmp}")
    print("\n" + report.table())
    if args.json:
        args.json.write_text(json.dumps(report.data, indent=2) + "\n")
    if profile is not None:
        print_profile(profile)


if __name__ == "__main__":
    main()
