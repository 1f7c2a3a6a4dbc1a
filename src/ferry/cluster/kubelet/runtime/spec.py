"""What the kubelet asks a container runtime for, and the seam both runtimes implement.

A :class:`ContainerSpec` is one container *instance* fully decided by the kubelet: env already resolved
(valueFrom, Service variables), volumes already prepared on the host (each a :class:`Mount`), the pod's network
namespace already made. The runtime only turns it into a process. Two runtimes implement
:class:`ContainerRuntime`: :class:`~ferry.cluster.kubelet.runtime.runc.RuncRuntime` (OCI bundles, real
isolation, root) and :class:`~ferry.cluster.kubelet.runtime.process.ProcessRuntime` (plain host processes, the
fallback without runc or root).

**Command and args** follow the Kubernetes rules (``process_args``), the table of "Define a Command and
Arguments for a Container": no command and no args → image ENTRYPOINT + CMD; args only → ENTRYPOINT + args;
command only → command (the image's ENTRYPOINT *and* CMD are ignored); both → command + args. ``$(VAR)`` in
command/args expands from the container's env, ``$$`` escapes a ``$``, unknown references stay as written
(``expand``). An empty result is a :class:`ContainerConfigError` (kubelet: ``CreateContainerConfigError``).

**Env** is the image's env overridden by the container's, by name, in image order then container order
(containerd's merge); ``HOSTNAME`` is set to the pod's hostname and PATH defaults as in containerd.

Errors (one hierarchy for the layer)::

    ContainerRuntimeError
     ├── ContainerConfigError   the spec cannot run (no command, bad user): CreateContainerConfigError
     ├── StartError             the runtime could not start it: StartError / RunContainerError
     └── ContainerNotFound      no such container id on this runtime
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NewType, Protocol

from ferry.cluster.kubelet.images import PulledImage

if TYPE_CHECKING:
    from ferry.cluster.kubelet.runtime.interactive import InteractiveExec

__all__ = [
    "DEFAULT_PATH",
    "ContainerConfigError",
    "ContainerId",
    "ContainerNotFound",
    "ContainerRuntime",
    "ContainerRuntimeError",
    "ContainerSpec",
    "ContainerState",
    "ExecResult",
    "ExitStatus",
    "Mount",
    "Resources",
    "StartError",
    "expand",
    "merge_env",
    "process_args",
    "resolve_user",
]

ContainerId = NewType("ContainerId", str)
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ContainerRuntimeError(Exception):
    """Base of the runtime layer's errors; ``str()`` is one line fit for a container status message."""


class ContainerConfigError(ContainerRuntimeError):
    """The spec cannot be turned into a process (kubelet reason ``CreateContainerConfigError``)."""


class StartError(ContainerRuntimeError):
    """The runtime failed to create or start the container (kubelet reason ``StartError``)."""


class ContainerNotFound(ContainerRuntimeError):
    """No container with that id is known to this runtime."""


@dataclass(frozen=True)
class Mount:
    """A host path (file or directory, prepared by the kubelet) bound at ``container_path``."""

    host_path: Path
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class Resources:
    """Limits; ``None`` is unlimited. CPU is a CFS quota: ``cpu_limit_millicores * 100`` µs per 100 ms."""

    memory_limit_bytes: int | None = None
    cpu_limit_millicores: int | None = None
    pids_limit: int | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """One container instance as the kubelet decided it (see the module docstring)."""

    pod_uid: str
    pod_name: str
    pod_namespace: str
    name: str
    image: PulledImage
    log_path: Path  # logs.log_path(<pod log dir>, name, restart_count)
    command: list[str] | None = None  # Kubernetes `command` (replaces ENTRYPOINT); None = not set
    args: list[str] | None = None  # Kubernetes `args` (replaces CMD); None = not set
    env: list[tuple[str, str]] = field(default_factory=list)  # resolved, in pod-spec order
    working_dir: str | None = None  # None: the image's WorkingDir, else "/"
    uid: int | None = None  # None: the image's User (resolve_user), else 0
    gid: int | None = None
    mounts: list[Mount] = field(default_factory=list)  # volumes, resolv.conf, hosts: prepared by the kubelet
    read_only_root_filesystem: bool = False
    resources: Resources = field(default_factory=Resources)
    netns_path: Path | None = None  # None: the host's network namespace
    hostname: str | None = None  # None: the pod name
    host_runtime: bool | None = None  # bind the host's runtime dirs; None: when the image is host-based

    @property
    def effective_hostname(self) -> str:
        return self.hostname or self.pod_name


