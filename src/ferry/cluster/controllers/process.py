"""The controller manager as a process of its own, supervised by the cluster's process.

Like kube-controller-manager (and kube-scheduler, and the kubelets), the controllers of ``ferry
cluster up`` run apart from the API server: a child process (``python -m
ferry.cluster.controllers.process``) holds the informers, work queues, controllers, scheduler and sim
kubelet, and talks to the API server over HTTPS like any client. The point is the second core: one
Python process runs on one core, and at a few thousand pods the API server alone keeps one busy.

**Parent side** (``controller_manager_process``, a cluster component): mints one bearer token per
identity (each controller's service account, and the shared informers' user), registers them with
the API server's authenticator, starts the child and writes its configuration as one JSON line on the
child's stdin (tokens never touch the disk or the command line). It then supervises: a child that exits
on its own is started again after a back-off (1 s, doubling to 30 s, reset after a minute of uptime);
on shutdown the child gets SIGTERM and, after ``STOP_TIMEOUT_SECONDS``, SIGKILL.

**Child side** (``main``): reads the JSON line, builds the controllers of the chosen runtime, and runs
them until SIGTERM/SIGINT or until its stdin reaches end-of-file. The pipe is how the child learns that
its parent died, even by ``kill -9``: the kernel closes the parent's end, the child reads EOF and stops.
On Linux it also asks for ``PR_SET_PDEATHSIG`` (SIGKILL), so it goes at once. Nothing the controllers
know is lost either way: their state lives in API objects, and a restarted child lists and resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.children import die_with_parent, terminate
from ferry.cluster.controllers.registry import controllers_for
from ferry.cluster.controllers.runtime.manager import (
    INFORMER_USER,
    SHARED_INFORMERS,
    Connection,
    ControllerManager,
    controller_user,
    local_connection,
)

log = logging.getLogger("ferry.controllers.process")

STOP_TIMEOUT_SECONDS = 10.0
BACKOFF_INITIAL_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
STABLE_AFTER_SECONDS = 60.0


# -- parent ----------------------------------------------------------------------------------------------
def controller_manager_process(
    *, runtime: str, nodes: int, data_dir: Path, ingress_port: int | None = None
) -> Callable[[ApiContext, asyncio.Event], Coroutine[Any, Any, None]]:
    """A cluster component running the controllers of ``runtime`` in a supervised child process."""
    names = [spec.name for spec in controllers_for(runtime=runtime, nodes=nodes, data_dir=data_dir)]

    async def component(ctx: ApiContext, stop: asyncio.Event) -> None:
        conn = local_connection(ctx)
        tokens = {SHARED_INFORMERS: conn.issue_token(INFORMER_USER, SHARED_INFORMERS)}
        tokens.update({name: conn.issue_token(controller_user(name), name) for name in names})
        config = {
            "server_url": conn.server_url,
            "ca_file": conn.ca_file,
            "tokens": tokens,
            "runtime": runtime,
            "nodes": nodes,
            "data_dir": str(data_dir),
            "ingress_port": ingress_port,
            "log_level": logging.getLogger().getEffectiveLevel(),
        }
        try:
            await _supervise(json.dumps(config).encode() + b"\n", stop)
        finally:
            for token in tokens.values():
                conn.revoke_token(token)

    component.__name__ = "controller-manager"
    return component


async def _supervise(config_line: bytes, stop: asyncio.Event) -> None:
    backoff = BACKOFF_INITIAL_SECONDS
    while not stop.is_set():
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ferry.cluster.controllers.process", stdin=asyncio.subprocess.PIPE
        )
        assert proc.stdin is not None
        proc.stdin.write(config_line)
        await proc.stdin.drain()
        log.info("controller manager started (pid %d)", proc.pid)
        exited = asyncio.ensure_future(proc.wait())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not exited.done():
                await terminate(proc, "controller manager", STOP_TIMEOUT_SECONDS)
            exited.cancel()
            proc.stdin.close()
        if stop.is_set():
            return
        log.warning(
            "controller manager (pid %d) exited with %s; restarting in %.0fs",
            proc.pid,
            proc.returncode,
            backoff,
        )
        if time.monotonic() - started > STABLE_AFTER_SECONDS:
            backoff = BACKOFF_INITIAL_SECONDS
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff)
        backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)


# -- child -----------------------------------------------------------------------------------------------
async def _run_child(config: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin() -> None:  # EOF: the parent is gone (or closed the pipe to stop us)
        # The raw descriptor, not sys.stdin.buffer: a daemon thread blocked inside the buffered reader holds
        # its lock, and the interpreter's shutdown then aborts ("could not acquire lock for <stdin>").
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, name="parent-watch", daemon=True).start()
    tokens: dict[str, str] = config["tokens"]

    def issue(user: Any, agent: str) -> str:
        return tokens[agent]

    conn = Connection(config["server_url"], config.get("ca_file"), issue)
    specs = controllers_for(
        runtime=config["runtime"],
        nodes=int(config["nodes"]),
        data_dir=Path(config["data_dir"]),
        ingress_port=config.get("ingress_port"),
    )
    manager = ControllerManager(conn, stop, specs)
    # As in the API server's process: the imported modules are long-lived, and informer caches of
    # thousands of objects would make the default thresholds collect every few milliseconds.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    await manager.run()


def main() -> None:
    die_with_parent(signal.SIGKILL)
    line = sys.stdin.buffer.readline()
    if not line:
        sys.exit(0)  # the parent went before it said anything
    config = json.loads(line)
    logging.basicConfig(
        level=int(config.get("log_level", logging.INFO)),
        format="%(asctime)s %(levelname)s %(name)s[controller-manager]: %(message)s",
    )
    try:
        import uvloop
    except ImportError:
        asyncio.run(_run_child(config))
    else:
        uvloop.run(_run_child(config))


if __name__ == "__main__":
    main()
