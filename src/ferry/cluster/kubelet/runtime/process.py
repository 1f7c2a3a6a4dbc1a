"""The process runtime: each container a plain host process. The fallback when runc or root is missing.

**Not isolated**, and :meth:`ProcessRuntime.describe` says so (the kubelet puts it in the node's description
and its log): the process sees the host's filesystem, processes and users. What it does give:

* its own session and process group (``kill`` signals the whole group, so a shell's children go too), started
  by the same shim as runc's containers, so logs, exit codes (128+signal) and kubelet restarts behave alike;
* the pod's network namespace when one is given (the shim ``setns``-es into it before ``exec``; needs root),
  else the host's network;
* env, working dir and uid/gid (uid/gid only as root; otherwise the kubelet's own user);
* ``exec_sync`` runs a command the same way (``shim.py --exec``: cgroup, netns, env, cwd, user, then exec);
  ``exec_stream`` too, with live stdio for ``kubectl exec`` (:mod:`.interactive`);
* memory/cpu/pids limits in a cgroup v1 ``ferry/<pod uid>/<container>`` when root and cgroup v1 are there
  (OOM detection then works as with runc); without them no limits, said by ``describe()``.

**Paths.** There is no chroot, so the image's files are reached through the host path of its unpacked root.
The arguments, env values (part by part for ``:``-separated lists of paths such as ``PYTHONPATH``) and the
working dir are mapped, first rule that applies:

1. at or below a kubelet mount's container path (``/etc/config/x``) → below the volume's host path;
2. at or below a top-level entry of the image root that the host lacks (``/app/...`` of a host-base image,
   even a file created later) → below the image root;
3. an absolute path that exists in the image root (``/bin/busybox`` of a scratch image) → that file;
4. anything else stays a host path (``/usr/bin/python3`` of a host-base image is the host's python).

The working dir ``/`` is the image root. A path the program computes at run time is not mapped: such an app
needs the runc runtime. ``read_only_root_filesystem`` cannot be enforced here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal as signals
from pathlib import Path

from ferry.cluster.kubelet.runtime import interactive, shim
from ferry.cluster.kubelet.runtime.cgroups import Cgroup
from ferry.cluster.kubelet.runtime.instances import ShimRuntime
from ferry.cluster.kubelet.runtime.interactive import InteractiveExec
from ferry.cluster.kubelet.runtime.spec import (
    ContainerConfigError,
    ContainerId,
    ContainerRuntimeError,
    ContainerSpec,
    ExecResult,
    merge_env,
    process_args,
    resolve_user,
)

__all__ = ["ProcessRuntime", "path_mappings", "remap"]


def path_mappings(spec: ContainerSpec) -> list[tuple[str, str]]:
    """(container path, host path) pairs, longest container path first (module docstring)."""
    pairs = [(m.container_path.rstrip("/") or "/", str(m.host_path)) for m in spec.mounts]
    root = spec.image.rootfs
    if root.is_dir():
        for entry in sorted(root.iterdir()):
            if not os.path.lexists(f"/{entry.name}"):
                pairs.append((f"/{entry.name}", str(entry)))
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def remap(
    value: str, mappings: list[tuple[str, str]], *, rootfs: Path | None = None, lists: bool = False
) -> str:
    """``value`` as a host path (module docstring): a mapped prefix, else the image's file if it has one.

    With ``lists``, a ``:``-separated value whose parts are all absolute paths (``PATH``, ``PYTHONPATH``) is
    mapped part by part; anything else (``tcp://10.0.0.1:80``) only as a whole.
    """
    if lists and ":" in value:
        parts = value.split(":")
        if all(p.startswith("/") or not p for p in parts):
            return ":".join(remap(p, mappings, rootfs=rootfs) if p else p for p in parts)
    if not value.startswith("/"):
        return value
    for inner, outer in mappings:
        if value == inner:
            return outer
        if value.startswith(inner.rstrip("/") + "/"):
            return outer.rstrip("/") + "/" + value[len(inner) :].lstrip("/")
    inside = rootfs / value.lstrip("/") if rootfs is not None and value != "/" else None
    if inside is not None and os.path.lexists(inside):
        return str(inside)
    return value


class ProcessRuntime(ShimRuntime):
    """Containers as host processes under ``<state dir>/containers/<id>`` (module docstring)."""

    name = "process"

    def __init__(self, state_dir: Path, *, use_cgroups: bool | None = None, **kw: object) -> None:
        super().__init__(state_dir, **kw)  # type: ignore[arg-type]
        self.root = os.geteuid() == 0
        probe = Cgroup(f"{self.cgroup_root}/probe/probe")
        self.use_cgroups = (self.root and probe.available) if use_cgroups is None else use_cgroups

    def describe(self) -> str:
        limits = "cgroup v1 limits" if self.use_cgroups else "no resource limits"
        return f"process: NOT isolated: containers run as plain host processes ({limits}; no filesystem isolation)"

    async def create(self, spec: ContainerSpec) -> ContainerId:
        image = spec.image
        mappings = path_mappings(spec)
        env = merge_env(image.env, spec.env, hostname=spec.effective_hostname)
        argv = process_args(image.entrypoint, image.cmd, spec.command, spec.args, dict(env))
        root = image.rootfs
        argv = [remap(a, mappings, rootfs=root) for a in argv]
        env = [(k, remap(v, mappings, rootfs=root, lists=True)) for k, v in env]
        wd = spec.working_dir or image.working_dir or "/"
        cwd = str(root) if wd == "/" else remap(wd, mappings, rootfs=root)
        if not os.path.isdir(cwd):
            raise ContainerConfigError(f"working directory {cwd} does not exist")
        uid, gid = resolve_user(image.user, image.rootfs)
        uid, gid = (spec.uid if spec.uid is not None else uid), (spec.gid if spec.gid is not None else gid)
        if not self.root:
            uid = gid = None  # type: ignore[assignment]
        if spec.netns_path is not None and not self.root:
            raise ContainerConfigError("joining a network namespace needs root")
        cid, directory = self._new_dir()
        (directory / "meta.json").write_text(
            json.dumps(self._meta(spec, rootfs="host"))
        )  # first: see runc.py
        cgroup = Cgroup(f"{self.cgroup_root}/{spec.pod_uid}/{spec.name}")
        if self.use_cgroups:
            cgroup.create(spec.resources)
        launch = {
            "mode": "process",
            "argv": argv,
            "env": dict(env),
            "cwd": cwd,
            "uid": uid,
            "gid": gid,
            "netns": str(spec.netns_path) if spec.netns_path else None,
            "cgroup": cgroup.relpath if self.use_cgroups else None,
            "mappings": mappings,
            "rootfs": str(root),
            **self._launch_common(spec),
        }
        (directory / "launch.json").write_text(json.dumps(launch))
        return cid

    async def start(self, cid: ContainerId) -> None:
        directory = self._dir(cid)
        if (directory / "created.json").exists() or (directory / "exit.json").exists():
            return
        await self._spawn_shim(directory)

    async def kill(self, cid: ContainerId, signal: int) -> None:
        directory = self._dir(cid)
        pid = self._pid(directory)
        if pid is None or (directory / "exit.json").exists():
            return
        try:
            os.killpg(pid, signal)
        except ProcessLookupError:
            pass
        except PermissionError as e:
            raise ContainerRuntimeError(f"kill {pid}: {e}") from None

    async def exec_sync(self, cid: ContainerId, argv: list[str], *, timeout_seconds: float) -> ExecResult:
        """``argv`` (paths mapped) as the container's process is: cgroup, netns, env, working dir, user."""
        command = await self._exec_command(cid, argv)

        def kill(pid: int) -> None:  # its own process group: the command and what it started
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signals.SIGKILL)

        return await self._exec(command, timeout_seconds=timeout_seconds, kill=kill)

    async def _exec_command(self, cid: ContainerId, argv: list[str]) -> list[str]:
        """``shim.py --exec <container dir> <argv, paths mapped>``, for a running container only."""
        directory = self._dir(cid)
        if (await self.state(cid)).status != "running":
            raise ContainerRuntimeError(f"container {cid} is not running")
        launch = json.loads((directory / "launch.json").read_text())
        mappings = [(str(a), str(b)) for a, b in launch["mappings"]]
        mapped = [remap(a, mappings, rootfs=Path(launch["rootfs"])) for a in argv]
        return [self.python, "-I", "-S", shim.__file__, "--exec", str(directory), *mapped]

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
        """``shim.py --exec`` as :meth:`exec_sync` runs it, stdio wired to pipes or a pty (:mod:`.interactive`)."""
        command = await self._exec_command(cid, argv)
        return await interactive.spawn(command, tty=tty, stdin=stdin, stderr=stderr, winsize=winsize)

    async def _delete(self, cid: ContainerId) -> None:
        try:
            directory = self._dir(cid)
        except ContainerRuntimeError:
            return
        cgroup = self.cgroup(cid)
        if self._pid(directory) is not None and not (directory / "exit.json").exists():
            await self.kill(cid, signals.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wait(cid), timeout=10)
        if (directory / "exit.json").exists():
            self._exit(cid, directory)
        if self.use_cgroups:
            cgroup.remove()
        self._remove_dir(directory)
