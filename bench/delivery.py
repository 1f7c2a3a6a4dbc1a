"""Render, diff and apply many apps on the embedded cluster (printed, not asserted).

``.venv/bin/python bench/delivery.py`` (``--apps 10`` for a quick run) starts a sim-runtime cluster process
(``ferry cluster up --detach --listen 127.0.0.1:0 --runtime sim --registry off``), writes a chart of five objects
(ServiceAccount, ConfigMap, Secret, Service, Deployment of one replica that is ready at once), and for N apps
(default 100, each its own release and inventory in one namespace) measures, the way the GitOps reconciler
works through them:

1. **render**: ``ferry.charts.render`` with the real Helm engine, plus config checksums, one app after another;
2. **diff**: ``ferry.delivery.apply.diff`` of every app against an empty cluster (dry-run of every object);
3. **apply**: ``apply`` of every app (server-side apply in order, inventory), at most ``--concurrency`` apps
   at a time on one client, given the diff's result (``plan=``) so its dry run is not made twice — plan,
   then apply, as ``ferry deploy`` after a diff would; ``--no-reuse`` makes the apply run its own dry-run
   preflight (every object read and dry-run again), the figure before the reuse;
4. **healthy**: ``wait_healthy`` of every app until its Deployment is available;
5. **re-apply unchanged**: the steady state a reconciler pays every interval: diff, apply with nothing to change.

The anchor is Flux's published benchmark, 100 HelmReleases synced in 27 s on a kind cluster; the issue's
target for render + diff + apply of 100 apps of 5 objects is under 10 s.

Then **commit-to-sync-start latency** (``--latency-rounds``, default 5): the example repo's demo-api with one
environment on the same cluster, a git config repo in the temp dir, and ``ferry reconcile`` as a process. Each
round commits a new image pin (``ConfigRepo.write_pin``) and times, from the commit, until the reconciler
records the sync operation for that commit in the app's status ConfigMap (seen through a watch). Once with
``--webhook`` (a POST right after the commit, polling interval 600 s) and once by polling alone
(``--poll-interval``, default 2 s: the expected latency is half the interval plus the work; ferry's default
interval is 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from lightkube import AsyncClient, KubeConfig
from lightkube.resources.core_v1 import ConfigMap

from ferry.charts import add_config_checksums, render
from ferry.delivery.apply import ClientConfig, InventoryRef, LightkubeApi, apply, diff, wait_healthy
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.pins import Pin

NAMESPACE = "bench-delivery"

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: bench\nversion: 0.1.0\n",
    "values.yaml": "image: registry.local/bench:1\nmessage: hello\n",
    "templates/objects.yaml": """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  MESSAGE: {{ .Values.message | quote }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-secret
stringData:
  TOKEN: not-a-real-secret
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    app: {{ .Release.Name }}
  ports:
    - port: 80
      targetPort: 3000
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
      annotations:
        sim.ferry.dev/ready-after-ms: "0"
    spec:
      serviceAccountName: {{ .Release.Name }}
      containers:
        - name: app
          image: {{ .Values.image }}
          envFrom:
            - configMapRef:
                name: {{ .Release.Name }}-config
            - secretRef:
                name: {{ .Release.Name }}-secret
          resources:
            requests: {cpu: 10m, memory: 16Mi}
""",
}


def ferry(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ferry", *args], check=True, capture_output=True, timeout=120)


async def bounded(n: int, jobs: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(n)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs))


async def run(tmp: Path, apps: int, concurrency: int, *, reuse: bool = True) -> list[tuple[str, str]]:
    chart = tmp / "chart"
    for name, text in CHART.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(text)
    names = [f"app-{i:03d}" for i in range(apps)]
    rows: list[tuple[str, str]] = []

    t0 = time.perf_counter()
    rendered: dict[str, list[dict[str, Any]]] = {}
    per_app: list[float] = []
    for name in names:
        t = time.perf_counter()
        objects = [dict(o) for o in render(chart, release=name, namespace=NAMESPACE).objects]
        add_config_checksums(objects)
        rendered[name] = objects
        per_app.append(time.perf_counter() - t)
    render_s = time.perf_counter() - t0
    rows.append(("render", f"{render_s:.2f} s ({statistics.median(per_app) * 1000:.0f} ms per app, median)"))

    config = ClientConfig(kubeconfig=tmp / "cluster" / "kubeconfig")
    async with LightkubeApi.connect(config) as api:
        sent = [0]

        async def count(_: object) -> None:
            sent[0] += 1

        # Requests and this process's CPU time per phase: unlike wall time, neither depends on the load that
        # other work puts on the machine (the client's CPU is where the time goes, see docs/benchmarks.md).
        api._http.event_hooks["request"].append(count)

        def mark() -> tuple[float, int]:
            return time.process_time(), sent[0]

        def cost(since: tuple[float, int]) -> str:
            return f"{time.process_time() - since[0]:.2f} s CPU, {sent[0] - since[1]} requests"

        ns = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
        await apply(api, ns, inventory=InventoryRef("bench-namespace", "default"))

        def inv(name: str) -> InventoryRef:
            return InventoryRef(name, NAMESPACE)

        t0, m = time.perf_counter(), mark()
        plans = await bounded(concurrency, [partial(diff, api, rendered[n], inventory=inv(n)) for n in names])
        diff_s = time.perf_counter() - t0
        creates = sum(1 for p in plans for r in p.objects if r.action == "created")
        rows.append(
            ("diff (dry-run, empty cluster)", f"{diff_s:.2f} s ({creates} objects to create; {cost(m)})")
        )

        t0, m = time.perf_counter(), mark()
        planned = dict(zip(names, plans, strict=True)) if reuse else {}
        results = await bounded(
            concurrency,
            [partial(apply, api, rendered[n], inventory=inv(n), plan=planned.get(n)) for n in names],
        )
        apply_s = time.perf_counter() - t0
        applied = dict(zip(names, (r.applied for r in results), strict=True))
        how = "reusing the diff's dry run" if reuse else "own dry-run preflight"
        rows.append(("apply", f"{apply_s:.2f} s ({apps * 5} objects + {apps} inventories; {how}; {cost(m)})"))
        total = render_s + diff_s + apply_s
        rows.append(("render + diff + apply", f"{total:.2f} s (target < 10 s for 100 apps; Flux: 27 s)"))

        t0 = time.perf_counter()
        await bounded(
            concurrency,
            [partial(wait_healthy, api, applied[n], app=n, timeout_seconds=600) for n in names],
        )
        rows.append(("all apps Healthy (after the apply)", f"{time.perf_counter() - t0:.2f} s"))

        t0, m = time.perf_counter(), mark()
        again = await bounded(
            concurrency, [partial(apply, api, rendered[n], inventory=inv(n)) for n in names]
        )
        changed = sum(1 for r in again for o in r.objects if o.action != "unchanged")
        rows.append(
            (
                "re-apply, nothing changed",
                f"{time.perf_counter() - t0:.2f} s ({changed} objects changed; {cost(m)})",
            )
        )
    return rows


LATENCY_APP = "demo-api"


def _latency_repo(tmp: Path, kubeconfig: Path) -> tuple[Path, ConfigRepo]:
    """An app repo (examples/ with demo-api and one environment on the bench cluster) and its config repo."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    app = tmp / "app"
    shutil.copytree(examples, app, ignore=shutil.ignore_patterns(".ferry", "node_modules"))
    model = yaml.safe_load((app / "ferry.yaml").read_text())
    model["services"] = {LATENCY_APP: model["services"][LATENCY_APP]}
    model["environments"] = [
        {"name": "sit", "namespace": "bench-gitops", "cluster": {"kubeconfig": str(kubeconfig)}}
    ]
    model["configRepo"] = str(tmp / "deploy")
    (app / "ferry.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    deploy = tmp / "deploy"
    deploy.mkdir()
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid")
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "seed"]):
        subprocess.run(["git", "-C", str(deploy), *args], check=True, env=env)
    return app, ConfigRepo(deploy, env_dirs={"sit": "envs/sit"})


