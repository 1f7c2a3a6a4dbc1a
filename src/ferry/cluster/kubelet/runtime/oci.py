"""The OCI runtime ``config.json`` for one container, generated from a :class:`ContainerSpec` (not ``runc spec``).

What it holds, and why (runtime-spec 1.0.2, the version runc 1.1.5 speaks):

* ``process``: args from :func:`~ferry.cluster.kubelet.runtime.spec.process_args` (Kubernetes' command/args
  rules), the merged env, cwd, uid/gid, ``terminal: false`` (runc cannot allocate a tty here, and the shim
  owns stdout/stderr as pipes), the container runtime's default capabilities (containerd's list) in the
  bounding/effective/permitted sets, ``noNewPrivileges``. No ``rlimits``: the container inherits the node's
  (setting RLIMIT_NOFILE above the hard limit is what breaks podman on this machine).
* ``root``: ``rootfs`` (the overlay view, :mod:`~ferry.cluster.kubelet.runtime.rootfs`), ``readonly`` =
  ``readOnlyRootFilesystem``.
* ``mounts``: /proc, /dev (tmpfs; runc creates the default devices null, zero, full, random, urandom, tty and
  allows them in the devices cgroup), /dev/pts, /dev/shm (64 MiB, as Docker), /dev/mqueue, /sys read-only,
  /sys/fs/cgroup read-only; then the host runtime of host-base images (read-only binds, :func:`host_runtime_mounts`),
  then the kubelet's mounts in order (volumes, ``/etc/resolv.conf``, ``/etc/hosts``), so a volume can shadow
  a runtime dir, never the reverse.
* ``linux.namespaces``: pid, mount, uts, ipc of its own; network = the pod's netns *path* (a container joining
  an existing namespace), or none listed (the host's network) when ``netns_path`` is None.
* ``linux.cgroupsPath`` ``/<root>/<pod uid>/<container>`` and ``linux.resources``: memory limit, CPU quota
  (``millicores * 100`` per 100 000 µs period), pids limit; devices denied except runc's defaults.
* masked and read-only /proc paths as containerd sets them.

:func:`host_runtime_mounts` detects what exists on this host: ``/usr``, ``/lib``, ``/lib64``, ``/bin``,
``/sbin`` (a symlink like ``/bin -> usr/bin`` is bound from its target), ``/etc/ld.so.cache``, ``/etc/alternatives``,
``/etc/ssl``, and the directories of the ``python3`` and ``node`` interpreters when they live outside ``/usr``
(pyenv, nvm, ``/opt``), bound at the same paths, all read-only.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from ferry.cluster.kubelet.runtime.cgroups import CFS_PERIOD_US, cpu_quota_us
from ferry.cluster.kubelet.runtime.spec import ContainerSpec, Mount, merge_env, process_args, resolve_user

__all__ = ["DEFAULT_CAPABILITIES", "build_config", "cgroups_path", "host_runtime_mounts"]

DEFAULT_CAPABILITIES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]
MASKED_PATHS = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
HOST_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
HOST_FILES = ("/etc/ld.so.cache", "/etc/alternatives", "/etc/ssl")


def cgroups_path(root: str, pod_uid: str, container: str) -> str:
    return f"/{root}/{pod_uid}/{container}"


def _interpreter_dirs() -> list[Path]:
    """Install prefixes of python3 and node that are not under /usr (e.g. ~/.pyenv/versions/3.11.7)."""
    found = []
    candidates = [Path(sys.base_prefix)]
    for exe in ("python3", "node"):
        if path := shutil.which(exe):
            real = Path(path).resolve()
            if real.parent.name == "bin":
                candidates.append(real.parent.parent)
    for prefix in candidates:
        inside_usr = str(prefix).startswith(("/usr/", "/bin", "/lib")) or prefix == Path("/")
        if not inside_usr and prefix not in found and (prefix / "bin").is_dir():
            found.append(prefix)
    return found


def host_runtime_mounts() -> list[Mount]:
    """The host's runtime, read-only, at the same paths (module docstring): what exists on this machine."""
    mounts = []
    for p in (*HOST_DIRS, *HOST_FILES):
        path = Path(p)
        if path.exists():
            mounts.append(Mount(path.resolve(), p, read_only=True))
    for prefix in _interpreter_dirs():
        mounts.append(Mount(prefix, str(prefix), read_only=True))
    return mounts


def _bind(m: Mount) -> dict[str, Any]:
    options = ["rbind", "rprivate", "ro" if m.read_only else "rw"]
    return {"destination": m.container_path, "type": "bind", "source": str(m.host_path), "options": options}


def _base_mounts() -> list[dict[str, Any]]:
    nosuid_noexec = ["nosuid", "noexec", "nodev"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": nosuid_noexec},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": [*nosuid_noexec, "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": nosuid_noexec},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": [*nosuid_noexec, "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": [*nosuid_noexec, "relatime", "ro"]},
    ]  # fmt: skip


def build_config(
    spec: ContainerSpec, *, cgroup_root: str = "ferry", rootfs: str = "rootfs"
) -> dict[str, Any]:
    """The bundle's ``config.json`` for ``spec`` (module docstring). Raises ``ContainerConfigError``."""
    image = spec.image
    env = merge_env(image.env, spec.env, hostname=spec.effective_hostname)
    args = process_args(image.entrypoint, image.cmd, spec.command, spec.args, dict(env))
    uid, gid = resolve_user(image.user, image.rootfs)
    if spec.uid is not None:
        uid = spec.uid
    if spec.gid is not None:
        gid = spec.gid
    caps = list(DEFAULT_CAPABILITIES)
    host = spec.host_runtime if spec.host_runtime is not None else image.host_base
    mounts = [*_base_mounts(), *(_bind(m) for m in host_runtime_mounts() if host), *map(_bind, spec.mounts)]
    namespaces: list[dict[str, str]] = [{"type": t} for t in ("pid", "mount", "uts", "ipc")]
    if spec.netns_path is not None:
        namespaces.append({"type": "network", "path": str(spec.netns_path)})
    resources: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
    r = spec.resources
    if r.memory_limit_bytes is not None:
        resources["memory"] = {"limit": r.memory_limit_bytes}
    if r.cpu_limit_millicores is not None:
        resources["cpu"] = {"quota": cpu_quota_us(r.cpu_limit_millicores), "period": CFS_PERIOD_US}
    if r.pids_limit is not None:
        resources["pids"] = {"limit": r.pids_limit}
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": gid, "additionalGids": [gid]},
            "args": args,
            "env": [f"{k}={v}" for k, v in env],
            "cwd": spec.working_dir or image.working_dir or "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": spec.read_only_root_filesystem},
        "hostname": spec.effective_hostname,
        "mounts": mounts,
        "linux": {
            "namespaces": namespaces,
            "cgroupsPath": cgroups_path(cgroup_root, spec.pod_uid, spec.name),
            "resources": resources,
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS,
        },
    }
