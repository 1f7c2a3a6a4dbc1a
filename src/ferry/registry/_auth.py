"""Authentication against a registry: anonymous, Basic, and the Docker/OCI Bearer token flow.

The client never guesses a scheme: it sends a request, and a 401 tells it what the registry wants in its
`WWW-Authenticate` header:

- `Basic realm="..."` (htpasswd-protected Distribution, ECR): from then on every request carries
  `Authorization: Basic` with the configured username and password.
- `Bearer realm="https://auth.example/token",service="registry",scope="repository:app:pull"` (GHCR, Docker Hub,
  Harbor, Distribution with token auth): the client asks the realm for a token — `GET realm?service=..&scope=..`,
  with Basic credentials if it has any, anonymously otherwise — and sends `Authorization: Bearer <token>`.

Tokens are cached per scope (`repository:app:pull,push`, or several scopes joined by spaces for a cross-
repository mount), until `expires_in` runs out (60 s when the token server does not say). The transport
retries a request once after a 401: if the cached token had expired or been revoked the fresh one works; a
second 401 is an `Unauthorized` naming the registry, not a loop.

The scope asked for is the one the registry named in its challenge when it names one, merged with the scope
of the request: registries differ in which they expect, and asking for both never hurts.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from ferry.registry._errors import RegistryUnavailable, Unauthorized, describe_request
from ferry.registry._retry import is_retryable_error

__all__ = ["Authenticator", "Challenge", "parse_challenge"]

_PARAM_RE = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)')
DEFAULT_TOKEN_SECONDS = 60.0
_EXPIRY_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class Challenge:
    """One parsed `WWW-Authenticate` challenge: the scheme (lowercase) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge | None:
    """Parse `Bearer realm="...",service="...",scope="..."` (or `Basic realm="..."`); None if unreadable."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        match = _PARAM_RE.match(rest, pos)
        if match is None:
            break
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        params[match.group(1).lower()] = value
        pos = match.end()
    return Challenge(scheme=scheme.lower(), params=params)


class Authenticator:
    """Credentials for one registry, and the tokens obtained with them (cached per scope)."""

    def __init__(
        self,
        registry: str,
        session: Callable[[], aiohttp.ClientSession],
        *,
        username: str | None = None,
        password: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._session = session
        self._username = username
        self._password = password
        self._clock = clock
        self._basic = False  # the registry asked for Basic: send it on every request
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> (token, expires at)

    def _basic_header(self) -> str | None:
        if self._username is None:
            return None
        pair = f"{self._username}:{self._password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def header(self, scope: str) -> str | None:
        """The Authorization header to send with a request needing `scope`, if one is known."""
        cached = self._tokens.get(scope)
        if cached is not None:
            token, expires = cached
            if self._clock() < expires:
                return f"Bearer {token}"
            del self._tokens[scope]
        if self._basic:
            return self._basic_header()
        return None

    async def answer(self, www_authenticate: str | None, scope: str) -> bool:
        """Handle a 401: obtain what the challenge asks for. False when there is nothing new to offer."""
        challenge = parse_challenge(www_authenticate or "")
        if challenge is None:
            return False
        if challenge.scheme == "basic":
            if self._username is None or self._basic:
                return False
            self._basic = True
            return True
        if challenge.scheme == "bearer" and "realm" in challenge.params:
            self._tokens.pop(scope, None)
            token, lifetime = await self._fetch_token(challenge, scope)
            self._tokens[scope] = (token, self._clock() + max(lifetime - _EXPIRY_MARGIN_SECONDS, 1.0))
            return True
        return False

    async def _fetch_token(self, challenge: Challenge, scope: str) -> tuple[str, float]:
        realm = challenge.params["realm"]
        scopes: list[str] = []
        for text in (challenge.params.get("scope", ""), scope):
            scopes += [s for s in text.split(" ") if s and s not in scopes]
        query: list[tuple[str, str]] = []
        if "service" in challenge.params:
            query.append(("service", challenge.params["service"]))
        query += [("scope", s) for s in scopes]
        headers = {}
        basic = self._basic_header()
        if basic is not None:
            headers["Authorization"] = basic
        where = f"registry {self._registry}: token request to {realm}"
        try:
            async with self._session().get(realm, params=query, headers=headers) as resp:
                body = await resp.read()
                status = resp.status
        except aiohttp.InvalidURL:
            raise Unauthorized(f"{where} failed: the realm is not a URL")
        except (aiohttp.ClientError, TimeoutError) as exc:
            cls = RegistryUnavailable if is_retryable_error(exc) else Unauthorized
            raise cls(f"{where} failed: {exc or type(exc).__name__}")
        if status != 200:
            who = f" for user {self._username!r}" if self._username else " (no credentials were given)"
            raise Unauthorized(
                f"{where} was refused{who}: HTTP {status} {describe_request('GET', realm)}", status=status
            )
        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
            lifetime = float(doc.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        except (ValueError, AttributeError, TypeError):
            token = None
            lifetime = DEFAULT_TOKEN_SECONDS
        if not isinstance(token, str) or not token:
            raise Unauthorized(f"{where} answered without a token")
        return token, lifetime
