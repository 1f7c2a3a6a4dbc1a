"""Blob downloads, streamed and verified: nothing lands under its final name unless its digest is right.

`pull_blob` streams `GET /v2/<repo>/blobs/<digest>` (following the redirect to object storage that GHCR, ECR
and S3-backed registries answer with; aiohttp drops the Authorization header when the redirect leaves the
registry's origin) through the digest's hash function:

- to a file: the bytes go to a hidden temporary file next to `dest` and are renamed onto `dest` only once the
  digest matches. On a mismatch — or any error, or cancellation — the temporary file is removed: a reader of
  `dest` sees the whole verified blob or nothing.
- to memory (`dest=None`): for manifests' configs and other small blobs.

A connection that breaks mid-body is retried per `RetryPolicy` with `Range: bytes=<received>-`; a registry that
answers the ranged request with a plain 200 (no range support) is read again from the start. Writes are plain
blocking writes of 1 MiB pieces: the page cache absorbs them faster than a registry sends.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO

import aiohttp

from ferry.registry._errors import DigestMismatch, RegistryUnavailable, describe_request
from ferry.registry._retry import retry_delay
from ferry.registry._transport import Transport
from ferry.registry.oci import parse_digest

__all__ = ["pull_blob"]

_PIECE = 1 << 20


async def pull_blob(t: Transport, repo: str, digest: str, dest: Path | None) -> bytes | None:
    """Download one blob and check its digest; to `dest` (returns None) or into memory (returns the bytes)."""
    algorithm, _ = parse_digest(digest)
    target = f"/v2/{repo}/blobs/{digest}"
    scope = f"repository:{repo}:pull"
    partial: Path | None = None
    sink: BinaryIO | None = None
    buffer = bytearray()
    if dest is not None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.partial"
        sink = partial.open("wb")
    try:
        hasher = hashlib.new(algorithm)
        received = 0
        failures = 0
        while True:
            headers = {"Range": f"bytes={received}-"} if received else None
            try:
                async with t.open("GET", target, scope=scope, ok=(200, 206), headers=headers) as resp:
                    if received and resp.status == 200:
                        hasher, received = hashlib.new(algorithm), 0
                        buffer.clear()
                        if sink is not None:
                            sink.seek(0)
                            sink.truncate()
                    async for piece in resp.content.iter_chunked(_PIECE):
                        hasher.update(piece)
                        received += len(piece)
                        if sink is not None:
                            sink.write(piece)
                        else:
                            buffer += piece
                break
            except (aiohttp.ClientError, TimeoutError) as exc:
                failures += 1
                delay = retry_delay(t.retry, failures, error=exc)
                if delay is None:
                    raise RegistryUnavailable(
                        f"registry {t.name}: download of {digest} broke off after {received} bytes: "
                        f"{exc or type(exc).__name__} {describe_request('GET', target)}"
                    ) from None
                await asyncio.sleep(delay)
        actual = f"{algorithm}:{hasher.hexdigest()}"
        if actual != digest:
            raise DigestMismatch(
                f"registry {t.name}: blob {digest} of {repo} arrived with digest {actual} ({received} bytes); "
                f"it was not kept {describe_request('GET', target)}"
            )
        if sink is not None and partial is not None and dest is not None:
            sink.close()
            os.replace(partial, dest)
            return None
        return bytes(buffer)
    except BaseException:
        if sink is not None:
            sink.close()
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise
