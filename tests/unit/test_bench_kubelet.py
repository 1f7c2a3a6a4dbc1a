"""The pure parts of bench/kubelet.py: percentiles, pod milestones, the load generator's HTTP reader, CPU roles."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "kubelet.py"
    spec = importlib.util.spec_from_file_location("bench_kubelet", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_kubelet"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bk = _load()


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [bk.percentile(values, q) for q in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert bk.percentile([1.0, 2.0, 3.0], 50) == 2.0
    assert bk.percentile([7.0], 99) == 7.0
    assert math.isnan(bk.percentile([], 50))


def test_summary_sorts_first() -> None:
    assert bk.summary([0.3, 0.1, 0.2]) == {"n": 3, "p50": 0.2, "p90": 0.3, "p99": 0.3, "max": 0.3}


def _pod(
    node: str = "", statuses: list[dict[str, object]] | None = None, ready: str = "False"
) -> dict[str, object]:
    return {
        "spec": {"nodeName": node, "containers": [{"name": "a"}, {"name": "b"}]}
        if node
        else {"containers": [{}, {}]},
        "status": {
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": ready}],
            "containerStatuses": statuses or [],
        },
    }


RUNNING = {"started": True, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}


def test_milestones_need_every_container_started_and_running() -> None:
    assert bk.milestones(_pod()) == set()
    assert bk.milestones(_pod("n1")) == {"scheduled"}
    assert bk.milestones(_pod("n1", [RUNNING])) == {"scheduled"}  # one of two containers
    waiting = {"started": False, "state": {"waiting": {"reason": "ContainerCreating"}}}
    assert bk.milestones(_pod("n1", [RUNNING, waiting])) == {"scheduled"}
    assert bk.milestones(_pod("n1", [RUNNING, RUNNING])) == {"scheduled", "started"}
    assert bk.milestones(_pod("n1", [RUNNING, RUNNING], ready="True")) == {"scheduled", "started", "ready"}


def test_unschedulable_gives_the_schedulers_message() -> None:
    cond: dict[str, str] = {"type": "PodScheduled", "status": "False"}
    pod = {"metadata": {"name": "p"}, "status": {"conditions": [cond]}}
    assert bk.unschedulable(pod) == ""
    cond |= {"reason": "Unschedulable", "message": "0/1 nodes are available"}
    assert bk.unschedulable(pod) == "p: 0/1 nodes are available"
    assert bk.unschedulable({}) == ""


def test_parse_head() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n"
    assert bk.parse_head(head) == (200, 6, False)
    assert bk.parse_head(b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n") == (
        503,
        None,
        True,
    )
    with pytest.raises(ValueError, match="bad status line"):
        bk.parse_head(b"SSH-2.0-OpenSSH\r\n\r\n")


async def test_read_response_reads_pipelined_and_chunked_responses() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n1.0.0\n")
    reader.feed_data(
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnot \r\n6;x=1\r\nfound\n\r\n0\r\n\r\n"
    )
    reader.feed_data(b"HTTP/1.1 204 No Content\r\n\r\n")
    reader.feed_eof()
    assert await bk.read_response(reader) == (200, b"1.0.0\n")
    assert await bk.read_response(reader) == (404, b"not found\n")
    assert await bk.read_response(reader) == (204, b"")
    with pytest.raises(asyncio.IncompleteReadError):
        await bk.read_response(reader)


def test_cpu_roles_and_deltas() -> None:
    server, child, runc, stranger, gone = 10**7 + 1, 10**7 + 2, 10**7 + 3, 10**7 + 4, 10**7 + 5
    me = os.getpid()
    before = {
        me: ("python", 1, 1.0, 0.0),
        server: ("python3", 1, 5.0, 0.0),
        child: ("python3", server, 2.0, 1.0),
    }
    after = {
        me: ("python", 1, 1.5, 0.0),
        server: ("python3", 1, 5.25, 0.0),
        child: ("python3", server, 3.0, 1.75),  # it reaped 0.75 s of runc/ip meanwhile
        runc: ("runc", child, 0.5, 0.0),  # new since the first snapshot: all of its CPU counts
        stranger: ("python", 1, 9.0, 50.0),  # another process: what it reaped is not counted
    }
    ours = bk.Ours(server, "fbzz", "/nonexistent/cluster")
    assert bk.role(child, after, ours) == "controller-manager (kubelet, proxy)"
    assert bk.role(runc, after, ours) == "ferry's runc"
    assert bk.role(stranger, after, ours) == "other processes"
    assert bk.busiest(before, after, ours) == {
        "other processes": 9.0,
        "controller-manager (kubelet, proxy)": 1.0,
        "controller-manager (kubelet, proxy): reaped children": 0.75,
        "bench (load generator)": 0.5,
        "ferry's runc": 0.5,
        "ferry server (API)": 0.25,
    }
    assert bk.busiest({}, {gone: ("node", 1, 0.01, 0.0)}, ours) == {}  # under the threshold
