"""Store throughput figures (printed, not asserted): run ``PYTHONPATH=src .venv/bin/python bench/store.py``.

1. creates/s and per-write latency (p50/p99) with 16 concurrent writers, pod-sized objects;
2. ``list`` of 10,000 entries under one prefix (the store's share of a LIST request);
3. fan-out: 1,000 watchers, a 1,000-write burst; time from the last write's ack until every
   watcher has received every event.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ferry.cluster.store import Store, Watcher

WRITERS = 16
CREATES = 10_000
WATCHERS = 1_000
BURST = 1_000


def pod(name: str) -> dict[str, Any]:
    """A pod about the size the API server stores (~1.3 KB of JSON)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"6f1c2d4e-0000-4000-8000-{abs(hash(name)) % 10**12:012d}",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "5d8f7c9b6"},
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f7c9b6", "uid": "x"}
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "registry.local/web:1.2.3-abcdef0",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "securityContext": {},
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


async def bench_creates(store: Store) -> None:
    latencies: list[float] = []

    async def writer(w: int) -> None:
        for i in range(CREATES // WRITERS):
            name = f"p-{w}-{i}"
            t0 = time.perf_counter()
            await store.create(f"/core/pods/default/{name}", pod(name))
            latencies.append(time.perf_counter() - t0)

    tx0 = store.transactions
    t0 = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    print(
        f"creates: {len(latencies)} in {elapsed:.2f}s = {len(latencies) / elapsed:,.0f}/s with {WRITERS} writers; "
        f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; "
        f"{store.transactions - tx0} transactions"
    )


def bench_list(store: Store) -> None:
    lists, joins = [], []
    for _ in range(20):
        t0 = time.perf_counter()
        entries, _ = store.list("/core/pods/")
        t1 = time.perf_counter()
        body = b'{"items":[' + b",".join(e.raw for e in entries) + b"]}"
        lists.append(t1 - t0)
        joins.append(time.perf_counter() - t1)
    print(
        f"list: {len(entries)} entries: median {statistics.median(lists) * 1000:.2f} ms "
        f"(max {max(lists) * 1000:.2f}); joining their raw bytes into a {len(body) / 1e6:.1f} MB body: "
        f"median {statistics.median(joins) * 1000:.2f} ms"
    )
    t0 = time.perf_counter()
    page, cont = store.list("/core/pods/default/", limit=500)
    print(
        f"list page of {len(page)} (continue={cont is not None}): {(time.perf_counter() - t0) * 1000:.3f} ms"
    )


async def bench_fanout(store: Store) -> None:
    watchers = [store.watch("/core/configmaps/", after_rev=store.revision) for _ in range(WATCHERS)]
    done_at: list[float] = []

    async def drain(w: Watcher) -> None:
        seen = 0
        while seen < BURST:
            seen += len(await w.next_batch())
        done_at.append(time.perf_counter())

    tasks = [asyncio.create_task(drain(w)) for w in watchers]
    await asyncio.sleep(0)

    async def writer(w: int) -> None:
        for i in range(BURST // WRITERS + (1 if w < BURST % WRITERS else 0)):
            await store.create(
                f"/core/configmaps/default/c-{w}-{i}", {"kind": "ConfigMap", "data": {"i": str(i)}}
            )

    t0 = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    last_write = time.perf_counter()
    await asyncio.gather(*tasks)
    print(
        f"fan-out: {WATCHERS} watchers x {BURST} writes: burst took {last_write - t0:.2f}s, "
        f"every watcher had every event {max(0.0, max(done_at) - last_write) * 1000:.1f} ms after the "
        f"last write was acknowledged ({(max(done_at) - t0):.2f}s after the first)"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db", compaction_interval_seconds=0)
        await store.open()
        try:
            await bench_creates(store)
            bench_list(store)
            await bench_fanout(store)
        finally:
            await store.close()
        t0 = time.perf_counter()
        store = Store(Path(tmp) / "bench.db", compaction_interval_seconds=0)
        await store.open()
        print(
            f"reopen: {store.count('/')} objects, {store.revision} revisions in {time.perf_counter() - t0:.2f}s"
        )
        await store.close()


if __name__ == "__main__":
    print(f"python {sys.version.split()[0]}")
    asyncio.run(main())