@dataclass(frozen=True)
class ExitStatus:
    """How an instance ended. ``exit_code`` is 128+signal when killed; ``reason`` as the kubelet reports it."""

    exit_code: int
    reason: Literal["Completed", "Error", "OOMKilled", "StartError", "ContainerStatusUnknown"]
    started_at: float | None  # epoch seconds; None if it never started
    finished_at: float
    signal: int | None = None
    message: str = ""

    def terminated(self, container_id: str) -> dict[str, Any]:
        """``state.terminated`` as the kubelet writes it (``container_id`` = ``<runtime>://<id>``); like the
        kubelet, no ``signal`` (the CRI does not report one) and times to the second."""
        out: dict[str, Any] = {"exitCode": self.exit_code, "reason": self.reason}
        if self.message:
            out["message"] = self.message
        out["startedAt"] = _rfc3339(self.started_at if self.started_at is not None else self.finished_at)
        out["finishedAt"] = _rfc3339(self.finished_at)
        out["containerID"] = container_id
        return out


def _rfc3339(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ExecResult:
    """What ``exec_sync`` (CRI ExecSync: exec probes, exec hooks) answers. A timeout kills the command."""

    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


@dataclass(frozen=True)
class ContainerState:
    """What ``state()`` answers: ``created`` (not started), ``running``, or ``stopped`` (with its exit)."""

    id: ContainerId
    status: Literal["created", "running", "stopped"]
    pid: int | None = None
    started_at: float | None = None
    exit: ExitStatus | None = None


class ContainerRuntime(Protocol):
    """The seam the kubelet drives; every call is safe to repeat after a kubelet restart."""

    name: str  # "runc" or "process": the scheme of containerID (`runc://<id>`)

    def describe(self) -> str:
        """One line for ``kubectl describe node`` and the logs: which runtime and how isolated."""
        ...

    async def create(self, spec: ContainerSpec) -> ContainerId: ...

    async def start(self, cid: ContainerId) -> None: ...

    async def state(self, cid: ContainerId) -> ContainerState: ...

    async def kill(self, cid: ContainerId, signal: int) -> None: ...

    async def wait(self, cid: ContainerId) -> ExitStatus: ...

    async def delete(self, cid: ContainerId) -> None: ...

    async def exec_sync(self, cid: ContainerId, argv: list[str], *, timeout_seconds: float) -> ExecResult:
        """Run ``argv`` in the running container (its namespaces, cgroup, env, working dir, user)."""
        ...

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
        """Start ``argv`` in the running container with live stdio (``kubectl exec``, :mod:`.interactive`)."""
        ...

    async def list(self) -> list[ContainerId]: ...


_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: defined names are replaced, ``$$`` is ``$``, the rest stays."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)

    return _REF.sub(sub, value)


def process_args(
    entrypoint: list[str],
    cmd: list[str],
    command: list[str] | None,
    args: list[str] | None,
    env: dict[str, str],
) -> list[str]:
    """The argv Kubernetes runs for this image config and pod-spec command/args (module docstring)."""
    if command:
        argv = [*command, *(args or [])]
    elif args:
        argv = [*entrypoint, *args]
    else:
        argv = [*entrypoint, *cmd]
    argv = [expand(a, env) for a in argv]
    if not argv:
        raise ContainerConfigError("no command specified")
    return argv


def merge_env(image_env: list[str], env: list[tuple[str, str]], *, hostname: str) -> list[tuple[str, str]]:
    """Image env, then the container's overriding by name; PATH defaulted, HOSTNAME set (containerd)."""
    merged: dict[str, str] = {}
    for item in image_env:
        name, _, value = item.partition("=")
        merged[name] = value
    merged.setdefault("PATH", DEFAULT_PATH)
    merged["HOSTNAME"] = hostname
    for name, value in env:
        merged[name] = value
    return list(merged.items())


def resolve_user(user: str, rootfs: Path | None) -> tuple[int, int]:
    """An image ``User`` (``uid``, ``uid:gid``, ``name``, ``name:group``) as numbers, from the rootfs' files."""
    if not user:
        return 0, 0
    name, _, group = user.partition(":")

    def lookup(file: str, key: str, column: int = 0) -> tuple[int, int] | None:
        path = rootfs / "etc" / file if rootfs is not None else None
        if path is None or not path.is_file():
            return None
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split(":")
            if len(parts) >= 4 and parts[column] == key and parts[2].isdigit():
                return int(parts[2]), int(parts[3]) if parts[3].isdigit() else 0
        return None

    if name.isdigit():
        uid = int(name)
        found = lookup("passwd", name, column=2)  # a numeric user keeps its passwd group, if it has one
        gid = found[1] if found else 0
    else:
        entry = lookup("passwd", name)
        if entry is None:
            raise ContainerConfigError(f"unable to find user {name}: no matching entries in passwd file")
        uid, gid = entry
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            g = lookup("group", group)
            if g is None:
                raise ContainerConfigError(f"unable to find group {group}: no matching entries in group file")
            gid = g[0]
    return uid, gid
