"""The runc runtime: each container an OCI bundle run by ``runc`` (Debian's runc 1.1.5), as root.

One call of the :class:`~ferry.cluster.kubelet.runtime.spec.ContainerRuntime` protocol each:

* ``create(spec)``: ``config.json`` from :func:`~ferry.cluster.kubelet.runtime.oci.build_config` (a bad spec
  fails here, before anything exists on the host), the rootfs view (overlay or copy,
  :mod:`~ferry.cluster.kubelet.runtime.rootfs`), then the shim, which runs ``runc create`` with the log pipes as
  the container's stdout/stderr and becomes the init's parent (subreaper). The container exists, stopped at
  runc's exec fifo; its cgroup ``ferry/<pod uid>/<container>`` has its limits.
* ``start``: ``runc start`` (the user process executes now) and ``started.json``.
* ``kill(signal)``: ``runc kill <id> <signal>``, to the init only, as the CRI does. In its own PID namespace the
  init is PID 1: the kernel drops signals it does not handle, so SIGTERM to a shell without a ``trap`` does
  nothing and the kubelet's SIGKILL after the grace period ends it (exit 137). A stopped container is not an
  error.
* ``wait``: the shim's ``exit.json`` (128+signal when killed) and the OOM counter of the cgroup, which runc has
  not removed yet: ``OOMKilled`` (see :mod:`~ferry.cluster.kubelet.runtime.instances`).
* ``exec_sync``: ``runc exec`` with the output captured (exec probes, hooks); on timeout the exec'd process is
  SIGKILLed by the pid runc recorded.
* ``exec_stream``: ``runc exec [--tty]`` with live stdio for ``kubectl exec`` (:mod:`.interactive`).
* ``delete``: SIGKILL if still running, ``runc delete --force`` (runc's state and its cgroups), then make sure:
  unmount the rootfs, remove the bundle directory, remove any cgroup directory left (and the pod's, if empty).
  Idempotent; the log file is kept (the kubelet's ``--previous``).

runc's state lives under ``<state dir>/runc`` (``runc --root``), never in ``/run/runc``, so ferry sees and
removes only its own containers. runc's own messages go to ``<bundle>/runc.log`` (JSON); a creation error is
the :class:`StartError` message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal as signals
import subprocess
import time
from pathlib import Path

from ferry.cluster.kubelet.runtime import interactive, rootfs
from ferry.cluster.kubelet.runtime.cgroups import Cgroup
from ferry.cluster.kubelet.runtime.instances import ShimRuntime
from ferry.cluster.kubelet.runtime.interactive import InteractiveExec
from ferry.cluster.kubelet.runtime.oci import build_config
from ferry.cluster.kubelet.runtime.shim import write_json
from ferry.cluster.kubelet.runtime.spec import (
    ContainerId,
    ContainerRuntimeError,
    ContainerSpec,
    ExecResult,
    StartError,
)

__all__ = ["RuncRuntime", "runc_binary"]


def runc_binary() -> str | None:
    return shutil.which("runc") or next(
        (p for p in ("/usr/sbin/runc", "/usr/bin/runc") if os.access(p, os.X_OK)), None
    )


class RuncRuntime(ShimRuntime):
    """Containers as OCI bundles under ``<state dir>/containers/<id>`` (module docstring)."""

    name = "runc"

    def __init__(
        self, state_dir: Path, *, runc: str | None = None, allow_overlay: bool = True, **kw: object
    ) -> None:
        super().__init__(state_dir, **kw)  # type: ignore[arg-type]
        binary = runc or runc_binary()
        if binary is None:
            raise ContainerRuntimeError("runc is not installed")
        self.runc = binary
        self.runc_root = state_dir / "runc"
        self.runc_root.mkdir(parents=True, exist_ok=True)
        self.allow_overlay = allow_overlay
        self._version = ""

    def describe(self) -> str:
        if not self._version:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                out = subprocess.run(
                    [self.runc, "--version"], capture_output=True, text=True, timeout=10
                ).stdout
                self._version = out.split("\n", 1)[0].removeprefix("runc version ").strip()
        return (
            f"runc {self._version or '(unknown version)'}: isolated containers (pid, mount, uts, ipc namespaces; "
            "the pod's network namespace; cgroup v1 limits; copy-on-write rootfs)"
        )

    async def _runc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = await asyncio.create_subprocess_exec(
            self.runc, "--root", str(self.runc_root), *args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        done = subprocess.CompletedProcess(args, proc.returncode or 0, out.decode(), err.decode())
        if check and done.returncode != 0:
            raise ContainerRuntimeError(f"runc {args[0]}: {done.stderr.strip() or done.returncode}")
        return done

    async def create(self, spec: ContainerSpec) -> ContainerId:
        config = build_config(spec, cgroup_root=self.cgroup_root)
        cid, directory = self._new_dir()
        try:  # meta.json first: a kubelet killed mid-create finds the instance in list() and can delete it
            (directory / "meta.json").write_text(json.dumps(self._meta(spec, rootfs="pending")))
            view = await asyncio.to_thread(
                rootfs.prepare, spec.image.rootfs, directory, allow_overlay=self.allow_overlay
            )
            (directory / "config.json").write_text(json.dumps(config, indent=2))
            launch = {
                "mode": "runc",
                "runc": {"binary": self.runc, "root": str(self.runc_root), "id": cid, "bundle": str(directory), "log": str(directory / "runc.log")},
                **self._launch_common(spec),
            }  # fmt: skip
            (directory / "launch.json").write_text(json.dumps(launch))
            (directory / "meta.json").write_text(json.dumps(self._meta(spec, rootfs=view.mode)))
            await self._spawn_shim(directory)
        except BaseException:
            await self._cleanup(cid, directory, Cgroup(f"{self.cgroup_root}/{spec.pod_uid}/{spec.name}"))
            raise
        return cid

    async def start(self, cid: ContainerId) -> None:
        directory = self._dir(cid)
        started_at = time.time()  # before: a short-lived container can exit before `runc start` returns
        done = await self._runc("start", cid, check=False)
        if done.returncode != 0:
            raise StartError(f"runc start: {done.stderr.strip()}")
        write_json(directory / "started.json", {"started_at": started_at})

    async def kill(self, cid: ContainerId, signal: int) -> None:
        directory = self._dir(cid)
        if (directory / "exit.json").exists():
            return
        done = await self._runc("kill", cid, str(int(signal)), check=False)
        if done.returncode != 0 and not (directory / "exit.json").exists():
            stderr = done.stderr.lower()
            if (
                "not running" not in stderr
                and "process already finished" not in stderr
                and "does not exist" not in stderr
            ):
                raise ContainerRuntimeError(f"runc kill: {done.stderr.strip()}")

    async def exec_sync(self, cid: ContainerId, argv: list[str], *, timeout_seconds: float) -> ExecResult:
        """``runc exec``: the container's env, working dir and user (runc takes them from config.json)."""
        directory = self._dir(cid)
        if (await self.state(cid)).status != "running":
            raise ContainerRuntimeError(f"container {cid} is not running")
        pid_file = directory / f"exec-{secrets.token_hex(4)}.pid"

        def kill(_: int) -> None:
            """The exec'd process and its group (runc makes it a session leader), by the pid runc wrote;
            ``runc exec`` then reaps it and exits 137 (it forwards no SIGKILL itself)."""
            with contextlib.suppress(OSError, ValueError):
                os.killpg(int(pid_file.read_text()), signals.SIGKILL)

        base = [self.runc, "--root", str(self.runc_root), "exec", "--pid-file", str(pid_file), cid]
        try:
            return await self._exec([*base, *argv], timeout_seconds=timeout_seconds, kill=kill)
        finally:
            pid_file.unlink(missing_ok=True)

    async def exec_stream(
        self,
        cid: ContainerId,
        argv: list[str],
        *,
        tty: bool,
        stdin: bool,
        stderr: bool = True,
        winsize: tuple[int, int] | None = None,
    ) -> InteractiveExec:
        """``runc exec [--tty]`` in the foreground, stdio wired to pipes or a pty (:mod:`.interactive`); the
        same env, working dir and user as :meth:`exec_sync`."""
        directory = self._dir(cid)
        if (await self.state(cid)).status != "running":
            raise ContainerRuntimeError(f"container {cid} is not running")
        pid_file = directory / f"exec-{secrets.token_hex(4)}.pid"

        def kill(_: int) -> None:
            with contextlib.suppress(OSError, ValueError):
                os.killpg(int(pid_file.read_text()), signals.SIGKILL)
            pid_file.unlink(missing_ok=True)

        base = [self.runc, "--root", str(self.runc_root), "exec", "--pid-file", str(pid_file)]
        process_file = directory / f"exec-{pid_file.stem.removeprefix('exec-')}.json"
        if tty:
            # runc copies its terminal's size to the container's console only after the process has
            # started, so a quick `stty size` could read 0 0: consoleSize sets it before (runc init).
            process = json.loads((directory / "config.json").read_text())["process"]
            process.update(args=argv, terminal=True)
            if winsize is not None:
                process["consoleSize"] = {"width": winsize[0], "height": winsize[1]}
            process_file.write_text(json.dumps(process))
            command = [*base, "--process", str(process_file), cid]
        else:
            command = [*base, cid, *argv]

        def clean() -> None:
            pid_file.unlink(missing_ok=True)
            process_file.unlink(missing_ok=True)

        try:
            running = await interactive.spawn(
                command, tty=tty, stdin=stdin, stderr=stderr, winsize=winsize, kill=kill
            )
        except BaseException:
            clean()
            raise
        running.on_exit(clean)
        return running

    async def _delete(self, cid: ContainerId) -> None:
        try:
            directory = self._dir(cid)
        except ContainerRuntimeError:
            return
        cgroup = self.cgroup(cid)
        if not (directory / "exit.json").exists() and (directory / "created.json").exists():
            await self.kill(cid, signals.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wait(cid), timeout=10)
        if (directory / "exit.json").exists():
            self._exit(cid, directory)  # record the OOM verdict before the cgroup goes
        await self._cleanup(cid, directory, cgroup)

    async def _cleanup(self, cid: ContainerId, directory: Path, cgroup: Cgroup) -> None:
        await self._runc("delete", "--force", cid, check=False)
        await asyncio.to_thread(cgroup.remove)
        await asyncio.to_thread(rootfs.release, directory)
