"""The aiohttp application: routing, authentication, authorization, and errors as ``Status``.

Every failure leaves here as a Kubernetes ``Status`` with the right HTTP code; an unexpected exception
is logged with its traceback and answered 500 ``InternalError`` (never an HTML page), so a client always
gets something it can print. Paths are matched with and without a trailing slash (kr8s asks for
``/api/``).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from ferry.cluster.apiserver import (
    discovery,
    errors,
    handlers,
    openapiv2,
    patching,
    streamproxy,
    subresources,
    watching,
)
from ferry.cluster.apiserver.auth import ANONYMOUS, Attributes, UserInfo
from ferry.cluster.apiserver.codec import dumps
from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.apiserver.routing import RequestInfo, resolve

log = logging.getLogger("ferry.apiserver")

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4+ferry",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-11-27T00:00:00Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}

CTX_KEY = web.AppKey("ctx", ApiContext)
USER_KEY = web.RequestKey("user", UserInfo)


def _status_response(err: errors.ApiError) -> web.Response:
    resp = web.Response(body=dumps(err.status()), status=err.code, content_type="application/json")
    for k, v in err.headers.items():
        resp.headers[k] = v
    return resp


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        resp: web.StreamResponse = await handler(request)
        return resp
    except errors.ApiError as e:
        return _status_response(e)
    except web.HTTPRequestEntityTooLarge:
        return _status_response(errors.too_large())
    except web.HTTPException as e:
        if e.status == 404:
            return _status_response(
                errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
            )
        if e.status == 405:
            return _status_response(
                errors.method_not_allowed("the server does not allow this method on the requested resource")
            )
        return _status_response(errors.ApiError(e.status, e.reason.replace(" ", ""), e.text or e.reason))
    except (ConnectionResetError, ConnectionError):
        raise
    except Exception as e:
        log.exception("internal error serving %s %s", request.method, request.path_qs)
        return _status_response(errors.internal(f"{type(e).__name__}: {e}"))


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    ctx = request.app[CTX_KEY]
    user = ctx.authenticator.authenticate(request.headers.get("Authorization"))
    if user is None:
        raise errors.unauthorized()
    request[USER_KEY] = user
    if user is ANONYMOUS:
        decision = ctx.authorizer.authorize(
            Attributes(user=user, verb="get", path=request.path, resource_request=False)
        )
        if not decision.allowed:
            raise errors.unauthorized()
    resp: web.StreamResponse = await handler(request)
    return resp


def _json(doc: Any, content_type: str = "application/json") -> web.Response:
    return web.Response(body=dumps(doc), headers={"Content-Type": content_type})


# -- non-resource endpoints ----------------------------------------------------------------------------
async def version(request: web.Request) -> web.Response:
    return _json(VERSION_INFO)


async def health(request: web.Request) -> web.Response:
    verbose = "verbose" in request.query
    name = request.path.strip("/").split("/")[0]
    body = f"[+]ping ok\n[+]etcd ok\n{name} check passed\n" if verbose else "ok"
    return web.Response(text=body, content_type="text/plain")


async def core_root(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    v = discovery.wants_aggregated(request.headers.get("Accept", ""))
    if v:
        ct = discovery.AGGREGATED_V2 if v == "v2" else discovery.AGGREGATED_V2BETA1
        return _json(discovery.aggregated(ctx.catalog, legacy=True, version=v), ct)
    return _json(discovery.api_versions(ctx.settings.server_address))


async def apis_root(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    v = discovery.wants_aggregated(request.headers.get("Accept", ""))
    if v:
        ct = discovery.AGGREGATED_V2 if v == "v2" else discovery.AGGREGATED_V2BETA1
        return _json(discovery.aggregated(ctx.catalog, legacy=False, version=v), ct)
    return _json(discovery.api_group_list(ctx.catalog))


async def openapi_root(request: web.Request) -> web.Response:
    return web.Response(body=request.app[CTX_KEY].openapi.root(), content_type="application/json")


async def openapi_doc(request: web.Request) -> web.Response:
    doc = request.app[CTX_KEY].openapi.document(request.match_info["path"])
    if doc is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
    return web.Response(body=doc, content_type="application/json")


async def openapi_v2(request: web.Request) -> web.Response:
    served = openapiv2.negotiate(request.headers.get("Accept", ""))
    if served is None:
        raise errors.ApiError(406, "NotAcceptable", "only application/json and protobuf are served", {})
    body = openapiv2.document_protobuf() if served == openapiv2.PROTOBUF else openapiv2.document_json()
    return web.Response(body=body, headers={"Content-Type": served, "Vary": "Accept"})


# -- resources -----------------------------------------------------------------------------------------
def _segments(tail: str) -> list[str]:
    return [s for s in tail.split("/") if s != ""]


async def core_resources(request: web.Request) -> web.StreamResponse:
    segs = _segments(request.match_info["tail"])
    if not segs:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
    version, rest = segs[0], segs[1:]
    ctx = request.app[CTX_KEY]
    if not rest:
        doc = discovery.resource_list(ctx.catalog, "", version)
        if doc is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        return _json(doc)
    return await _dispatch(request, ctx, resolve(ctx.catalog, "", version, rest))


async def group_resources(request: web.Request) -> web.StreamResponse:
    segs = _segments(request.match_info["tail"])
    ctx = request.app[CTX_KEY]
    if not segs:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
    group = segs[0]
    if len(segs) == 1:
        doc = discovery.api_group(ctx.catalog, group)
        if doc is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        return _json(doc)
    version, rest = segs[1], segs[2:]
    if not rest:
        doc = discovery.resource_list(ctx.catalog, group, version)
        if doc is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        return _json(doc)
    return await _dispatch(request, ctx, resolve(ctx.catalog, group, version, rest))


def _verb(request: web.Request, info: RequestInfo) -> str:
    m = request.method
    if m == "GET":
        if info.name is None:
            return "watch" if request.query.get("watch") in ("true", "1") else "list"
        return "get"
    if m == "DELETE":
        return "delete" if info.name is not None else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}[m]


async def _dispatch(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    verb = _verb(request, info)
    rt = info.rt
    user: UserInfo = request[USER_KEY]
    decision = ctx.authorizer.authorize(
        Attributes(
            user=user,
            verb=verb,
            namespace=info.namespace or "",
            group=rt.group,
            version=rt.version,
            resource=rt.plural,
            subresource=info.subresource,
            name=info.name or "",
        )
    )
    if not decision.allowed:
        what = f"{rt.plural}{'.' + rt.group if rt.group else ''}"
        raise errors.forbidden_error(
            f'{what} "{info.name or ""}" is forbidden: User "{user.name}" cannot {verb} resource "{rt.plural}" '
            f'in API group "{rt.group}"'
            + (f' in the namespace "{info.namespace}"' if info.namespace else " at the cluster scope")
        )
    base_verbs = set(rt.verbs)
    if info.subresource == "":
        if verb not in base_verbs:
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        if rt.group == "authorization.k8s.io" and rt.kind == "SelfSubjectAccessReview":
            return await subresources.self_subject_access_review(request, ctx, info, user)
        if info.name is None and verb in ("create",) and rt.namespaced and info.namespace is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        handler = {
            "get": handlers.get,
            "list": handlers.list_,
            "watch": watching.watch,
            "create": handlers.create,
            "update": handlers.update,
            "patch": patching.patch,
            "delete": handlers.delete,
            "deletecollection": handlers.delete_collection,
        }[verb]
        return await handler(request, ctx, info)
    sub = info.subresource
    if sub == "status":
        if verb == "get":
            return await handlers.get(request, ctx, info)
        if verb == "update":
            return await handlers.update(request, ctx, info)
        if verb == "patch":
            return await patching.patch(request, ctx, info)
    elif sub == "scale" and rt.scale is not None:
        if verb == "get":
            return await subresources.get_scale(ctx, info)
        if verb == "update":
            return await subresources.put_scale(request, ctx, info)
        if verb == "patch":
            return await patching.patch(request, ctx, info)
    elif sub == "log" and verb == "get":
        return await subresources.pod_log(request, ctx, info)
    elif sub == "binding" and verb == "create":
        return await subresources.bind_pod(request, ctx, info)
    elif sub == "eviction" and verb == "create":
        return await subresources.evict_pod(request, ctx, info)
    elif sub == "finalize" and verb == "update":
        return await subresources.finalize_namespace(request, ctx, info)
    elif sub in ("exec", "portforward", "attach") and rt.plural == "pods":
        return await streamproxy.serve_stream(request, ctx, info, user)
    raise errors.method_not_allowed("the server does not allow this method on the requested resource")


def build_app(ctx: ApiContext) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, auth_middleware], client_max_size=ctx.settings.max_body_bytes + 1
    )
    app[CTX_KEY] = ctx
    r = app.router
    for path, h in (("/version", version), ("/healthz", health), ("/livez", health), ("/readyz", health)):
        r.add_get(path, h)
        r.add_get(path + "/", h)
    r.add_get("/api", core_root)
    r.add_get("/api/", core_root)
    r.add_get("/apis", apis_root)
    r.add_get("/apis/", apis_root)
    r.add_get("/openapi/v3", openapi_root)
    r.add_get("/openapi/v3/", openapi_root)
    r.add_get("/openapi/v3/{path:.+}", openapi_doc)
    r.add_get("/openapi/v2", openapi_v2)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        r.add_route(method, "/api/{tail:.+}", core_resources)
        r.add_route(method, "/apis/{tail:.+}", group_resources)
    return app
