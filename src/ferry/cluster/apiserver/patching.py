"""PATCH: the four patch types, dispatched by Content-Type, each run as a guaranteed update.

* ``application/json-patch+json``         RFC 6902 (``kubectl rollout undo``)
* ``application/merge-patch+json``        RFC 7386 (``kubectl scale`` on /scale, ``patch --type merge``)
* ``application/strategic-merge-patch+json``  kubectl's default; built-in kinds only (415 for custom ones)
* ``application/apply-patch+yaml``        server-side apply; creates the object when it is missing (201)

A patch carrying ``metadata.resourceVersion`` is a precondition (``kubectl diff`` sends one), otherwise a
lost race is retried against the fresh object. Patch errors are 422 Invalid, like kube.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from ferry.cluster.apiserver import errors
from ferry.cluster.apiserver.codec import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_PATCH,
    decode_json,
    decode_yaml,
    media_type,
)
from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.apiserver.handlers import json_response, read_body, write_options
from ferry.cluster.apiserver.objects import now_utc, rfc3339
from ferry.cluster.apiserver.patch import (
    ApplyConflict,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    patch_meta,
    server_side_apply,
)
from ferry.cluster.apiserver.routing import RequestInfo
from ferry.cluster.apiserver.storage import WriteOptions, type_meta
from ferry.cluster.resources.schema_check import unknown_field_paths
from ferry.cluster.resources.types import Obj, ResourceType

_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


def _invalid_patch(err: PatchError) -> errors.ApiError:
    """kube answers a patch that cannot apply with a generic 422 whose cause carries the patch error."""
    if err.code == 400:
        return errors.bad_request(err.message)
    return errors.ApiError(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
        {"causes": [{"reason": "UnexpectedServerResponse", "message": err.message}]},
    )


def conflict_error(rt: ResourceType, name: str, exc: ApplyConflict) -> errors.ApiError:
    return errors.ApiError(
        409,
        "Conflict",
        str(exc),
        {"name": name, "group": rt.group, "kind": rt.plural, "causes": exc.causes()},
    )


def _reject_unknown_apply_fields(rt: ResourceType, namespace: str | None, name: str, doc: Obj) -> None:
    """Server-side apply converts the configuration to its typed schema first, so an unknown field is a
    400 whatever ``fieldValidation`` says, worded as structured-merge-diff words it."""
    probe = copy.deepcopy(doc)
    unknown = unknown_field_paths(rt, probe)
    if unknown:
        gvk = f"{rt.group}/{rt.version}, Kind={rt.kind}"
        detail = "\n".join(f".{p}: field not declared in schema" for p in unknown)
        raise errors.bad_request(
            f"failed to create typed patch object ({namespace or ''}/{name}; {gvk}): {detail}"
        )


def apply_patch(rt: ResourceType, ptype: str, obj: Obj, patch: Any, name: str) -> Obj:
    """Apply a non-SSA patch to ``obj`` (a fresh copy); raises ApiError 422 on a bad patch."""
    try:
        if ptype == JSON_PATCH:
            if not isinstance(patch, list):
                raise errors.bad_request(
                    "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                )
            patched: Obj = apply_json_patch(obj, patch)
            return patched
        if not isinstance(patch, dict):
            raise errors.bad_request(
                "json: cannot unmarshal non-object into Go value of type map[string]interface {}"
            )
        if ptype == MERGE_PATCH:
            merged: Obj = apply_merge_patch(obj, patch)
            return merged
        tmeta = patch_meta(rt.group, rt.kind) if rt.crd_name is None else None
        if tmeta is None:
            raise errors.ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )
        return apply_strategic_merge_patch(obj, patch, tmeta)
    except PatchError as e:
        raise _invalid_patch(e)


async def patch(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    assert info.name is not None
    ptype = media_type(request.headers.get("Content-Type"))
    if ptype not in _PATCH_TYPES:
        raise errors.ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: {', '.join(_PATCH_TYPES)}",
        )
    opts = write_options(request, apply=ptype == APPLY_PATCH)
    body = await read_body(request, ctx)
    if ptype == APPLY_PATCH:
        doc, dups = decode_yaml(body)
    else:
        doc, dups = decode_json(body) if body.strip() else (None, [])
    opts.duplicate_fields = dups
    if info.subresource == "scale":
        from ferry.cluster.apiserver.subresources import patch_scale

        return await patch_scale(ctx, info, ptype, doc, opts)
    if ptype == APPLY_PATCH:
        return await _server_side_apply(request, ctx, info, doc, opts)
    rt, name = info.rt, info.name

    async def mutate(old: Obj) -> tuple[Obj, bool]:
        return apply_patch(rt, ptype, old, doc, name), False

    result = await ctx.storage.guaranteed_update(
        rt, info.namespace, name, mutate, opts, subresource=info.subresource
    )
    return json_response(result.raw, 200, result.warnings)


async def _server_side_apply(
    request: web.Request, ctx: ApiContext, info: RequestInfo, doc: Any, opts: WriteOptions
) -> web.StreamResponse:
    rt, name = info.rt, info.name
    assert name is not None
    if not isinstance(doc, dict):
        raise errors.bad_request("error decoding YAML: the apply configuration must be an object")
    force_raw = request.query.get("force", "false")
    if force_raw not in ("true", "false", ""):
        raise errors.bad_request(f'invalid force value "{force_raw}"')
    force = force_raw == "true"
    for key, want in (("apiVersion", rt.api_version), ("kind", rt.kind)):
        if doc.get(key) != want:
            raise errors.bad_request(
                f"{key} of the applied configuration must be {want!r}, got {doc.get(key)!r}"
                if doc.get(key)
                else f"{key} must be set in the applied configuration"
            )
    m = doc.get("metadata")
    if not isinstance(m, dict) or m.get("name", name) != name:
        raise errors.bad_request(f"the name of the applied configuration must be {name!r}")
    m["name"] = name
    _reject_unknown_apply_fields(rt, info.namespace, name, doc)
    tmeta = type_meta(rt)
    now = rfc3339(now_utc())

    def apply_to(live: Obj | None) -> Obj:
        try:
            merged: Obj = server_side_apply(
                live,
                doc,
                manager=opts.field_manager,
                force=force,
                api_version=rt.api_version,
                meta=tmeta,
                now=now,
            )
        except ApplyConflict as e:
            raise conflict_error(rt, name, e)
        return merged

    if ctx.store.get(rt.store_key(info.namespace, name)) is None:
        try:
            result = await ctx.storage.create(
                rt, info.namespace, apply_to(None), opts, apply_manager=opts.field_manager
            )
            return json_response(result.raw, 201, result.warnings)
        except errors.ApiError as e:
            if e.reason != "AlreadyExists":
                raise  # someone created it meanwhile: fall through to the update path

    async def mutate(old: Obj) -> tuple[Obj, bool]:
        return apply_to(old), True

    result = await ctx.storage.guaranteed_update(
        rt, info.namespace, name, mutate, opts, subresource=info.subresource
    )
    return json_response(result.raw, 200, result.warnings)
