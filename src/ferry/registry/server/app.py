"""The aiohttp application: one catch-all `/v2/...` route dispatched by `paths`, plus `/token`.

Middlewares, outermost first:
- errors: a `RegistryHttpError` becomes the spec's JSON error body (none for HEAD); anything unexpected is
  logged and answered 500 UNKNOWN, so a client never sees an HTML error page;
- auth (`auth`): Basic or bearer, when users are configured.

Every response carries `Docker-Distribution-API-Version: registry/2.0` (clients probe `/v2/` for it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ferry.registry.server.auth import AUTH_KEY, AuthState, auth_middleware, token_handler
from ferry.registry.server.blobs import handle_blob, handle_upload
from ferry.registry.server.context import CTX_KEY, Context
from ferry.registry.server.credentials import TokenSigner, Users
from ferry.registry.server.durable import ensure_dir
from ferry.registry.server.errors import RegistryHttpError, error_response, unsupported
from ferry.registry.server.listing import handle_catalog, handle_referrers, handle_tags
from ferry.registry.server.manifests import handle_manifest
from ferry.registry.server.paths import Route, match_route
from ferry.registry.server.policy import RegistrySettings
from ferry.registry.server.storage import Storage
from ferry.registry.server.uploads import Uploads

__all__ = ["make_app"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RouteHandler = Callable[[web.Request, Context, Route], Awaitable[web.StreamResponse]]

_READ = ("GET", "HEAD")


async def _base(request: web.Request, ctx: Context, route: Route) -> web.StreamResponse:
    return web.json_response({})


def _sync(fn: Callable[[web.Request, Context, Route], web.StreamResponse]) -> RouteHandler:
    async def run(request: web.Request, ctx: Context, route: Route) -> web.StreamResponse:
        return fn(request, ctx, route)

    return run


_TABLE: dict[str, tuple[tuple[str, ...], RouteHandler]] = {
    "base": (_READ, _base),
    "catalog": (_READ, _sync(handle_catalog)),
    "tags": (_READ, _sync(handle_tags)),
    "referrers": (_READ, _sync(handle_referrers)),
    "manifest": ((*_READ, "PUT", "DELETE"), handle_manifest),
    "blob": ((*_READ, "DELETE"), handle_blob),
    "upload": (("GET", "POST", "PATCH", "PUT", "DELETE"), handle_upload),
}


async def _dispatch(request: web.Request) -> web.StreamResponse:
    route = match_route(request.path)
    if route is None:
        raise RegistryHttpError(404, "NOT_FOUND", f"no registry endpoint at {request.path}")
    methods, handler = _TABLE[route.kind]
    if request.method not in methods:
        raise unsupported(f"{request.method} is not supported on {route.kind} endpoints")
    return await handler(request, request.app[CTX_KEY], route)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except RegistryHttpError as err:
        return error_response(err, head=request.method == "HEAD")
    except web.HTTPException:
        raise
    except Exception:
        log.exception("registry: %s %s failed", request.method, request.path)
        internal = RegistryHttpError(500, "UNKNOWN", "internal error; see the registry's log")
        return error_response(internal, head=request.method == "HEAD")


async def _api_version(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Docker-Distribution-API-Version"] = "registry/2.0"


def make_app(settings: RegistrySettings) -> web.Application:
    """The registry as an aiohttp application over `settings.data_dir` (created if missing)."""
    ensure_dir(settings.data_dir)
    storage = Storage(settings.data_dir)
    users = Users(settings.users) if settings.users is not None else None
    app = web.Application(
        middlewares=[_errors, auth_middleware], client_max_size=settings.max_manifest_bytes + 1
    )
    app[CTX_KEY] = Context(settings, storage, Uploads(storage.uploads))
    app[AUTH_KEY] = AuthState(users, TokenSigner(settings.data_dir), settings.token_ttl_seconds)
    app.router.add_route("*", "/v2{tail:.*}", _dispatch)
    app.router.add_route("GET", "/token", token_handler)
    app.router.add_route("POST", "/token", token_handler)
    app.on_response_prepare.append(_api_version)
    return app
