"""Each container's writable view of its image: an overlayfs mount, or a copy when overlayfs is unavailable.

The image store unpacks an image once (``rootfs/<manifest hex>/``) and every container of that image shares
it, so a container must never write there. Its root is a copy-on-write view in its own directory::

    <container dir>/rootfs   the view (the bundle's root.path), an overlay mount:
    <container dir>/upper    lowerdir = the image root (read-only), upperdir = upper, workdir = work
    <container dir>/work

overlayfs is what containerd's snapshotter uses; it costs one ``mount`` and no copying. Where it fails (no
``overlay`` filesystem, no privilege to mount, an upper directory that is itself on overlayfs, a path with a
``,``, ``:`` or a backslash that the mount options cannot carry), the view is a
full copy of the image root (``shutil.copytree`` with symlinks kept): slower, same semantics. The choice is made
per container and reported (``RootfsView.mode``) so ``describe()`` and the tests can say which one ran.

``readOnlyRootFilesystem`` is not done here: the OCI config's ``root.readonly`` makes runc remount the view
read-only *after* it has created the mount points it needs.

:func:`release` unmounts (retrying, then lazily with ``MNT_DETACH`` if something still holds it) and removes
the container's directories; :func:`mounts_under` lists what is still mounted below a path, for the tests'
"nothing left behind" checks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["RootfsView", "mounts_under", "prepare", "release"]

MOUNT = shutil.which("mount") or "/usr/bin/mount"
UMOUNT = shutil.which("umount") or "/usr/bin/umount"


@dataclass(frozen=True)
class RootfsView:
    path: Path
    mode: Literal["overlay", "copy"]


def _unescape(field: str) -> str:
    """``/proc/self/mountinfo`` escapes space, tab, newline and backslash as octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below ``path`` (from ``/proc/self/mountinfo``)."""
    prefix = str(path.resolve())
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = _unescape(line.split()[4])
            if point == prefix or point.startswith(prefix + "/"):
                found.append(Path(point))
    return found


def prepare(lower: Path, container_dir: Path, *, allow_overlay: bool = True) -> RootfsView:
    """Make ``<container dir>/rootfs``, a writable view of ``lower`` (overlay if it works, else a copy)."""
    merged = container_dir / "rootfs"
    if merged.is_dir() and mounts_under(merged):
        return RootfsView(merged, "overlay")  # prepared before a restart of the kubelet
    upper, work = container_dir / "upper", container_dir / "work"
    unsafe = any(c in str(p) for p in (lower, container_dir) for c in ",:\\")  # mount option separators
    if allow_overlay and os.geteuid() == 0 and not unsafe:
        for d in (merged, upper, work):
            d.mkdir(parents=True, exist_ok=True)
        options = f"lowerdir={lower},upperdir={upper},workdir={work}"
        done = subprocess.run(
            [MOUNT, "-t", "overlay", "overlay", "-o", options, str(merged)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode == 0:
            return RootfsView(merged, "overlay")
        for d in (merged, upper, work):
            shutil.rmtree(d, ignore_errors=True)
    if merged.exists():
        shutil.rmtree(merged)
    shutil.copytree(lower, merged, symlinks=True)
    return RootfsView(merged, "copy")


def release(container_dir: Path, *, timeout_seconds: float = 5.0) -> None:
    """Unmount everything below ``container_dir`` (deepest first) and remove the directory."""
    if not container_dir.exists():
        return
    deadline = time.monotonic() + timeout_seconds
    while points := sorted(mounts_under(container_dir), key=lambda p: len(p.parts), reverse=True):
        for point in points:
            lazy = ["-l"] if time.monotonic() > deadline else []
            subprocess.run([UMOUNT, *lazy, str(point)], capture_output=True, timeout=30)
        if time.monotonic() > deadline + 1:
            raise OSError(f"cannot unmount {', '.join(map(str, points))}")
        if mounts_under(container_dir):
            time.sleep(0.05)
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(container_dir)
