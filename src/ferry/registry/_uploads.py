"""Blob uploads: cross-repository mount, monolithic POST+PUT, and resumable chunked PATCH uploads.

The distribution spec's upload is a session: `POST /v2/<repo>/blobs/uploads/` opens it (202 + `Location`),
`PATCH <location>` appends a chunk (`Content-Range: <start>-<end>`, answered with the new `Location` and
`Range: 0-<last byte stored>`), and `PUT <location>?digest=<digest>` closes it; the registry hashes what it
received and refuses a digest that does not match (DIGEST_INVALID → `DigestMismatch`).

- Blobs up to `chunk_size` go in one PUT (two round trips, the bytes in memory once).
- Larger blobs — always given as a `Path` by the builder — go in `chunk_size` PATCHes read from the file one
  chunk at a time, so a 2 GB layer costs one chunk of memory.
- **Resuming.** A PATCH that fails (connection dropped mid-body, 5xx) may have left part of its bytes in the
  registry, or none: the client cannot know, so it asks. `GET <location>` answers with the `Range` the registry
  holds, and the upload continues from that offset. Distribution refuses to resume from a location whose state
  token no longer matches what it stored (BLOB_UPLOAD_INVALID) and forgets cancelled sessions (BLOB_UPLOAD_UNKNOWN):
  then the upload starts again in a new session. A failed final PUT is followed by a HEAD of the blob: the
  registry may have committed it before the connection broke. Consecutive failures without progress are bounded
  by the `RetryPolicy`; a PATCH that succeeds resets the count, so a long upload survives a flaky link.
- **Digest.** A caller-given digest is checked against the content before the upload is committed (the file is
  hashed as its chunks are acknowledged; bytes the registry took from a broken PATCH are hashed from the file
  when the last chunk is in). On a mismatch the session is cancelled (`DELETE <location>`) and nothing is stored.
- **Mount.** With `mount_from`, the POST asks the registry to link the blob from another repository of the same
  registry (201: done, no bytes sent); a registry that cannot mount answers 202 and the upload proceeds.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from urllib.parse import quote

from ferry.registry._errors import DigestMismatch, NotFound, RegistryError, RegistryUnavailable
from ferry.registry._retry import retry_delay
from ferry.registry._transport import Transport
from ferry.registry.oci import digest_of, parse_digest

__all__ = ["BlobSource", "blob_exists", "push_scope", "source_size", "upload_blob"]

BlobSource = bytes | Path
_OCTET = {"Content-Type": "application/octet-stream"}
_HASH_PIECE = 1 << 20


def push_scope(repo: str) -> str:
    return f"repository:{repo}:pull,push"


def source_size(source: BlobSource) -> int:
    if isinstance(source, bytes):
        return len(source)
    try:
        return source.stat().st_size
    except OSError as exc:
        raise RegistryError(f"cannot read blob source {source}: {exc.strerror or exc}") from None


def _read_range(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as f:
        f.seek(start)
        data = f.read(end - start)
    if len(data) != end - start:
        raise RegistryError(f"blob source {path} changed while it was being uploaded")
    return data


def _hash_file(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        while piece := f.read(_HASH_PIECE):
            h.update(piece)
    return f"{algorithm}:{h.hexdigest()}"


class _FileDigest:
    """The digest of a file, fed with the chunks as they are acknowledged and caught up from disk at the end."""

    def __init__(self, path: Path, algorithm: str) -> None:
        self._path, self._algorithm = path, algorithm
        self._hash = hashlib.new(algorithm)
        self._upto = 0

    def feed(self, offset: int, data: bytes) -> None:
        if offset == self._upto:
            self._hash.update(data)
            self._upto += len(data)

    def _catch_up(self, size: int) -> str:
        with self._path.open("rb") as f:
            f.seek(self._upto)
            while self._upto < size and (piece := f.read(min(_HASH_PIECE, size - self._upto))):
                self._hash.update(piece)
                self._upto += len(piece)
        return f"{self._algorithm}:{self._hash.hexdigest()}"

    async def result(self, size: int) -> str:
        return await asyncio.to_thread(self._catch_up, size)


def _transient(exc: RegistryError) -> bool:
    return isinstance(exc, RegistryUnavailable) or exc.status == 429


def _stored_until(range_header: str | None) -> int | None:
    """The offset after the last stored byte, from `Range: 0-<last>` (`0-0` read as empty, as Distribution means it)."""
    if not range_header:
        return None
    text = range_header.strip().removeprefix("bytes=")
    start, _, last = text.partition("-")
    try:
        first, end = int(start), int(last)
    except ValueError:
        return None
    if first != 0 or end < 0:
        return 0
    return 0 if end == 0 else end + 1


async def blob_exists(t: Transport, repo: str, digest: str) -> int | None:
    """The blob's size if the repository has it (HEAD), else None."""
    try:
        _, headers, _ = await t.fetch("HEAD", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull")
    except NotFound:
        return None
    length = headers.get("Content-Length")
    return int(length) if length and length.isdigit() else 0


async def _open_session(
    t: Transport, repo: str, digest: str, mount_from: str | None, scope: str
) -> str | None:
    """POST a new upload session; its Location, or None if the blob was mounted instead."""
    target = f"/v2/{repo}/blobs/uploads/"
    if mount_from:
        target += f"?mount={quote(digest, safe=':')}&from={quote(mount_from, safe='/')}"
    status, headers, _ = await t.fetch("POST", target, scope=scope, ok=(201, 202))
    if status == 201:
        return None  # mounted
    location = headers.get("Location")
    if not location:
        raise RegistryError(f"registry {t.name}: upload session for {repo} opened without a Location header")
    return str(t.url(location))


async def _cancel(t: Transport, location: str, scope: str) -> None:
    try:
        await t.fetch("DELETE", location, scope=scope, ok=(202, 204), retry=False)
    except RegistryError:
        pass  # the session expires on its own; the mismatch is what the caller needs to hear


def _commit_url(location: str, digest: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}digest={quote(digest, safe=':')}"


def _mismatch(t: Transport, repo: str, source: BlobSource, expected: str, actual: str) -> DigestMismatch:
    what = f"{source}" if isinstance(source, Path) else f"{len(source)} bytes"
    return DigestMismatch(
        f"registry {t.name}: blob for {repo} from {what} has digest {actual}, not the expected {expected}; "
        "nothing was stored"
    )


async def upload_blob(
    t: Transport,
    repo: str,
    source: BlobSource,
    digest: str | None,
    *,
    chunk_size: int,
    mount_from: str | None = None,
) -> tuple[str, int, bool]:
    """Upload (or mount) one blob the registry does not have: (digest, size, bytes were sent)."""
    size = source_size(source)
    if digest is not None:
        algorithm, _ = parse_digest(digest)
    else:
        algorithm = "sha256"
        if isinstance(source, bytes):
            digest = digest_of(source)
        else:
            digest = await asyncio.to_thread(_hash_file, source, algorithm)
    scope = push_scope(repo) + (f" repository:{mount_from}:pull" if mount_from else "")
    location = await _open_session(t, repo, digest, mount_from, scope)
    if location is None:
        return digest, size, False
    if isinstance(source, bytes) or size <= chunk_size:
        await _monolithic(t, repo, source, digest, algorithm, location, scope)
    else:
        await _chunked(t, repo, source, digest, algorithm, location, scope, size=size, chunk_size=chunk_size)
    return digest, size, True


async def _monolithic(
    t: Transport, repo: str, source: BlobSource, digest: str, algorithm: str, location: str, scope: str
) -> None:
    data = source if isinstance(source, bytes) else await asyncio.to_thread(source.read_bytes)
    actual = digest_of(data, algorithm)
    if actual != digest:
        await _cancel(t, location, scope)
        raise _mismatch(t, repo, source, digest, actual)
    failures = 0
    while True:
        try:
            await t.fetch(
                "PUT", _commit_url(location, digest), scope=scope, ok=(201,), headers=_OCTET, data=data
            )
            return
        except RegistryError as exc:
            if not _transient(exc):
                raise
            failures += 1
            delay = retry_delay(t.retry, failures)
            if delay is None:
                raise
            await asyncio.sleep(delay)
            if await blob_exists(t, repo, digest) is not None:
                return
            new_location = await _open_session(t, repo, digest, None, scope)
            assert new_location is not None
            location = new_location


async def _resume(t: Transport, repo: str, location: str, digest: str, scope: str) -> tuple[str, int]:
    """Where a broken upload stands: (location, offset) from the registry, or a fresh session at offset 0."""
    try:
        _, headers, _ = await t.fetch("GET", location, scope=scope, ok=(204,))
    except RegistryError as exc:
        if not isinstance(exc, NotFound) and exc.status != 400:
            raise
    else:
        offset = _stored_until(headers.get("Range"))
        if offset is not None:
            return str(t.url(headers.get("Location") or location)), offset
    fresh = await _open_session(t, repo, digest, None, scope)
    assert fresh is not None
    return fresh, 0


async def _chunked(
    t: Transport,
    repo: str,
    path: Path,
    digest: str,
    algorithm: str,
    location: str,
    scope: str,
    *,
    size: int,
    chunk_size: int,
) -> None:
    hasher = _FileDigest(path, algorithm)
    offset = 0
    failures = 0
    verified = False
    while True:
        try:
            if offset < size:
                end = min(offset + chunk_size, size)
                data = await asyncio.to_thread(_read_range, path, offset, end)
                headers = {**_OCTET, "Content-Range": f"{offset}-{end - 1}"}
                _, answer, _ = await t.fetch(
                    "PATCH", location, scope=scope, ok=(202, 204), headers=headers, data=data, retry=False
                )
                hasher.feed(offset, data)
                location = str(t.url(answer.get("Location") or location))
                stored = _stored_until(answer.get("Range"))
                offset = end if stored is None else stored
                failures = 0
                continue
            if not verified:
                actual = await hasher.result(size)
                if actual != digest:
                    await _cancel(t, location, scope)
                    raise _mismatch(t, repo, path, digest, actual)
                verified = True
            await t.fetch(
                "PUT", _commit_url(location, digest), scope=scope, ok=(201,), headers=_OCTET, retry=False
            )
            return
        except RegistryError as exc:
            if not _transient(exc) and exc.status != 416:
                raise
            failures += 1
            delay = retry_delay(t.retry, failures)
            if delay is None:
                await _cancel(t, location, scope)
                raise
            await asyncio.sleep(delay)
            if offset >= size and await blob_exists(t, repo, digest) is not None:
                return
            location, offset = await _resume(t, repo, location, digest, scope)
