"""Manifest endpoints: PUT (validate, enforce the tag policy, store exact bytes), GET/HEAD, DELETE.

PUT checks, in order, and writes nothing unless all pass:
1. the body parses as an image manifest or index (`Manifest.parse`, with the request's Content-Type) and is
   at most `max_manifest_bytes` (4 MiB, Distribution's limit) → else MANIFEST_INVALID / SIZE_INVALID;
2. a digest reference equals the digest of the body → else DIGEST_INVALID; a tag matches the tag grammar →
   else TAG_INVALID;
3. everything it references is in this repository: config and layers as blobs (with the declared size),
   index children as manifests → else MANIFEST_BLOB_UNKNOWN. Non-distributable ("foreign") layers are not
   required, as in Distribution. A `subject` need not exist (image-spec 1.1);
4. the repository's tag policy (`policy.check_tag_push`) → else TAG_INVALID with the reason.
Then content, revision link, referrer link and tag are written in that order (see `storage`), and the 201
carries `Docker-Content-Digest`, `Location` and, for a manifest with a subject, `OCI-Subject`.

GET/HEAD negotiate like Distribution: an OCI manifest or index is served only if the Accept header lists
its media type (a missing Accept or `*/*` accepts everything: a deviation that keeps curl usable); a Docker
manifest list asked for without list support is answered with its linux/amd64 image, as Distribution does.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ferry.registry.oci import (
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    OciError,
    digest_of,
    parse_digest,
    valid_tag,
)
from ferry.registry.server.context import Context, absolute, checked_digest, checked_name
from ferry.registry.server.errors import (
    RegistryHttpError,
    denied,
    digest_invalid,
    manifest_blob_unknown,
    manifest_invalid,
    manifest_unknown,
    name_unknown,
    tag_invalid,
    unsupported,
)
from ferry.registry.server.paths import Route
from ferry.registry.server.policy import check_tag_delete, check_tag_push, policy_for

__all__ = ["accepted_types", "handle_manifest"]

_FOREIGN_PREFIXES = (
    "application/vnd.oci.image.layer.nondistributable.",
    "application/vnd.docker.image.rootfs.foreign.",
)


def accepted_types(request: web.Request) -> set[str] | None:
    """Media types from every Accept header; None means anything goes (no Accept, or */*)."""
    out: set[str] = set()
    for header in request.headers.getall("Accept", []):
        for part in header.split(","):
            media_type = part.split(";")[0].strip()
            if media_type:
                out.add(media_type)
    if not out or "*/*" in out:
        return None
    return out


async def handle_manifest(request: web.Request, ctx: Context, route: Route) -> web.StreamResponse:
    name = checked_name(route.name)
    if request.method in ("GET", "HEAD"):
        return _get(request, ctx, name, route.ref)
    if request.method == "PUT":
        return await _put(request, ctx, name, route.ref)
    if request.method == "DELETE":
        return await _delete(ctx, name, route.ref)
    raise unsupported(f"{request.method} is not supported on manifests")


def _resolve(ctx: Context, name: str, reference: str) -> str:
    if ":" in reference:
        return checked_digest(reference)
    if not valid_tag(reference):
        raise tag_invalid(f"invalid tag {reference!r}")
    if not ctx.storage.repo_exists(name):
        raise name_unknown(name)
    digest = ctx.storage.resolve_tag(name, reference)
    if digest is None:
        raise manifest_unknown(reference, name)
    return digest


def _get(request: web.Request, ctx: Context, name: str, reference: str) -> web.Response:
    digest = _resolve(ctx, name, reference)
    found = ctx.storage.read_manifest(name, digest)
    if found is None:
        if not ctx.storage.repo_exists(name):
            raise name_unknown(name)
        raise manifest_unknown(reference, name)
    raw, media_type = found
    accepted = accepted_types(request)
    if accepted is not None and media_type not in accepted:
        if media_type == DOCKER_MANIFEST_LIST:
            child = _platform_child(ctx, name, raw)
            if child is not None:
                digest, (raw, media_type) = child
        elif media_type in (OCI_MANIFEST, OCI_INDEX):
            kind = "OCI index" if media_type == OCI_INDEX else "OCI manifest"
            raise manifest_unknown(
                reference, name, f"{kind} found, but the Accept header does not include {media_type}"
            )
    headers = {"Docker-Content-Digest": digest, "ETag": f'"{digest}"'}
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(raw))
        headers["Content-Type"] = media_type
        return web.Response(status=200, headers=headers)
    return web.Response(status=200, body=raw, headers={**headers, "Content-Type": media_type})


