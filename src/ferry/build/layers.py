"""Reproducible layers: a set of file entries in, a gzipped tar with stable bytes out.

The same entries give the same bytes on every machine, whatever the checkout's mtimes, umask, owner or order of
directory listing, because every header field that could vary is fixed:

- entries sorted by path, parents before children; missing parent directories are added (0755);
- PAX format; mtime 0; uid/gid 0 (unless COPY --chown says otherwise); uname/gname empty;
- modes normalised: directories 0755, files 0644, or 0755 when any execute bit is set; symlinks 0777 and kept as
  symlinks (their target text unchanged); other file kinds (fifos, sockets, devices) are skipped;
- gzip with mtime 0 and no file name in the header, at a fixed compression level.

A layer carries two digests: `diff_id` of the uncompressed tar (what the image config lists in `rootfs.diff_ids`)
and `digest` of the compressed blob (what the manifest lists). Building is CPU work done in memory; callers run it
in a thread (`asyncio.to_thread`) for large layers.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ferry.build.errors import BuildError
from ferry.build.ignore import Ignore
from ferry.build.model import BlobSource

__all__ = ["COMPRESS_LEVEL", "Entry", "Layer", "build_layer", "collect_tree", "file_entry", "normal_mode"]

COMPRESS_LEVEL = 6


@dataclass(frozen=True)
class Entry:
    """One path in a layer. `path` is relative to the image root, posix, no leading slash."""

    path: str
    kind: Literal["file", "dir", "symlink"]
    mode: int
    source: Path | None = None
    data: bytes | None = None
    linkname: str = ""
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class Layer:
    """A built layer: compressed blob, its digest and size, the uncompressed tar's diff_id, and its history line."""

    digest: str
    diff_id: str
    size: int
    blob: BlobSource
    created_by: str


def normal_mode(st_mode: int) -> int:
    """0755 for directories and files with any execute bit, 0644 for other files."""
    if stat.S_ISDIR(st_mode) or st_mode & 0o111:
        return 0o755
    return 0o644


def file_entry(
    path: str, source: Path, *, uid: int = 0, gid: int = 0, chmod: int | None = None
) -> Entry | None:
    """The entry for one file, directory or symlink on disk at image path `path` (None for other file kinds)."""
    st = source.lstat()
    if stat.S_ISLNK(st.st_mode):
        return Entry(path, "symlink", 0o777, linkname=os.readlink(source), uid=uid, gid=gid)
    mode = chmod if chmod is not None else normal_mode(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        return Entry(path, "dir", mode, uid=uid, gid=gid)
    if stat.S_ISREG(st.st_mode):
        return Entry(path, "file", mode, source=source, uid=uid, gid=gid)
    return None


def collect_tree(
    root: Path,
    dest: str,
    *,
    ignore: Ignore | None = None,
    rel_prefix: str = "",
    uid: int = 0,
    gid: int = 0,
    chmod: int | None = None,
) -> list[Entry]:
    """Every entry under directory `root`, placed under image path `dest`.

    `ignore` is matched against `rel_prefix/<path below root>` (the path relative to the build context). Symlinks
    are not followed. `root` itself is not an entry; its contents are (as Docker's COPY copies a directory's
    contents, not the directory).
    """
    out: list[Entry] = []
    dest = dest.strip("/")
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        kept_dirs = []
        for name in sorted(dirnames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            ctx_rel = f"{rel_prefix}/{rel}" if rel_prefix else rel
            if ignore is not None and ignore.excluded(ctx_rel):
                if ignore.has_exceptions:
                    kept_dirs.append(name)  # an exception below may take a path back
                continue
            entry = file_entry(_join(dest, rel), here / name, uid=uid, gid=gid, chmod=chmod)
            if entry is not None:
                out.append(entry)
                if entry.kind == "dir":
                    kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            ctx_rel = f"{rel_prefix}/{rel}" if rel_prefix else rel
            if ignore is not None and ignore.excluded(ctx_rel):
                continue
            entry = file_entry(_join(dest, rel), here / name, uid=uid, gid=gid, chmod=chmod)
            if entry is not None:
                out.append(entry)
    return out


def _join(dest: str, rel: str) -> str:
    return f"{dest}/{rel}" if dest else rel


def _with_parents(entries: Iterable[Entry]) -> list[Entry]:
    by_path: dict[str, Entry] = {}
    for entry in entries:
        path = entry.path.strip("/")
        if not path or path == ".":
            continue
        by_path[path] = entry if entry.path == path else _replace_path(entry, path)
    for path in list(by_path):
        parts = path.split("/")
        for n in range(1, len(parts)):
            parent = "/".join(parts[:n])
            existing = by_path.get(parent)
            if existing is None:
                by_path[parent] = Entry(parent, "dir", 0o755)
            elif existing.kind != "dir":
                raise BuildError(f"{parent!r} is both a file and a directory in one layer")
    return [by_path[p] for p in sorted(by_path)]


def _replace_path(entry: Entry, path: str) -> Entry:
    return Entry(path, entry.kind, entry.mode, entry.source, entry.data, entry.linkname, entry.uid, entry.gid)


def tar_bytes(entries: Iterable[Entry]) -> bytes:
    """The uncompressed, reproducible tar of these entries."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in _with_parents(entries):
            info = tarfile.TarInfo(entry.path)
            info.mtime = 0
            info.uid, info.gid = entry.uid, entry.gid
            info.uname = info.gname = ""
            info.mode = entry.mode
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = entry.linkname
                tar.addfile(info)
            else:
                data = entry.data if entry.data is not None else _read(entry)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _read(entry: Entry) -> bytes:
    assert entry.source is not None
    try:
        return entry.source.read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read {entry.source}: {exc.strerror}") from None


def gzip_bytes(data: bytes) -> bytes:
    """gzip with mtime 0 and no file name, so the same tar always compresses to the same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=COMPRESS_LEVEL) as gz:
        gz.write(data)
    return buf.getvalue()


def build_layer(entries: Iterable[Entry], *, created_by: str) -> Layer:
    """Tar, hash and compress these entries into a layer held in memory."""
    raw = tar_bytes(entries)
    blob = gzip_bytes(raw)
    return Layer(
        digest="sha256:" + hashlib.sha256(blob).hexdigest(),
        diff_id="sha256:" + hashlib.sha256(raw).hexdigest(),
        size=len(blob),
        blob=blob,
        created_by=created_by,
    )
