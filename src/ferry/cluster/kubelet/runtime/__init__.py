"""The container runtime layer: what the kubelet calls to run one container instance.

The kubelet decides everything about a container (image pulled, env resolved, volumes prepared, the pod's
network namespace made) and hands a :class:`ContainerSpec` to a :class:`ContainerRuntime`:

    create(spec) → id,  start(id),  state(id),  kill(id, signal),  wait(id) → ExitStatus,  delete(id),
    exec_sync(id, argv, timeout_seconds=) → ExecResult,  exec_stream(id, argv, tty=, stdin=) → InteractiveExec,
    list()

Two implementations (:func:`choose_runtime` picks one):

* :class:`RuncRuntime`, the real one (root and runc): OCI bundles with a generated ``config.json``
  (:mod:`.oci`), a copy-on-write rootfs (:mod:`.rootfs`), cgroup v1 limits and OOM detection (:mod:`.cgroups`);
* :class:`ProcessRuntime`, the fallback: plain host processes, and ``describe()`` says they are not isolated.

Both start each instance under a **shim** (:mod:`.shim`) that survives the kubelet: it writes the container's
output as CRI log records (:mod:`.logs`, read back by :func:`read_logs`, :mod:`.logreader`) and records the exit
status on disk (:mod:`.instances`). Module map::

    spec        ContainerSpec, Mount, Resources, ExitStatus, the Protocol, errors, command/args/env rules
    oci         config.json generation; the host runtime mounts of host-base images
    rootfs      overlayfs view of the image (or a copy)
    cgroups     cgroup v1: limits, OOM counter, removal
    shim        the per-container supervisor process (pipes → logs, exit status)
    instances   the per-instance state directory, shared by both runtimes
    runc        RuncRuntime
    process     ProcessRuntime
    interactive exec_stream's process: pipes or a pty, resize, exit code (kubectl exec)
    logs        CRI log format, writer with rotation
    logreader   read_logs(): tail, since, timestamps, follow, limit
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ferry.cluster.kubelet.runtime.cgroups import Cgroup
from ferry.cluster.kubelet.runtime.logreader import read_logs
from ferry.cluster.kubelet.runtime.logs import LogRecord, LogWriter, log_path, parse_line
from ferry.cluster.kubelet.runtime.oci import build_config, host_runtime_mounts
from ferry.cluster.kubelet.runtime.process import ProcessRuntime
from ferry.cluster.kubelet.runtime.runc import RuncRuntime, runc_binary
from ferry.cluster.kubelet.runtime.spec import (
    ContainerConfigError,
    ContainerId,
    ContainerNotFound,
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerSpec,
    ContainerState,
    ExecResult,
    ExitStatus,
    Mount,
    Resources,
    StartError,
    process_args,
)

__all__ = [
    "Cgroup",
    "ContainerConfigError",
    "ContainerId",
    "ContainerNotFound",
    "ContainerRuntime",
    "ContainerRuntimeError",
    "ContainerSpec",
    "ContainerState",
    "ExecResult",
    "ExitStatus",
    "LogRecord",
    "LogWriter",
    "Mount",
    "ProcessRuntime",
    "Resources",
    "RuncRuntime",
    "StartError",
    "build_config",
    "choose_runtime",
    "host_runtime_mounts",
    "log_path",
    "parse_line",
    "process_args",
    "read_logs",
]


def choose_runtime(state_dir: Path, *, prefer: str = "auto", **kw: Any) -> ContainerRuntime:
    """``runc`` when asked or (``auto``) when root with runc installed and cgroup v1; else ``process``.

    ``prefer="runc"`` without root or runc raises :class:`ContainerRuntimeError` rather than quietly running
    unisolated; ``auto`` falls back, and the runtime's ``describe()`` tells the node (and the logs) why.
    """
    if prefer not in ("auto", "runc", "process"):
        raise ValueError(f"unknown runtime {prefer!r} (auto, runc or process)")
    usable = os.geteuid() == 0 and runc_binary() is not None and Cgroup("ferry/probe/probe").available
    if prefer == "runc" and not usable:
        raise ContainerRuntimeError("the runc runtime needs root, runc and cgroup v1 (memory, cpu, pids)")
    if prefer == "runc" or (prefer == "auto" and usable):
        return RuncRuntime(state_dir, **kw)
    return ProcessRuntime(state_dir, **kw)
