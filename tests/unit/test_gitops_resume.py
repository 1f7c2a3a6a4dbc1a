"""A sync operation persisted in the app's status is resumed after its process died, not skipped — even
under a manual sync policy — and one whose process is still alive is left to it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.delivery.gitops import Operation, StatusStore
from ferry.delivery.gitops.status import AppStatus, now
from tests.unit.gitops_support import World, one_pass, world


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(proc.stdout)


@pytest.fixture
def live_pid() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


async def _interrupted(w: World, env: str, service: str, *, pid: int, sha: str, phase: str) -> None:
    """What a reconciler killed between recording the operation and finishing it leaves behind."""
    op = Operation(sha, "h", phase, "ferry sync", f"{socket.gethostname()}/{pid}", now())
    ns = w.platform.environment(env).namespace
    await StatusStore(w.api).update(env, service, ns, lambda s: AppStatus(env, service, operation=op))


async def test_an_interrupted_operation_is_resumed_under_a_manual_policy(
    tmp_path: Path, dead_pid: int
) -> None:
    w = world(tmp_path, sync={"qa": "manual"})
    w.pin("qa", "order-service")
    sha = str(w.repo.head())
    await _interrupted(w, "qa", "order-service", pid=dead_pid, sha=sha, phase="Applying")
    reconciler = w.reconciler()
    await one_pass(reconciler)
    # Manual policy alone would only report OutOfSync: the recorded operation is what gets it applied.
    dep = w.deployment("qa", "order-service")
    assert dep is not None
    status = w.status("qa", "order-service")
    assert status is not None
    assert status["operation"] == "" and status["sync"] == "Synced" and status["syncedRevision"] == sha
    last = json.loads(status["lastSync"])
    assert last["result"] == "Succeeded" and last["message"].startswith("resume of ferry sync: ")
    assert reconciler.failed == set()


async def test_resume_renders_the_operations_commit_not_a_newer_one(tmp_path: Path, dead_pid: int) -> None:
    w = world(tmp_path, sync={"qa": "manual"})
    w.pin("qa", "order-service", n=1)
    first = str(w.repo.head())
    w.pin("qa", "order-service", n=2)  # a newer commit nobody asked to sync (manual)
    await _interrupted(w, "qa", "order-service", pid=dead_pid, sha=first, phase="WaitingHealthy")
    await one_pass(w.reconciler())
    dep = w.deployment("qa", "order-service")
    assert dep is not None
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f"@sha256:{1:064x}")
    status = w.status("qa", "order-service")
    assert status is not None and status["syncedRevision"] == first
    # The next pass sees the newer commit and, the policy being manual, reports it.
    await one_pass(w.reconciler())
    status = w.status("qa", "order-service")
    assert status is not None and status["sync"] == "OutOfSync" and "manual sync policy" in status["message"]


async def test_an_operation_whose_process_is_alive_is_left_alone(tmp_path: Path, live_pid: int) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service")
    await _interrupted(w, "sit", "order-service", pid=live_pid, sha=str(w.repo.head()), phase="Applying")
    await one_pass(w.reconciler())
    assert w.deployment("sit", "order-service") is None
    status = w.status("sit", "order-service")
    assert status is not None and json.loads(status["operation"])["owner"].endswith(f"/{live_pid}")


async def test_under_auto_the_resumed_commit_is_followed_by_the_newest(tmp_path: Path, dead_pid: int) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service", n=1)
    first = str(w.repo.head())
    newest = w.pin("sit", "order-service", n=2)
    await _interrupted(w, "sit", "order-service", pid=dead_pid, sha=first, phase="Applying")
    await one_pass(w.reconciler())
    dep = w.deployment("sit", "order-service")
    assert dep is not None
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f"@sha256:{2:064x}")
    status = w.status("sit", "order-service")
    assert status is not None and status["syncedRevision"] == newest and status["operation"] == ""
    history = json.loads(status["history"])
    assert [(h["sha"], h["message"].split(":")[0]) for h in history] == [
        (newest, "new revision"),
        (first, "resume of ferry sync"),
    ]
