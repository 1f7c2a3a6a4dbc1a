"""Blob upload sessions: start, append chunks in order, report progress, finish with a digest, cancel.

A session is a directory `uploads/<uuid>/` holding `meta.json` (repository, start time) and `data` (the
bytes received so far). The size of `data` *is* the upload's progress: `GET` on the session answers
`Range: 0-<size-1>`, which is what a client resumes from after a failure, so each chunk is fsynced before
it is acknowledged (a 202 to PATCH survives kill -9 like everything else).

Chunks must arrive in order: a `Content-Range` whose start is not the current size is answered 416 with
the current Range and nothing is appended. A PATCH without `Content-Range` (Docker, containers/image
stream the whole blob that way) appends.

Hashing: while chunks arrive in order, a running sha256 of the session is kept in memory, so finishing a
large upload does not read it back; if the process restarted in between (no hasher, or a hasher for a
different length) the file is hashed at finish. Either way the digest is checked before the blob is
moved into the store, and a mismatch stores nothing (the session is dropped).

One lock per session serialises concurrent requests on the same upload.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import time
import uuid as uuidlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.registry.server.durable import atomic_write, ensure_dir, fsync_file
from ferry.registry.server.errors import blob_upload_invalid, blob_upload_unknown, range_invalid

__all__ = ["UploadSession", "Uploads", "parse_content_range"]

_UUID_RE = re.compile(r"[0-9a-f]{32}")
_CONTENT_RANGE_RE = re.compile(r"(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?")


def parse_content_range(value: str) -> tuple[int, int]:
    """`<start>-<end>` (inclusive), as Distribution reads it; `bytes ` prefix and `/<total>` tolerated."""
    m = _CONTENT_RANGE_RE.fullmatch(value.strip())
    if m is None or int(m.group(2)) < int(m.group(1)):
        raise blob_upload_invalid(f"invalid Content-Range {value!r}: expected <start>-<end>")
    return int(m.group(1)), int(m.group(2))


@dataclass
class UploadSession:
    uuid: str
    repository: str
    started: float
    data: Path

    @property
    def size(self) -> int:
        return self.data.stat().st_size


class Uploads:
    """The upload sessions of one registry."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}
        self._hashers: dict[str, tuple[Any, int]] = {}

    def lock(self, uuid: str) -> asyncio.Lock:
        return self._locks.setdefault(uuid, asyncio.Lock())

    def start(self, repository: str) -> UploadSession:
        uuid = uuidlib.uuid4().hex
        d = self.root / uuid
        ensure_dir(d)
        started = time.time()
        atomic_write(d / "meta.json", json.dumps({"repository": repository, "started": started}).encode())
        atomic_write(d / "data", b"")
        self._hashers[uuid] = (hashlib.sha256(), 0)
        return UploadSession(uuid, repository, started, d / "data")

    def get(self, repository: str, uuid: str) -> UploadSession:
        """The session, if it exists and belongs to `repository`; else BLOB_UPLOAD_UNKNOWN."""
        if not _UUID_RE.fullmatch(uuid):
            raise blob_upload_unknown(uuid)
        d = self.root / uuid
        try:
            meta = json.loads((d / "meta.json").read_text())
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
            raise blob_upload_unknown(uuid) from None
        if meta.get("repository") != repository or not (d / "data").exists():
            raise blob_upload_unknown(uuid)
        return UploadSession(uuid, repository, float(meta.get("started", 0)), d / "data")

    async def append(
        self,
        session: UploadSession,
        chunks: AsyncIterator[bytes],
        *,
        content_range: str | None,
        content_length: int | None,
    ) -> int:
        """Append one chunk (in order) and fsync it; returns the new size."""
        size = session.size
        if content_range is not None:
            start, end = parse_content_range(content_range)
            if start != size:
                raise range_invalid(
                    f"chunk starts at byte {start} but upload {session.uuid} has {size} bytes: send chunks in order",
                    size=size,
                )
            if content_length is not None and content_length != end - start + 1:
                raise range_invalid(
                    f"Content-Range {content_range} is {end - start + 1} bytes but Content-Length is {content_length}",
                    size=size,
                )
        hasher, hashed = self._hashers.get(session.uuid, (None, -1))
        if hashed != size:
            hasher = None
        written = 0
        with open(session.data, "ab") as f:
            async for chunk in chunks:
                f.write(chunk)
                written += len(chunk)
                if hasher is not None:
                    hasher.update(chunk)
            f.flush()
            await asyncio.to_thread(os.fsync, f.fileno())
        if hasher is not None:
            self._hashers[session.uuid] = (hasher, size + written)
        else:
            self._hashers.pop(session.uuid, None)
        return size + written

    def known_digest(self, session: UploadSession, algorithm: str) -> str | None:
        """The digest of the whole session if it was computed while streaming, else None."""
        hasher, hashed = self._hashers.get(session.uuid, (None, -1))
        if hasher is None or algorithm != "sha256" or hashed != session.size:
            return None
        return f"sha256:{hasher.copy().hexdigest()}"

    def drop(self, uuid: str) -> None:
        """Forget a session (finished, failed or cancelled) and remove its files."""
        self._hashers.pop(uuid, None)
        self._locks.pop(uuid, None)
        shutil.rmtree(self.root / uuid, ignore_errors=True)

    @staticmethod
    def fsync(session: UploadSession) -> None:
        fsync_file(session.data)