async def _sync_started(kubeconfig: Path, sha: str, timeout: float = 120.0) -> float:
    """Wait (by watching) until the app's status names ``sha`` as its operation or last sync; monotonic time."""
    client = AsyncClient(KubeConfig.from_file(kubeconfig))
    name = f"ferry-app-sit-{LATENCY_APP}"

    def started(cm: Any) -> bool:
        data = cm.data or {}
        for key in ("operation", "lastSync"):
            try:
                if (json.loads(data.get(key) or "{}") or {}).get("sha", "").startswith(sha[:7]):
                    return True
            except ValueError:
                continue
        return False

    try:
        async with asyncio.timeout(timeout):
            async for _, cm in client.watch(
                ConfigMap, namespace="bench-gitops", fields={"metadata.name": name}
            ):
                if started(cm):
                    return time.monotonic()
    finally:
        await client.close()
    raise TimeoutError(f"no sync of {sha[:7]} within {timeout:.0f} s")


def _digest(n: int) -> str:
    return f"sha256:{n:064x}"


async def latency(tmp: Path, rounds: int, poll_interval: float) -> list[tuple[str, str]]:
    kubeconfig = tmp / "cluster" / "kubeconfig"
    app, repo = _latency_repo(tmp, kubeconfig)
    rows: list[tuple[str, str]] = []
    counter = iter(range(1, 10_000))

    def commit() -> str:
        n = next(counter)
        pin = Pin(repository="127.0.0.1:5000/demo-api", tag=f"1.0.{n}-bench{n:02d}", digest=_digest(n))
        sha = repo.write_pin("sit", LATENCY_APP, pin, f"bench pin {n}", "bench <bench@example.invalid>")
        assert sha is not None
        return sha

    async def measure(extra: list[str], poke: Callable[[], None] | None) -> list[float]:
        first = commit()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ferry", "reconcile", "--repo", str(app), "--health-timeout", "0", *extra],
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "reconcile.log", "ab"),  # noqa: SIM115 - closed with the process
        )
        try:
            await _sync_started(kubeconfig, first)
            out = []
            for _ in range(rounds):
                await asyncio.sleep(0.5)
                sha = commit()
                t0 = time.monotonic()
                if poke is not None:
                    poke()
                out.append(await _sync_started(kubeconfig, sha) - t0)
            return out
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def post() -> None:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/hooks/git", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=5).close()

    hooked = await measure(["--interval", "600", "--webhook", f"127.0.0.1:{port}"], post)
    polled = await measure(["--interval", str(poll_interval)], None)
    for label, values in (("webhook", hooked), (f"polling every {poll_interval:g} s", polled)):
        ms = sorted(v * 1000 for v in values)
        rows.append(
            (
                f"commit -> sync start, {label}",
                f"median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms ({len(ms)} commits)",
            )
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apps", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=10, help="apps in flight at once")
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--latency-rounds", type=int, default=5, help="commits per latency mode (0: skip)")
    ap.add_argument("--no-reuse", action="store_true", help="apply without the diff's dry run (as before)")
    ap.add_argument(
        "--poll-interval", type=float, default=2.0, help="reconciler interval for the polling mode"
    )
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="ferry-bench-delivery-") as d:
        tmp = Path(d)
        data = tmp / "cluster"
        ferry(
            "cluster", "up", "--detach", "--data-dir", str(data), "--listen", "127.0.0.1:0",
            "--runtime", "sim", "--nodes", str(args.nodes), "--registry", "off",
        )  # fmt: skip
        try:
            rows = asyncio.run(run(tmp, args.apps, args.concurrency, reuse=not args.no_reuse))
            if args.latency_rounds:
                rows += asyncio.run(latency(tmp, args.latency_rounds, args.poll_interval))
        finally:
            ferry("cluster", "down", "--data-dir", str(data))
    width = max(len(k) for k, _ in rows)
    print(f"\n{args.apps} apps of 5 objects, {args.concurrency} at a time, load avg {os.getloadavg()[0]:.1f}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
