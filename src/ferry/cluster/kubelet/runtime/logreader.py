"""Reading a container's CRI log file the way the kubelet serves ``pods/log``.

:func:`read_logs` yields the container's output as bytes, one chunk per record, with the semantics of
``kubectl logs`` flags (``PodLogOptions``), as kubelet's ``kuberuntime/logs`` implements them:

* ``tail=N``: only the last N *lines* (a P…P F run is one line); ``tail=0`` yields nothing (then follows).
* ``since_ns``: only records at or after that time (epoch ns; ``sinceSeconds``/``sinceTime`` become this).
* ``timestamps``: each line is prefixed by its record time, ``2026-11-27T05:30:00.123456789Z `` (kubelet's
  fixed nine-digit format), once per line, not per partial record.
* ``limit_bytes``: stop after that many bytes of output.
* ``follow``: after the end of the file, wait for more; stop once ``stopped()`` is true and the file has been
  read to its end (kubelet stops when the container is no longer running). A rotation (the path now names a
  new file) is noticed and the new file is read from its start.
* ``streams``: which of stdout/stderr (``kubectl`` always asks for both).

Partial records are yielded without a newline so the joined output is the original line. Malformed lines are
skipped (kubelet logs and skips them too). Only the current file is read, never the rotated ``.1``… files.

The reader is async so the API server's handler can stream it; file I/O is small blocking reads, polled every
``poll_seconds`` while following (kubelet uses fsnotify with a 1 s fallback; 0.1 s polling is simpler here).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ferry.cluster.kubelet.runtime.logs import LogRecord, format_timestamp, parse_line

__all__ = ["read_logs"]


def _lines(records: list[LogRecord]) -> list[list[LogRecord]]:
    """Group records into lines per stream: P records up to and including the F that ends them."""
    out: list[list[LogRecord]] = []
    open_lines: dict[str, list[LogRecord]] = {}
    for r in records:
        line = open_lines.setdefault(r.stream, [])
        if not line:
            out.append(line)
        line.append(r)
        if not r.partial:
            open_lines[r.stream] = []
    return out


def _render(r: LogRecord, *, first: bool, timestamps: bool) -> bytes:
    prefix = (format_timestamp(r.time_ns) + " ").encode() if timestamps and first else b""
    return prefix + r.content + (b"" if r.partial else b"\n")


async def read_logs(
    path: Path,
    *,
    tail: int | None = None,
    since_ns: int | None = None,
    timestamps: bool = False,
    follow: bool = False,
    limit_bytes: int | None = None,
    streams: tuple[str, ...] = ("stdout", "stderr"),
    stopped: Callable[[], bool] | None = None,
    poll_seconds: float = 0.1,
) -> AsyncIterator[bytes]:
    """The container's output from the CRI log at ``path`` (see the module docstring)."""
    budget = limit_bytes
    line_start: dict[str, bool] = {"stdout": True, "stderr": True}

    def emit(r: LogRecord) -> bytes | None:
        nonlocal budget
        if r.stream not in streams or (since_ns is not None and r.time_ns < since_ns):
            return None
        chunk = _render(r, first=line_start[r.stream], timestamps=timestamps)
        line_start[r.stream] = not r.partial
        if budget is not None:
            chunk = chunk[:budget]
            budget -= len(chunk)
        return chunk

    try:
        f = open(path, "rb")  # noqa: SIM115 - closed in finally
    except FileNotFoundError:
        if not follow:
            return
        while not path.exists():
            if stopped is not None and stopped():
                return
            await asyncio.sleep(poll_seconds)
        f = open(path, "rb")  # noqa: SIM115
    try:
        data = f.read()
        complete, _, carry = data.rpartition(b"\n")
        records = _parse_all(complete)
        if tail is not None:
            wanted = [
                line
                for line in _lines(records)
                if line[0].stream in streams and (since_ns is None or line[-1].time_ns >= since_ns)
            ]
            records = [r for line in deque(wanted, maxlen=tail) for r in line] if tail > 0 else []
        for r in records:
            chunk = emit(r)
            if chunk:
                yield chunk
            if budget is not None and budget <= 0:
                return
        if not follow:
            return
        inode = os.fstat(f.fileno()).st_ino
        while True:
            more = f.read()
            if more:
                carry += more
                complete, _, carry = carry.rpartition(b"\n")
                for r in _parse_all(complete):
                    chunk = emit(r)
                    if chunk:
                        yield chunk
                    if budget is not None and budget <= 0:
                        return
                continue
            try:
                rotated = os.stat(path).st_ino != inode
            except FileNotFoundError:
                rotated = False
            if rotated:
                if f.read(1):  # written just before the rename: read the old file out first
                    f.seek(-1, os.SEEK_CUR)
                    continue
                f.close()
                f = open(path, "rb")  # noqa: SIM115
                inode, carry = os.fstat(f.fileno()).st_ino, b""
                continue
            if stopped is not None and stopped():
                return
            await asyncio.sleep(poll_seconds)
    finally:
        f.close()


def _parse_all(data: bytes) -> list[LogRecord]:
    out = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            out.append(parse_line(line))
        except ValueError:
            continue
    return out
