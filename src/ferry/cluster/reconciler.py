"""The GitOps reconciler of the embedded setup: ``ferry cluster up --gitops APP_REPO`` supervises it.

The reconciler is delivery code (``ferry.delivery.gitops``), and the embedded cluster must never import the
delivery side: the two halves meet only at the Kubernetes API. So the cluster runs it the way an operator
would run it next to any cluster, as a process: ``python -m ferry reconcile --repo APP_REPO --webhook
127.0.0.1:<port> --interval 10``, talking to this cluster over HTTPS through its kubeconfig.

* **Which cluster.** ``ferry.yaml`` environments without ``cluster:`` mean "the embedded cluster", which the
  delivery side finds at ``$FERRY_HOME/cluster/kubeconfig``. The child gets ``FERRY_HOME=<data dir>/reconciler``,
  where ``cluster/kubeconfig`` is a symlink to this cluster's kubeconfig, so those environments mean *this*
  cluster whatever the data dir is called; ``KUBECONFIG`` is this cluster's too (environments naming only a
  ``context`` resolve through it). A config repo given as a URL is cloned under that home.
* **Webhook.** A free port on 127.0.0.1 is chosen once, when the component is built, and kept across restarts,
  so the address in ``cluster.json`` (``gitops.webhook``) and ``ferry cluster status`` stays true.
* **Supervision.** As for the controller manager (``controllers/process.py``): a child that exits on its own
  is started again after a back-off (1 s doubling to 30 s, reset after a minute of uptime); on shutdown it
  gets SIGTERM (the reconciler cancels its syncs, which the next start resumes) and SIGKILL after
  ``STOP_TIMEOUT_SECONDS``. On Linux the child also gets ``PR_SET_PDEATHSIG`` (SIGTERM) before it execs, so a
  cluster killed with ``kill -9`` does not leave an orphan reconciler behind.
* **Files.** ``<data dir>/reconciler.log`` (appended: stdout and stderr of every run, one ``started`` line per
  start), ``<data dir>/reconciler.pid`` (the current child's pid; removed when the cluster stops).
* **Interval.** Polling every ``INTERVAL_SECONDS`` (10 s, not the 30 s default of ``ferry reconcile``): on one
  laptop the config repo is a local work tree and a tick is cheap, and a promotion should not wait half a
  minute when nothing calls the webhook. A git server's ``post-receive`` hook (or, for a local config repo,
  a ``post-commit`` hook, as ``ferry demo`` installs) makes it immediate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.children import die_with_parent, terminate

log = logging.getLogger("ferry.cluster.reconciler")

INTERVAL_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 15.0
BACKOFF_INITIAL_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
STABLE_AFTER_SECONDS = 60.0
HOOK_PATH = "/hooks/git"


@dataclass(frozen=True)
class ReconcilerPaths:
    """Where the supervised reconciler keeps its files inside the cluster's data dir."""

    data_dir: Path

    @property
    def log(self) -> Path:
        return self.data_dir / "reconciler.log"

    @property
    def pid(self) -> Path:
        return self.data_dir / "reconciler.pid"

    @property
    def home(self) -> Path:
        return self.data_dir / "reconciler"


def free_port(host: str) -> int:
    """A port nothing listens on now (the kernel's choice). Racy by nature: another process may take it
    before the reconciler binds; the reconciler then exits, and the back-off retries the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class GitopsReconciler:
    """A cluster component (``component(ctx, stop)``) running ``ferry reconcile`` for ``app_repo``."""

    __name__ = "gitops-reconciler"

    def __init__(self, *, app_repo: Path, data_dir: Path, host: str = "127.0.0.1") -> None:
        self.app_repo = app_repo
        self.paths = ReconcilerPaths(data_dir)
        self.host = host
        self.port = free_port(host)

    @property
    def webhook_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{HOOK_PATH}"

    def state(self) -> dict[str, str]:
        """What ``cluster.json`` says about the reconciler (``gitops``)."""
        return {
            "repo": str(self.app_repo),
            "webhook": self.webhook_url,
            "log": str(self.paths.log),
            "pidFile": str(self.paths.pid),
        }

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "ferry",
            "reconcile",
            "--repo",
            str(self.app_repo),
            "--webhook",
            f"{self.host}:{self.port}",
            "--interval",
            f"{INTERVAL_SECONDS:g}",
        ]

    def environ(self) -> dict[str, str]:
        kubeconfig = self.paths.data_dir / "kubeconfig"
        link = self.paths.home / "cluster" / "kubeconfig"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to(kubeconfig)
        return dict(os.environ, FERRY_HOME=str(self.paths.home), KUBECONFIG=str(kubeconfig))

    async def __call__(self, ctx: ApiContext, stop: asyncio.Event) -> None:
        try:
            await self._supervise(stop)
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.paths.pid.unlink()

    async def _supervise(self, stop: asyncio.Event) -> None:
        backoff = BACKOFF_INITIAL_SECONDS
        while not stop.is_set():
            started = time.monotonic()
            proc = await self._start()
            exited = asyncio.ensure_future(proc.wait())
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                if not exited.done():
                    await terminate(proc, "gitops reconciler", STOP_TIMEOUT_SECONDS)
                exited.cancel()
            if stop.is_set():
                return
            if time.monotonic() - started > STABLE_AFTER_SECONDS:
                backoff = BACKOFF_INITIAL_SECONDS
            log.warning(
                "gitops reconciler (pid %d) exited with %s; restarting in %.0fs (log %s)",
                proc.pid,
                proc.returncode,
                backoff,
                self.paths.log,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)

    async def _start(self) -> asyncio.subprocess.Process:
        env = self.environ()
        argv = self.argv()
        with open(self.paths.log, "ab") as logf:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            logf.write(f"--- {stamp} started: {' '.join(argv)}\n".encode())
            logf.flush()
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=logf,
                stderr=logf,
                env=env,
                cwd=str(self.app_repo),
                preexec_fn=_die_with_parent_sigterm,
            )
        self.paths.pid.write_text(f"{proc.pid}\n")
        log.info("gitops reconciler started (pid %d), webhook %s", proc.pid, self.webhook_url)
        return proc


def _die_with_parent_sigterm() -> None:
    """In the child, before exec: SIGTERM when the cluster process goes (the reconciler stops cleanly)."""
    die_with_parent(signal.SIGTERM)


def gitops_component(
    *, app_repo: Path, data_dir: Path, host: str = "127.0.0.1"
) -> tuple[Callable[[ApiContext, asyncio.Event], Coroutine[Any, Any, None]], dict[str, str]]:
    """The component and its ``cluster.json`` entry."""
    component = GitopsReconciler(app_repo=app_repo, data_dir=data_dir, host=host)
    return component, component.state()
