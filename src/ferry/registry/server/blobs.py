"""Blob endpoints: HEAD/GET/DELETE a blob, and the upload protocol (monolithic, chunked, mount).

    POST   /v2/<name>/blobs/uploads/?digest=<d>           monolithic: body is the blob → 201
    POST   /v2/<name>/blobs/uploads/?mount=<d>&from=<r>   cross-repository mount → 201, or 202 (a new session)
    POST   /v2/<name>/blobs/uploads/                      start a session → 202 + Location, Range, Docker-Upload-UUID
    PATCH  <location>                                     append a chunk (Content-Range optional) → 202
    GET    <location>                                     progress → 204 + Range
    PUT    <location>?digest=<d>                          last chunk (optional) and finish → 201
    DELETE <location>                                     cancel → 204

A mount succeeds only when `from` holds the blob and the caller may pull from it (else the client just
uploads: the spec's fallback). Finishing verifies the digest of the whole content before the blob enters
the store; a mismatch stores nothing and drops the session (400 DIGEST_INVALID).

GET serves the file with sendfile and honours `Range` (206), through aiohttp's FileResponse.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ferry.registry.oci import parse_digest
from ferry.registry.server.auth import may
from ferry.registry.server.context import Context, absolute, checked_digest, checked_name
from ferry.registry.server.errors import blob_unknown, digest_invalid, unsupported
from ferry.registry.server.paths import Route
from ferry.registry.server.storage import DigestMismatch
from ferry.registry.server.uploads import Uploads, UploadSession

__all__ = ["handle_blob", "handle_upload"]


async def handle_blob(request: web.Request, ctx: Context, route: Route) -> web.StreamResponse:
    name, digest = checked_name(route.name), checked_digest(route.ref)
    if request.method == "DELETE":
        async with ctx.repo_lock(name):
            removed = await asyncio.to_thread(ctx.storage.unlink_blob, name, digest)
        if not removed:
            raise blob_unknown(digest, name)
        return web.Response(status=202, headers={"Docker-Content-Digest": digest})
    if not ctx.storage.has_blob_in(name, digest):
        raise blob_unknown(digest, name)
    return web.FileResponse(
        ctx.storage.blob_path(digest),
        headers={
            "Docker-Content-Digest": digest,
            "Content-Type": "application/octet-stream",
            "ETag": f'"{digest}"',
            "Cache-Control": "max-age=31536000",
        },
    )


def _session_headers(request: web.Request, session: UploadSession, size: int) -> dict[str, str]:
    return {
        "Location": absolute(request, f"/v2/{session.repository}/blobs/uploads/{session.uuid}"),
        "Range": f"0-{max(size - 1, 0)}",
        "Docker-Upload-UUID": session.uuid,
        "Content-Length": "0",
    }


def _created(request: web.Request, name: str, digest: str) -> web.Response:
    return web.Response(
        status=201,
        headers={
            "Location": absolute(request, f"/v2/{name}/blobs/{digest}"),
            "Docker-Content-Digest": digest,
            "Content-Length": "0",
        },
    )


async def _append_body(request: web.Request, uploads: Uploads, session: UploadSession) -> int:
    return await uploads.append(
        session,
        request.content.iter_chunked(1 << 20),
        content_range=request.headers.get("Content-Range"),
        content_length=request.content_length,
    )


async def _finish(request: web.Request, ctx: Context, session: UploadSession, digest: str) -> web.Response:
    """Verify and store the session's content as `digest`, link it into the repository, drop the session."""
    algorithm, _ = parse_digest(digest)
    known = ctx.uploads.known_digest(session, algorithm)
    try:
        await asyncio.to_thread(Uploads.fsync, session)
        await asyncio.to_thread(ctx.storage.ingest_file, session.data, digest, verified=known)
    except DigestMismatch as exc:
        ctx.uploads.drop(session.uuid)
        raise digest_invalid(f"{exc}; nothing was stored") from None
    await asyncio.to_thread(ctx.storage.link_blob, session.repository, digest)
    ctx.uploads.drop(session.uuid)
    return _created(request, session.repository, digest)


async def handle_upload(request: web.Request, ctx: Context, route: Route) -> web.StreamResponse:
    name = checked_name(route.name)
    method = request.method
    if method == "POST":
        if route.ref:
            raise unsupported("POST starts an upload at /v2/<name>/blobs/uploads/ (no session id)")
        return await _post(request, ctx, name)
    session = ctx.uploads.get(name, route.ref)
    if method == "GET":
        return web.Response(status=204, headers=_session_headers(request, session, session.size))
    if method == "DELETE":
        async with ctx.uploads.lock(session.uuid):
            ctx.uploads.drop(session.uuid)
        return web.Response(status=204)
    if method == "PATCH":
        async with ctx.uploads.lock(session.uuid):
            session = ctx.uploads.get(name, session.uuid)  # not finished or cancelled meanwhile
            size = await _append_body(request, ctx.uploads, session)
        return web.Response(status=202, headers=_session_headers(request, session, size))
    if method == "PUT":
        digest = request.query.get("digest")
        if not digest:
            raise digest_invalid("PUT finishing an upload needs ?digest=<algorithm>:<hex>")
        checked_digest(digest)
        async with ctx.uploads.lock(session.uuid):
            ctx.uploads.get(name, session.uuid)  # not cancelled meanwhile
            if request.body_exists:
                await _append_body(request, ctx.uploads, session)
            return await _finish(request, ctx, session, digest)
    raise unsupported(f"{method} is not supported on an upload")


async def _post(request: web.Request, ctx: Context, name: str) -> web.Response:
    mount, source = request.query.get("mount"), request.query.get("from")
    if mount:
        checked_digest(mount)
        if source and source != name:
            checked_name(source)
            if may(request, source, "pull") and ctx.storage.has_blob_in(source, mount):
                await asyncio.to_thread(ctx.storage.link_blob, name, mount)
                return _created(request, name, mount)
        elif ctx.storage.has_blob_in(name, mount):
            return _created(request, name, mount)
    session = await asyncio.to_thread(ctx.uploads.start, name)
    digest = request.query.get("digest")
    if digest and not mount:
        checked_digest(digest)
        async with ctx.uploads.lock(session.uuid):
            if request.body_exists:
                await _append_body(request, ctx.uploads, session)
            return await _finish(request, ctx, session, digest)
    return web.Response(status=202, headers=_session_headers(request, session, 0))
