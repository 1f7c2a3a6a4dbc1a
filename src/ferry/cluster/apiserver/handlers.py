"""REST verbs over resources: get, list, create, update, patch, delete, deletecollection.

Handlers only translate HTTP to :mod:`storage`/:mod:`deletion` calls and results back to HTTP; watch,
patch and the special subresources have their own modules. Answers are JSON; ``as=Table`` turns reads
into server-side printed tables.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ferry.cluster.apiserver import errors, table
from ferry.cluster.apiserver.codec import JSON, decode_body, dumps, list_body, media_type
from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.apiserver.deletion import DeleteOptions, delete_object
from ferry.cluster.apiserver.listing import list_objects
from ferry.cluster.apiserver.objects import now_utc
from ferry.cluster.apiserver.parsed import parsed
from ferry.cluster.apiserver.routing import RequestInfo
from ferry.cluster.apiserver.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)
from ferry.cluster.apiserver.storage import WriteOptions, WriteResult
from ferry.cluster.resources.fieldselectors import convert_field_selector


def json_response(body: bytes, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(body=body, status=status, content_type=JSON)
    for w in warnings or []:
        resp.headers.add("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return resp


def write_options(request: web.Request, *, apply: bool = False) -> WriteOptions:
    q = request.query
    dry = q.getall("dryRun", [])
    for d in dry:
        if d != "All":
            raise errors.bad_request(f'invalid dry run value: "{d}"; supported values: "All"')
    fv = q.get("fieldValidation", "Warn") or "Warn"
    if fv not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{fv}"')
    manager = q.get("fieldManager", "")
    if len(manager) > 128:
        raise errors.invalid("", "", "", [errors.too_long("fieldManager", 128)])
    if not manager:
        if apply:
            raise errors.invalid(
                "", "", "", [errors.required("fieldManager", "is required for apply requests")]
            )
        ua = request.headers.get("User-Agent", "")
        manager = ua.split("/", 1)[0][:128] if ua else "unknown"
    return WriteOptions(dry_run=bool(dry), field_manager=manager, field_validation=fv)


def selectors(request: web.Request, info: RequestInfo) -> tuple[LabelSelector | None, FieldSelector | None]:
    q = request.query
    try:
        labels = parse_label_selector(q["labelSelector"]) if q.get("labelSelector") else None
        fields = parse_field_selector(q["fieldSelector"]) if q.get("fieldSelector") else None
        if fields is not None:
            fields = convert_field_selector(info.rt.group, info.rt.kind, fields)
    except SelectorError as e:
        raise errors.bad_request(str(e))
    return labels, fields


async def read_body(request: web.Request, ctx: ApiContext) -> bytes:
    length = request.content_length
    if length is not None and length > ctx.settings.max_body_bytes:
        raise errors.too_large()
    chunks = []
    total = 0
    async for chunk in request.content.iter_chunked(65536):
        total += len(chunk)
        if total > ctx.settings.max_body_bytes:
            raise errors.too_large()
        chunks.append(chunk)
    return b"".join(chunks)


# -- reads ---------------------------------------------------------------------------------------------
async def get(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    assert info.name is not None
    entry = ctx.storage.get(info.rt, info.namespace, info.name)
    accept = request.headers.get("Accept", "")
    tv = table.wants_table(accept)
    if tv:
        include = request.query.get("includeObject", "Metadata")
        return json_response(
            table.table_bytes(
                info.rt,
                [entry.obj()],
                now_utc(),
                version=tv,
                list_meta={"resourceVersion": str(entry.rev)},
                include=include,
            )
        )
    pv = table.wants_partial_metadata(accept)
    if pv:
        return json_response(dumps(table.partial_metadata(entry.obj(), pv)))
    return json_response(entry.raw)


def _parse_limit(request: web.Request) -> int | None:
    raw = request.query.get("limit")
    if not raw:
        return None
    try:
        n = int(raw)
    except ValueError:
        raise errors.bad_request(f'invalid limit "{raw}"')
    return n if n > 0 else None


async def list_(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    labels, fields = selectors(request, info)
    q = request.query
    if q.get("resourceVersionMatch") and not q.get("resourceVersion"):
        raise errors.invalid(
            "ListOptions",
            "meta.k8s.io",
            "",
            [
                errors.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            ],
        )
    result = list_objects(
        ctx.store,
        info.rt,
        info.namespace,
        labels=labels,
        fields=fields,
        limit=_parse_limit(request),
        continue_token=q.get("continue") or None,
    )
    list_meta: dict[str, Any] = {"resourceVersion": str(result.revision)}
    if result.continue_token:
        list_meta["continue"] = result.continue_token
    if result.remaining:
        list_meta["remainingItemCount"] = result.remaining
    accept = request.headers.get("Accept", "")
    tv = table.wants_table(accept)
    if tv:
        include = q.get("includeObject", "Metadata")
        objs = [parsed(e.raw) for e in result.entries]
        return json_response(
            table.table_bytes(info.rt, objs, now_utc(), version=tv, list_meta=list_meta, include=include)
        )
    pv = table.wants_partial_metadata(accept)
    if pv:
        items = [dumps(table.partial_metadata(e.obj(), pv)) for e in result.entries]
        return json_response(list_body("PartialObjectMetadataList", f"meta.k8s.io/{pv}", items, list_meta))
    return json_response(
        list_body(f"{info.rt.kind}List", info.rt.api_version, [e.raw for e in result.entries], list_meta)
    )


# -- writes --------------------------------------------------------------------------------------------
async def decode(request: web.Request, ctx: ApiContext, opts: WriteOptions) -> Any:
    body = await read_body(request, ctx)
    obj, dups = decode_body(body, request.headers.get("Content-Type"))
    opts.duplicate_fields = dups
    return obj


def _result(result: WriteResult, status: int) -> web.Response:
    return json_response(result.raw, status, result.warnings)


async def create(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    opts = write_options(request)
    obj = await decode(request, ctx, opts)
    result = await ctx.storage.create(info.rt, info.namespace, obj, opts)
    return _result(result, 201)


async def update(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    assert info.name is not None
    opts = write_options(request)
    obj = await decode(request, ctx, opts)
    result = await ctx.storage.update(
        info.rt, info.namespace, info.name, obj, opts, subresource=info.subresource
    )
    return _result(result, 200)


async def delete(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    assert info.name is not None
    body = await read_body(request, ctx)
    parsed: Any = None
    if body.strip():
        try:
            parsed, _ = decode_body(body, request.headers.get("Content-Type") or JSON)
        except errors.ApiError:
            if media_type(request.headers.get("Content-Type")) != "application/vnd.kubernetes.protobuf":
                raise
            parsed = None  # a typed client's DeleteOptions we could not read: the defaults apply
    opts = DeleteOptions.parse(parsed, dict(request.query))
    result, deleted = await delete_object(ctx.storage, info.rt, info.namespace, info.name, opts)
    status = 202 if not deleted and opts.orphan_dependents is False else 200
    return json_response(result.raw, status)


async def delete_collection(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    labels, fields = selectors(request, info)
    body = await read_body(request, ctx)
    parsed = None
    if body.strip():
        try:
            parsed, _ = decode_body(body, request.headers.get("Content-Type") or JSON)
        except errors.ApiError:
            parsed = None
    opts = DeleteOptions.parse(parsed, dict(request.query))
    result = list_objects(
        ctx.store, info.rt, info.namespace, labels=labels, fields=fields, limit=None, continue_token=None
    )
    items: list[bytes] = []
    for entry in result.entries:
        name = entry.obj()["metadata"]["name"]
        ns = entry.obj()["metadata"].get("namespace")
        try:
            res, _ = await delete_object(ctx.storage, info.rt, ns, name, opts)
        except errors.ApiError as e:
            if e.code == 404:
                continue
            raise
        items.append(res.raw)
    return json_response(
        list_body(
            f"{info.rt.kind}List", info.rt.api_version, items, {"resourceVersion": str(ctx.store.revision)}
        )
    )
