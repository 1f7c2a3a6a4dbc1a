"""What both runtimes share: a directory per container instance, the shim, and how an exit is reported.

Layout under the runtime's ``state_dir``::

    containers/<id>/meta.json      pod uid, container name, cgroup path, log path (written at create)
                    launch.json    what the shim runs (:mod:`~ferry.cluster.kubelet.runtime.shim`)
                    created.json   the init pid: the shim has created (runc) or started (process) it
                    started.json   when it started
                    exit.json      how it ended (exit code, signal, time; or ``start_error``)
                    final.json     the :class:`ExitStatus` once computed, OOM included: computed while the
                                   cgroup that proves the OOM still exists (``delete`` removes both)

Every state is a file written atomically, so the runtime keeps no memory of its own: a new kubelet process (or
a second runtime object on the same directory) answers ``state``/``wait``/``list`` exactly as the first did.
``meta.json`` is written first, so an instance whose creation a crash interrupted is still listed (``created``,
no pid, no ``created.json``): a restarted kubelet deletes it rather than waiting on it.

**Exit reasons** (``ExitStatus.reason``, what the kubelet puts in ``terminated.reason``): ``OOMKilled`` when the
container's memory cgroup counted an OOM kill (whatever the exit code; normally 137 because the kernel's
SIGKILL took the init), ``Completed`` for exit 0, ``Error`` otherwise, ``StartError`` (exit code 128, as
containerd reports it) when it never ran, and ``ContainerStatusUnknown`` (137, the kubelet's reason for a
container that vanished) when the shim died without recording an exit: ``wait`` checks the shim's pid every
0.5 s.

Ids are ``ferry-<12 hex>``, random: an instance's id is never reused, as a CRI containerID.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ferry.cluster.kubelet.runtime import shim
from ferry.cluster.kubelet.runtime.cgroups import Cgroup
from ferry.cluster.kubelet.runtime.shim import write_json
from ferry.cluster.kubelet.runtime.spec import (
    ContainerId,
    ContainerNotFound,
    ContainerSpec,
    ContainerState,
    ExecResult,
    ExitStatus,
    StartError,
)

__all__ = ["OUTPUT_LIMIT", "ShimRuntime"]

OUTPUT_LIMIT = 1 << 20  # bytes of exec output kept per stream (a probe reads 10 KiB of it)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class ShimRuntime(abc.ABC):
    """The base of :class:`RuncRuntime` and :class:`ProcessRuntime`; subclasses build ``launch.json``."""

    name = "shim"

    def __init__(
        self,
        state_dir: Path,
        *,
        cgroup_root: str = "ferry",
        log_max_bytes: int = 10 * 1024 * 1024,
        log_max_files: int = 5,
        python: str = sys.executable,
        poll_seconds: float = 0.02,
    ) -> None:
        self.state_dir = state_dir
        self.containers = state_dir / "containers"
        self.containers.mkdir(parents=True, exist_ok=True)
        self.cgroup_root = cgroup_root
        self.log_max_bytes = log_max_bytes
        self.log_max_files = log_max_files
        self.python = python
        self.poll_seconds = poll_seconds
        self._deleting: dict[ContainerId, asyncio.Future[None]] = {}

    async def delete(self, cid: ContainerId) -> None:
        """Kill (if needed) and remove the instance; a no-op for one already gone. Concurrent calls for one
        container share one deletion: the pod worker deletes an exited instance while the kubelet's release of a
        deleted pod deletes the same one, and two removals racing over one directory failed half-way. A caller
        that is cancelled does not cancel the deletion the other caller waits for."""
        running = self._deleting.get(cid)
        if running is None:
            running = asyncio.ensure_future(self._delete(cid))
            self._deleting[cid] = running
            running.add_done_callback(lambda _: self._deleting.pop(cid, None))
        await asyncio.shield(running)

    @abc.abstractmethod
    async def _delete(self, cid: ContainerId) -> None:
        """The deletion itself (RuncRuntime: runc delete, rootfs, cgroup; ProcessRuntime: cgroup, directory)."""

    # -- instance directories -------------------------------------------------------------------------

    def _new_dir(self) -> tuple[ContainerId, Path]:
        cid = ContainerId(f"ferry-{secrets.token_hex(6)}")
        directory = self.containers / cid
        directory.mkdir()
        return cid, directory

    def _dir(self, cid: ContainerId) -> Path:
        directory = self.containers / cid
        if "/" in cid or not (directory / "meta.json").is_file():
            raise ContainerNotFound(f"container {cid} not found")
        return directory

    def _meta(self, spec: ContainerSpec, **extra: Any) -> dict[str, Any]:
        return {
            "pod_uid": spec.pod_uid,
            "pod": f"{spec.pod_namespace}/{spec.pod_name}",
            "container": spec.name,
            "cgroup": f"{self.cgroup_root}/{spec.pod_uid}/{spec.name}",
            "log_path": str(spec.log_path),
            **extra,
        }

    def _launch_common(self, spec: ContainerSpec) -> dict[str, Any]:
        return {
            "log_path": str(spec.log_path),
            "log_max_bytes": self.log_max_bytes,
            "log_max_files": self.log_max_files,
        }

    def cgroup(self, cid: ContainerId) -> Cgroup:
        meta = _read(self._dir(cid) / "meta.json") or {}
        return Cgroup(str(meta["cgroup"]))

    async def list(self) -> list[ContainerId]:
        return sorted(ContainerId(d.name) for d in self.containers.iterdir() if (d / "meta.json").is_file())

    # -- the shim -------------------------------------------------------------------------------------

    async def _spawn_shim(self, directory: Path, *, timeout_seconds: float = 60.0) -> None:
        """Start the shim and wait until it has created the container (or failed to)."""
        with open(directory / "shim.log", "ab") as log:
            proc = await asyncio.create_subprocess_exec(
                self.python, "-I", "-S", shim.__file__, str(directory),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,
            )  # fmt: skip
            await proc.wait()  # the shim forks and its first process returns at once
        deadline = time.monotonic() + timeout_seconds
        while not (directory / "created.json").exists():
            done = _read(directory / "exit.json")
            if done is not None:
                raise StartError(str(done.get("start_error") or "the container exited during creation"))
            if time.monotonic() > deadline:
                raise StartError(f"timed out after {timeout_seconds:g}s waiting for the shim")
            await asyncio.sleep(self.poll_seconds)

    def _pid(self, directory: Path) -> int | None:
        created = _read(directory / "created.json")
        return int(created["pid"]) if created else None

    # -- state and exit -------------------------------------------------------------------------------

    async def state(self, cid: ContainerId) -> ContainerState:
        directory = self._dir(cid)
        started = _read(directory / "started.json")
        started_at = float(started["started_at"]) if started else None
        if (directory / "exit.json").exists():
            return ContainerState(
                cid, "stopped", self._pid(directory), started_at, self._exit(cid, directory)
            )
        if started_at is not None:
            return ContainerState(cid, "running", self._pid(directory), started_at)
        return ContainerState(cid, "created", self._pid(directory))

    async def wait(self, cid: ContainerId) -> ExitStatus:
        """Block until the instance has ended; its exit status (module docstring for the reason)."""
        directory = self._dir(cid)
        checked = time.monotonic()
        while not (directory / "exit.json").exists():
            await asyncio.sleep(self.poll_seconds)
            if time.monotonic() - checked > 0.5:
                checked = time.monotonic()
                self._check_shim(directory)
        return self._exit(cid, directory)

    def _check_shim(self, directory: Path) -> None:
        """A shim that died without an ``exit.json`` (killed, machine crash) leaves the exit unknown."""
        created = _read(directory / "created.json")
        if created is None or "shim_pid" not in created:
            return
        try:
            alive = "shim.py" in Path(f"/proc/{int(created['shim_pid'])}/cmdline").read_text(errors="replace")
        except OSError:
            alive = False
        if not alive and not (directory / "exit.json").exists():
            write_json(directory / "exit.json", {"lost": True, "finished_at": time.time()})

    def _exit(self, cid: ContainerId, directory: Path) -> ExitStatus:
        final = _read(directory / "final.json")
        if final is None:
            done = _read(directory / "exit.json") or {}
            started = _read(directory / "started.json")
            started_at = float(started["started_at"]) if started else None
            finished_at = float(done.get("finished_at") or time.time())
            if done.get("start_error"):
                final = {"exit_code": 128, "reason": "StartError", "message": str(done["start_error"])}
            elif done.get("lost"):
                message = "the container's shim is gone: its exit status is unknown"
                final = {"exit_code": 137, "reason": "ContainerStatusUnknown", "message": message}
            else:
                code = int(done.get("exit_code", 0))
                oom = self.cgroup(cid).oom_kills() > 0
                reason = "OOMKilled" if oom else "Completed" if code == 0 else "Error"
                final = {"exit_code": code, "reason": reason, "signal": done.get("signal"), "message": ""}
            final.update(started_at=started_at, finished_at=finished_at)
            write_json(directory / "final.json", final)
        return ExitStatus(
            exit_code=int(final["exit_code"]),
            reason=final["reason"],
            started_at=final.get("started_at"),
            finished_at=float(final["finished_at"]),
            signal=final.get("signal"),
            message=str(final.get("message") or ""),
        )

    async def _exec(
        self,
        argv: Sequence[str],
        *,
        timeout_seconds: float,
        kill: Callable[[int], None],
        limit: int = OUTPUT_LIMIT,
    ) -> ExecResult:
        """Run ``argv`` (a ``runc exec`` or a ``shim.py --exec``) in a new session with its output captured.

        On timeout: ``kill(pid of argv)`` (which ends the command in the container), then, if ``argv`` has not
        exited 2 s later, SIGKILL to its whole session; what it wrote so far is returned. Output is read by tasks that outlive the timeout,
        so nothing written before the kill is lost."""
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert proc.stdout is not None and proc.stderr is not None
        out, err = bytearray(), bytearray()
        readers = [
            asyncio.create_task(_collect(proc.stdout, out, limit)),
            asyncio.create_task(_collect(proc.stderr, err, limit)),
        ]
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), timeout_seconds)
        except TimeoutError:
            timed_out = True
            kill(proc.pid)
            try:  # its parent reaps it (no zombie left to init) and exits
                await asyncio.wait_for(proc.wait(), 2.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        await asyncio.wait(readers, timeout=1.0)  # a grandchild outside the session could hold a pipe open
        for task in readers:
            task.cancel()
        code = proc.returncode if proc.returncode is not None else -signal.SIGKILL
        return ExecResult(128 - code if code < 0 else code, bytes(out), bytes(err), timed_out)

    def _remove_dir(self, directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)


async def _collect(stream: asyncio.StreamReader, into: bytearray, limit: int) -> None:
    while chunk := await stream.read(65536):
        if len(into) < limit:
            into += chunk[: limit - len(into)]
