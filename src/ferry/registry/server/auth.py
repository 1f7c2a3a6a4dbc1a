"""Authentication: Basic on every request, and Docker's bearer-token flow, both against the same users.

With `RegistrySettings.users` None the registry is open. Otherwise a `/v2/...` request must carry either

- `Authorization: Basic ...` with a configured user (preemptive Basic, as `curl -u` and most CI scripts do), or
- `Authorization: Bearer <token>` with a token from `GET /token` whose grants cover the request.

Anything else is answered 401 with the challenge clients (skopeo, docker, crane, ferry's own client) follow:

    WWW-Authenticate: Bearer realm="http://host:port/token",service="ferry-registry",scope="repository:<name>:pull,push"

`GET /token?service=...&scope=...` (or `POST` with `grant_type=password`) takes Basic credentials and returns
`{"token", "access_token", "expires_in", "issued_at"}`. Every authenticated user is granted the actions it
asks for (pull, push, delete) on any repository: there are no per-repository ACLs (a documented deviation
from Distribution's token servers, which hold ACLs). A token lacking the needed grant gets 401 with
`error="insufficient_scope"` and the scope to ask for.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from ferry.registry.server.credentials import Access, TokenSigner, Users
from ferry.registry.server.errors import RegistryHttpError, unauthorized
from ferry.registry.server.paths import Route, match_route

__all__ = ["SERVICE", "AuthState", "auth_middleware", "may", "token_handler"]

SERVICE = "ferry-registry"
_ACTIONS = {"pull", "push", "delete", "*"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class AuthState:
    users: Users | None
    signer: TokenSigner
    ttl_seconds: int


AUTH_KEY = web.AppKey("ferry_registry_auth", AuthState)
_GRANTS = web.RequestKey("ferry_registry_grants", list)


def required(route: Route | None, method: str) -> Access | None:
    """The grant a request needs; None for the base endpoint (any authenticated user)."""
    if route is None or route.kind == "base":
        return None
    if route.kind == "catalog":
        return Access("registry", "catalog", ("*",))
    if method in ("GET", "HEAD"):
        return Access("repository", route.name, ("pull",))
    if method == "DELETE":
        return Access("repository", route.name, ("delete",))
    return Access("repository", route.name, ("pull", "push"))


def _challenge(request: web.Request, need: Access | None, error: str | None = None) -> str:
    out = f'Bearer realm="{request.scheme}://{request.host}/token",service="{SERVICE}"'
    if need is not None:
        out += f',scope="{need.type}:{need.name}:{",".join(need.actions)}"'
    if error:
        out += f',error="{error}"'
    return out


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[AUTH_KEY]
    if state.users is None or not request.path.startswith("/v2"):
        return await handler(request)
    need = required(match_route(request.path), request.method)
    header = request.headers.get("Authorization", "")
    scheme = header.partition(" ")[0].lower()
    if scheme == "basic":
        creds = _basic(header)
        if creds is None or not state.users.check(*creds):
            raise unauthorized("invalid user name or password", _challenge(request, need))
        return await handler(request)
    if scheme == "bearer":
        grants = state.signer.verify(header.partition(" ")[2].strip())
        if grants is None:
            raise unauthorized("token is invalid or expired", _challenge(request, need, "invalid_token"))
        if need is not None and not all(
            any(g.allows(need.type, need.name, a) for g in grants) for a in need.actions
        ):
            raise unauthorized(
                f"token does not grant {need.type}:{need.name}:{','.join(need.actions)}",
                _challenge(request, need, "insufficient_scope"),
            )
        request[_GRANTS] = grants
        return await handler(request)
    raise unauthorized("authentication required", _challenge(request, need))


def may(request: web.Request, repository: str, action: str) -> bool:
    """Whether the request's credentials allow `action` on another repository (cross-repository mount)."""
    grants: list[Access] | None = request.get(_GRANTS)
    return grants is None or any(g.allows("repository", repository, action) for g in grants)


def _requested(scopes: list[str]) -> list[Access]:
    out: list[Access] = []
    for text in scopes:
        for scope in text.split():
            access = Access.parse(scope)
            if access is None:
                continue
            actions = tuple(a for a in access.actions if a in _ACTIONS)
            if actions:
                out.append(Access(access.type, access.name, actions))
    return out


async def token_handler(request: web.Request) -> web.Response:
    """The token endpoint: Basic credentials (or a password grant) in, a signed bearer token out."""
    state = request.app[AUTH_KEY]
    scopes = request.query.getall("scope", [])
    creds = _basic(request.headers.get("Authorization", ""))
    if request.method == "POST":
        form = await request.post()
        grant = str(form.get("grant_type", ""))
        if grant != "password":
            raise RegistryHttpError(
                400, "UNSUPPORTED", f"grant_type {grant!r} is not supported (use password)"
            )
        creds = (str(form.get("username", "")), str(form.get("password", "")))
        scopes = [str(form.get("scope", ""))]
    subject = ""
    if state.users is not None:
        if creds is None or not state.users.check(*creds):
            raise RegistryHttpError(
                401,
                "UNAUTHORIZED",
                "invalid user name or password",
                headers={"WWW-Authenticate": f'Basic realm="{SERVICE}"'},
            )
        subject = creds[0]
    token, issued = state.signer.issue(subject, _requested(scopes), state.ttl_seconds)
    return web.json_response(
        {
            "token": token,
            "access_token": token,
            "expires_in": state.ttl_seconds,
            "issued_at": datetime.fromtimestamp(issued, UTC).isoformat().replace("+00:00", "Z"),
        }
    )