def _platform_child(ctx: Context, name: str, raw: bytes) -> tuple[str, tuple[bytes, str]] | None:
    try:
        index = Manifest.parse(raw)
    except OciError:
        return None
    for d in index.manifests:
        platform = d.platform or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            found = ctx.storage.read_manifest(name, d.digest)
            if found is not None:
                return d.digest, found
    return None


def _check_references(ctx: Context, name: str, manifest: Manifest) -> None:
    if manifest.is_index:
        for child in manifest.manifests:
            if ctx.storage.manifest_media_type(name, child.digest) is None:
                raise manifest_blob_unknown(child.digest, name)
        return
    for d in ([manifest.config] if manifest.config else []) + list(manifest.layers):
        if d.media_type.startswith(_FOREIGN_PREFIXES):
            continue
        if not ctx.storage.has_blob_in(name, d.digest):
            raise manifest_blob_unknown(d.digest, name)
        size = ctx.storage.blob_size(d.digest)
        if size != d.size:
            raise manifest_invalid(f"descriptor of {d.digest} says {d.size} bytes but the blob has {size}")


async def _put(request: web.Request, ctx: Context, name: str, reference: str) -> web.Response:
    limit = ctx.settings.max_manifest_bytes
    if request.content_length is not None and request.content_length > limit:
        raise RegistryHttpError(413, "SIZE_INVALID", f"manifest is larger than {limit} bytes")
    raw = await request.read()
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip() or None
    try:
        manifest = Manifest.parse(raw, content_type)
    except OciError as exc:
        raise manifest_invalid(str(exc)) from None
    tag: str | None = None
    if ":" in reference:
        algorithm, _ = parse_digest(checked_digest(reference))
        digest = digest_of(raw, algorithm)
        if digest != reference:
            raise digest_invalid(f"manifest body has digest {digest}, not {reference}; nothing was stored")
    else:
        if not valid_tag(reference):
            raise tag_invalid(f"invalid tag {reference!r}: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}")
        tag, digest = reference, manifest.digest
    _check_references(ctx, name, manifest)
    subject = manifest.subject.digest if manifest.subject else None
    async with ctx.repo_lock(name):
        if tag is not None:
            current = ctx.storage.resolve_tag(name, tag)
            refusal = check_tag_push(policy_for(ctx.settings, name), name, tag, current, digest)
            if refusal:
                raise tag_invalid(refusal)
        await asyncio.to_thread(_store, ctx, name, raw, digest, manifest.media_type, subject, tag)
    headers = {
        "Location": absolute(request, f"/v2/{name}/manifests/{digest}"),
        "Docker-Content-Digest": digest,
        "Content-Length": "0",
    }
    if subject:
        headers["OCI-Subject"] = subject
    return web.Response(status=201, headers=headers)


def _store(
    ctx: Context, name: str, raw: bytes, digest: str, media_type: str, subject: str | None, tag: str | None
) -> None:
    ctx.storage.put_manifest(name, raw, digest, media_type, subject)
    if tag is not None and ctx.storage.resolve_tag(name, tag) != digest:
        ctx.storage.set_tag(name, tag, digest)


async def _delete(ctx: Context, name: str, reference: str) -> web.Response:
    policy = policy_for(ctx.settings, name)
    async with ctx.repo_lock(name):
        if ":" not in reference:
            if ctx.storage.resolve_tag(name, _valid(reference)) is None:
                raise manifest_unknown(reference, name)
            refusal = check_tag_delete(policy, name, [reference])
            if refusal:
                raise denied(refusal)
            await asyncio.to_thread(ctx.storage.delete_tag, name, reference)
            return web.Response(status=202)
        digest = checked_digest(reference)
        found = ctx.storage.read_manifest(name, digest)
        if found is None:
            raise manifest_unknown(reference, name)
        refusal = check_tag_delete(policy, name, ctx.storage.tags_pointing_to(name, digest))
        if refusal:
            raise denied(refusal)
        try:
            subject = Manifest.parse(found[0], found[1]).subject
        except OciError:
            subject = None
        await asyncio.to_thread(
            ctx.storage.delete_manifest, name, digest, subject.digest if subject else None
        )
    return web.Response(status=202)


def _valid(tag: str) -> str:
    if not valid_tag(tag):
        raise tag_invalid(f"invalid tag {tag!r}")
    return tag
