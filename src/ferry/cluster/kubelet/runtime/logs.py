"""Container logs in the CRI format the kubelet reads, written per container instance and rotated by size.

**Format** (``k8s.io/cri-api`` logging, as containerd writes it): one record per line::

    2026-11-27T05:30:00.123456789Z stdout F hello
    <RFC 3339 UTC time, 9 digits> <stdout|stderr> <tag> <content>

Tag ``F`` ends a line; ``P`` is a *partial* record: a line longer than ``max_line_bytes`` (16 KiB, containerd's
default) is cut into P records followed by one F record, and the reader joins them. A last line without a
newline (the process exited mid-line) is written as an F record when the stream ends, as containerd does
(``bufio.Reader.ReadLine`` returns it as a whole line at EOF). The content keeps its bytes as they are (no
decoding); the newline is the record's own.

**Files**: ``<log dir>/<container>/<restartCount>.log`` (:func:`log_path`), one per instance, as the kubelet's
``/var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log``; so ``--previous`` is the file of ``restartCount - 1``.

**Rotation**: when the file would exceed ``max_bytes``, it is renamed ``<n>.log.1`` (older ones shift up to
``.<max_files - 1>``, the oldest is dropped) and a new ``<n>.log`` is opened; a record is never split across
files. Like the kubelet, the reader (:mod:`~ferry.cluster.kubelet.runtime.logreader`) serves the current file
only, so ``kubectl logs`` shows what has not been rotated away.

The writer is used by the shim (:mod:`~ferry.cluster.kubelet.runtime.shim`), one per container, from a single
thread: no locking. :func:`parse_line` is the inverse of :func:`format_record`.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

__all__ = [
    "MAX_LINE_BYTES",
    "LogRecord",
    "LogWriter",
    "format_record",
    "format_timestamp",
    "log_path",
    "parse_line",
    "parse_timestamp",
]

MAX_LINE_BYTES = 16 * 1024
Stream = Literal["stdout", "stderr"]


def log_path(log_dir: Path, container: str, restart_count: int) -> Path:
    """``<log dir>/<container>/<restartCount>.log``: one file per container instance."""
    return log_dir / container / f"{restart_count}.log"


def format_timestamp(t_ns: int) -> str:
    """Epoch nanoseconds as ``2026-11-27T05:30:00.123456789Z`` (always 9 fraction digits, UTC)."""
    seconds, nanos = divmod(t_ns, 1_000_000_000)
    base = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{nanos:09d}Z"


def parse_timestamp(text: str) -> int:
    """RFC 3339 with up to 9 fraction digits and a ``Z`` or ``±hh:mm`` offset, as epoch nanoseconds."""
    if text.endswith("Z"):
        body, offset = text[:-1], dt.timedelta(0)
    else:
        body, sign, off = text[:-6], text[-6], text[-5:]
        hours, minutes = int(off[:2]), int(off[3:])
        offset = dt.timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
    whole, _, frac = body.partition(".")
    if len(frac) > 9 or (frac and not frac.isdigit()):
        raise ValueError(f"invalid timestamp {text!r}")
    base = dt.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC) - offset
    return int(base.timestamp()) * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


def format_record(t_ns: int, stream: Stream, partial: bool, content: bytes) -> bytes:
    return b"%s %s %s %s\n" % (
        format_timestamp(t_ns).encode(),
        stream.encode(),
        b"P" if partial else b"F",
        content,
    )


@dataclass(frozen=True)
class LogRecord:
    time_ns: int
    stream: Stream
    partial: bool
    content: bytes  # without the record's newline


def parse_line(line: bytes) -> LogRecord:
    """One CRI log record (with or without its trailing newline); ``ValueError`` if malformed."""
    if line.endswith(b"\n"):
        line = line[:-1]
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        raise ValueError(f"invalid CRI log line {line[:80]!r}")
    stamp, stream, tag = parts[0], parts[1], parts[2]
    if stream not in (b"stdout", b"stderr") or tag not in (b"P", b"F"):
        raise ValueError(f"invalid CRI log line {line[:80]!r}")
    return LogRecord(
        time_ns=parse_timestamp(stamp.decode()),
        stream="stdout" if stream == b"stdout" else "stderr",
        partial=tag == b"P",
        content=parts[3] if len(parts) == 4 else b"",
    )


class LogWriter:
    """Appends CRI records for one container instance, rotating by size (module docstring)."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 10 * 1024 * 1024,
        max_files: int = 5,
        max_line_bytes: int = MAX_LINE_BYTES,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if max_files < 1:
            raise ValueError("max_files must be at least 1")
        self.path = path
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.max_line_bytes = max_line_bytes
        self.clock_ns = clock_ns
        self._pending: dict[Stream, bytes] = {"stdout": b"", "stderr": b""}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = open(path, "ab")  # noqa: SIM115 - closed by close()
        self._size = self._file.tell()

    def write(self, stream: Stream, data: bytes) -> None:
        """Bytes the container wrote on ``stream``: complete lines become records, the rest waits."""
        buf = self._pending[stream] + data
        *lines, rest = buf.split(b"\n")
        for line in lines:
            self._emit(stream, line)
        while len(rest) > self.max_line_bytes:  # a long line without its end yet: flush it as partials
            self._record(stream, True, rest[: self.max_line_bytes])
            rest = rest[self.max_line_bytes :]
        self._pending[stream] = rest
        self._file.flush()

    def close(self) -> None:
        """Write unterminated last lines as full records (the process ended mid-line), then close."""
        streams: tuple[Stream, ...] = ("stdout", "stderr")
        for stream in streams:
            if self._pending[stream]:
                self._emit(stream, self._pending[stream])
                self._pending[stream] = b""
        self._file.close()

    def _emit(self, stream: Stream, line: bytes) -> None:
        while len(line) > self.max_line_bytes:
            self._record(stream, True, line[: self.max_line_bytes])
            line = line[self.max_line_bytes :]
        self._record(stream, False, line)

    def _record(self, stream: Stream, partial: bool, content: bytes) -> None:
        record = format_record(self.clock_ns(), stream, partial, content)
        if self._size and self._size + len(record) > self.max_bytes:
            self._rotate()
        self._file.write(record)
        self._size += len(record)

    def _rotate(self) -> None:
        self._file.close()
        keep = self.max_files - 1  # rotated files kept beside the current one
        if keep < 1:
            self.path.unlink(missing_ok=True)
        else:
            oldest = self.path.with_name(f"{self.path.name}.{keep}")
            oldest.unlink(missing_ok=True)
            for n in range(keep - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{n}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = open(self.path, "ab")  # noqa: SIM115
        self._size = 0
