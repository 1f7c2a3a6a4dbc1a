"""Applying an OCI layer (a tar changeset) to a root filesystem directory, safely.

The OCI image spec's layer semantics, in the order the spec gives them:

* a file named ``.wh.<name>`` *deletes* ``<name>`` of the lower layers (the whiteout itself is not extracted);
* ``.wh..wh..opq`` in a directory makes it *opaque*: everything the lower layers put in that directory goes,
  the layer's own entries in it stay;
* an entry replaces whatever the lower layers had at that path, even of another type (a file over a
  directory, a directory over a symlink).

Whiteouts and type changes are applied before the layer's entries are written, so a layer can both clear a
directory and refill it.

**Safety.** A layer is untrusted input and is unpacked as root. Members with absolute paths, ``..``, device
nodes, and links that point out of the root filesystem are refused. Python's ``tar`` extraction filter (PEP 706)
refuses any member whose resolved path leaves the destination, following the symlinks that lower layers left
there. It does not stop a hard link to an absolute path (``/etc/passwd`` would be linked from the *host*), so
hard-link targets are made relative to the root and must resolve inside it. Symlinks may keep absolute targets (``/bin/sh -> /bin/busybox``): they are resolved inside the
container, never here. Before an entry is written, a symlink already at its path is removed, so a write can
never go through it. A whiteout is applied only when its parent directory resolves inside the root.
Ownership and modes come from the layer: setuid and setgid bits are dropped, as the ``tar`` filter does.

Errors: ``LayerError`` (one line: the layer and the member) — the caller discards the half-built root.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from pathlib import Path, PurePosixPath

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"

__all__ = ["OPAQUE", "WHITEOUT_PREFIX", "LayerError", "apply_layer"]


class LayerError(Exception):
    """A layer that cannot be applied: unreadable, or a member that would escape the root filesystem."""


def _clean(name: str) -> PurePosixPath | None:
    """The member's path relative to the root, or None for the root itself; LayerError if it escapes."""
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".", "/")]
    if any(p == ".." for p in parts):
        raise LayerError(f"member {name!r} has '..' in its path")
    return PurePosixPath(*parts) if parts else None


def _inside(root: Path, path: Path) -> bool:
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def _whiteouts(root: Path, members: list[tarfile.TarInfo]) -> list[tarfile.TarInfo]:
    """Apply the layer's whiteouts; returns the members left to extract."""
    keep: list[tarfile.TarInfo] = []
    for m in members:
        rel = _clean(m.name)
        if rel is None:
            continue
        base = rel.name
        if not base.startswith(WHITEOUT_PREFIX):
            keep.append(m)
            continue
        parent = root / rel.parent
        if not parent.exists() or not _inside(root, parent):
            continue  # nothing below to delete, or a parent outside: ignore, as runtimes do
        if base == OPAQUE:
            for child in parent.iterdir():
                _remove(child)
        else:
            target = parent / base[len(WHITEOUT_PREFIX) :]
            if target.exists() or target.is_symlink():
                _remove(target)
    return keep


def _make_room(root: Path, member: tarfile.TarInfo) -> None:
    """Remove what is at the member's path when the member replaces it (any type change, or a symlink)."""
    rel = _clean(member.name)
    if rel is None:
        return
    if member.islnk() and not _inside(root, root / member.linkname):
        raise LayerError(
            f"member {member.name!r} links to {member.linkname!r}, which leaves the root filesystem"
        )
    target = root / rel
    if not (target.exists() or target.is_symlink()):
        return
    if not _inside(root, target.parent):
        raise LayerError(f"member {member.name!r} is below a link that leaves the root filesystem")
    mode = os.lstat(target).st_mode
    if member.isdir():
        if not stat.S_ISDIR(mode):
            _remove(target)
    elif stat.S_ISLNK(mode) or stat.S_ISDIR(mode) or member.issym() or member.islnk():
        _remove(target)


def apply_layer(root: Path, layer: Path, *, label: str = "") -> None:
    """Apply the (gzip-compressed or plain) tar ``layer`` on top of the directory ``root``."""
    label = label or layer.name
    try:
        with tarfile.open(layer, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                if m.ischr() or m.isblk() or m.isfifo():
                    raise LayerError(f"member {m.name!r} is a device or fifo")
                _clean(m.name)  # refuses '..' before anything is touched
                if m.islnk():
                    # A hard link names a path in the image. Python's "tar" filter lets an absolute one
                    # through and os.path.join would then link to the *host's* file: make it relative.
                    target = _clean(m.linkname)
                    if target is None:
                        raise LayerError(f"member {m.name!r} is a hard link to the root directory")
                    m.linkname = str(target)
            members = _whiteouts(root, members)
            for m in members:
                # One member at a time: whether a path leaves the root depends on the symlinks the
                # members before it created, in this layer too.
                _make_room(root, m)
                tar.extract(m, root, filter="tar", numeric_owner=True)
    except LayerError as e:
        raise LayerError(f"layer {label}: {e}") from None
    except tarfile.FilterError as e:
        raise LayerError(f"layer {label}: refused member: {e}") from None
    except KeyError as e:  # tarfile: a hard link whose target is neither on disk nor in the archive
        raise LayerError(f"layer {label}: hard link target {e.args[0]}") from None
    except (tarfile.TarError, OSError, EOFError) as e:
        raise LayerError(f"layer {label}: cannot unpack: {e}") from None
