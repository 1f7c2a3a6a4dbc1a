"""cgroup v1 directories for containers: limits, OOM detection, and removal that leaves nothing behind.

This machine runs cgroup v1 in hybrid mode (dependencies.md §6): one hierarchy per controller under
``/sys/fs/cgroup/<controller>``, the memory, cpu (CFS quota) and pids controllers available, and a cgroup2 mount
at ``/sys/fs/cgroup/unified`` with no controllers we use. A container's cgroup is
``<root>/<pod uid>/<container name>`` (``root`` = ``ferry``) in every hierarchy.

* **Limits** (what :meth:`Cgroup.create` writes, the same values runc writes from ``linux.resources``):
  ``memory.limit_in_bytes``; ``cpu.cfs_period_us = 100000`` and ``cpu.cfs_quota_us = millicores * 100``
  (kubelet's ``MilliCPUToQuota``, minimum 1000 µs); ``pids.max``.
* **OOM**: ``memory.oom_control`` has an ``oom_kill <n>`` line counting the processes the OOM killer took in
  this cgroup (kernel ≥ 4.13). ``n > 0`` means the instance was OOM-killed: the kubelet reports reason
  ``OOMKilled``. ``memory.failcnt`` is *not* used: it counts hits of the limit that reclaim survived too.
  Read it **before** the cgroup is removed; runc's ``delete`` removes it.
* **Removal** (:meth:`Cgroup.remove`): processes still inside are SIGKILLed (a container's orphans), the leaf is
  removed in every hierarchy where it exists (``rmdir`` fails with EBUSY while a task remains, so it is retried
  briefly), then the pod directory if it is empty. ``ferry/`` itself stays: removing it would race a pod being
  created beside. The runtimes share this module: runc creates and removes its own cgroups, and calls
  :meth:`Cgroup.remove` afterwards to make sure; the process runtime creates them here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from pathlib import Path

from ferry.cluster.kubelet.runtime.spec import Resources

__all__ = ["CFS_PERIOD_US", "Cgroup", "cgroup_v1_hierarchies", "cpu_quota_us"]

CFS_PERIOD_US = 100_000
MIN_QUOTA_US = 1_000
CGROUP_ROOT = Path("/sys/fs/cgroup")
LIMIT_CONTROLLERS = ("memory", "cpu", "pids")


def cpu_quota_us(millicores: int) -> int:
    """kubelet's ``MilliCPUToQuota``: millicores * period / 1000, at least 1 ms."""
    return max(millicores * CFS_PERIOD_US // 1000, MIN_QUOTA_US)


def cgroup_v1_hierarchies(mounts: Path = Path("/proc/self/mounts")) -> list[Path]:
    """Every mounted cgroup hierarchy (v1 controllers, the named systemd one, the unified v2 mount)."""
    out = []
    with contextlib.suppress(OSError):
        for line in mounts.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2] in ("cgroup", "cgroup2"):
                out.append(Path(parts[1]))
    return out


class Cgroup:
    """The cgroup ``<root>/<pod uid>/<name>`` in every v1 hierarchy (see the module docstring)."""

    def __init__(self, relpath: str, *, base: Path = CGROUP_ROOT) -> None:
        parts = [p for p in relpath.split("/") if p]
        if len(parts) < 2 or any(p in (".", "..") for p in parts):
            raise ValueError(f"invalid cgroup path {relpath!r}")
        self.relpath = "/".join(parts)
        self.base = base

    def hierarchies(self) -> list[Path]:
        """The mounted hierarchies; under another ``base`` (tests), its subdirectories."""
        if self.base == CGROUP_ROOT:
            return cgroup_v1_hierarchies()
        return sorted(p for p in self.base.iterdir() if p.is_dir())

    def dir(self, controller: str) -> Path:
        return self.base / controller / self.relpath

    @property
    def available(self) -> bool:
        return all((self.base / c / "cgroup.procs").exists() for c in LIMIT_CONTROLLERS)

    def create(self, resources: Resources) -> None:
        """Make the cgroup in the memory, cpu and pids hierarchies and write the limits."""
        for controller in LIMIT_CONTROLLERS:
            self.dir(controller).mkdir(parents=True, exist_ok=True)
        r = resources
        if r.memory_limit_bytes is not None:
            (self.dir("memory") / "memory.limit_in_bytes").write_text(str(r.memory_limit_bytes))
        if r.cpu_limit_millicores is not None:
            (self.dir("cpu") / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
            (self.dir("cpu") / "cpu.cfs_quota_us").write_text(str(cpu_quota_us(r.cpu_limit_millicores)))
        if r.pids_limit is not None:
            (self.dir("pids") / "pids.max").write_text(str(r.pids_limit))

    def add_self(self) -> None:
        """Move the calling process into the cgroup (a child between fork and exec calls this)."""
        for controller in LIMIT_CONTROLLERS:
            (self.dir(controller) / "cgroup.procs").write_text(str(os.getpid()))

    def oom_kills(self) -> int:
        """The ``oom_kill`` counter of the memory cgroup; 0 when it does not exist (any more)."""
        try:
            text = (self.dir("memory") / "memory.oom_control").read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def pids(self) -> set[int]:
        found: set[int] = set()
        for hierarchy in self.hierarchies():
            with contextlib.suppress(OSError):
                procs = (hierarchy / self.relpath / "cgroup.procs").read_text()
                found.update(int(p) for p in procs.split())
        return found

    def exists(self) -> list[Path]:
        """The hierarchies where the leaf (or, when it is empty, the pod directory) still exists."""
        parent = self.relpath.rsplit("/", 1)[0]
        return [h / p for h in self.hierarchies() for p in (self.relpath, parent) if (h / p).is_dir()]

    def remove(self, *, timeout_seconds: float = 5.0) -> None:
        """Kill what is left inside, remove the leaf everywhere, then the pod directory if it is empty."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            left = self.pids()
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            busy = False
            for hierarchy in self.hierarchies():
                leaf = hierarchy / self.relpath
                try:
                    leaf.rmdir()
                except FileNotFoundError:
                    pass
                except OSError as e:
                    if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                        raise
                    busy = True
            if not busy or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        parent = self.relpath.rsplit("/", 1)[0]
        for hierarchy in self.hierarchies():
            try:
                (hierarchy / parent).rmdir()
            except OSError:
                pass  # absent, or another container of the pod is still there
        if busy:
            raise OSError(errno.EBUSY, f"cgroup {self.relpath} still has processes")
