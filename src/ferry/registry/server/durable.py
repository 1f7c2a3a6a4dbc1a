"""Crash-safe file primitives: every acknowledged write survives `kill -9` and power loss.

The recipe, used for every file the registry writes (blobs, links, tags, keys):

1. write a temporary file (`.tmp-<random>`) in the destination directory and `fsync` it;
2. `rename` it over the destination (atomic on POSIX: readers see the old file or the new one, never half);
3. `fsync` the directory, so the rename itself is on disk.

Directories created on the way are made durable the same way (the parent of each new directory is fsynced).
A crash leaves at most a stray `.tmp-*` file, which readers ignore (no valid name starts with a dot) and
garbage collection removes. Removals fsync the directory too, so an acknowledged DELETE stays deleted.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = [
    "TMP_PREFIX",
    "atomic_write",
    "durable_move",
    "durable_remove",
    "ensure_dir",
    "fsync_dir",
    "fsync_file",
]

TMP_PREFIX = ".tmp-"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path) -> None:
    """Create `path` and missing parents, fsyncing the parent of every directory created."""
    if path.is_dir():
        return
    missing: list[Path] = []
    p = path
    while not p.is_dir():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        fsync_dir(d.parent)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace `path` with `data` atomically and durably."""
    ensure_dir(path.parent)
    tmp = path.parent / f"{TMP_PREFIX}{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def durable_move(src: Path, dst: Path) -> None:
    """Rename an already fsynced file to `dst` (same filesystem) and make the rename durable."""
    ensure_dir(dst.parent)
    os.replace(src, dst)
    fsync_dir(dst.parent)


def durable_remove(path: Path) -> bool:
    """Remove a file; True if it existed. The removal is fsynced."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True
