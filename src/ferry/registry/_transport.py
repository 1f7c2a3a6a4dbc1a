"""One registry over HTTP: addressing, authentication, retries and error decoding for every request.

Everything the client says to a registry goes through `Transport.send`, which owns the three loops a request
may need, so that no caller writes its own:

1. **authentication**: a 401 is answered once (`Authenticator.answer`: Basic, or a Bearer token for the
   request's scope) and the request sent again; a second 401 is `Unauthorized`;
2. **retries**: connection errors, timeouts and 429/502/503/504 are retried per `RetryPolicy`
   (`retry_delay`); the last failure is raised as `RegistryUnavailable` (or the decoded error);
3. **errors**: any other unexpected status becomes the `RegistryError` subclass its distribution error body
   calls for, in one line (`error_from_response`).

Bodies are bytes, so a retry can resend them. Requests that must not be resent blindly — a chunked upload's
PATCH, where the registry may have kept part of the body — pass `retry=False` and recover themselves (see
`_uploads`).

Addressing: `registry` is `host:port` or a URL. Without a scheme, loopback registries (`localhost`,
`127.0.0.1`, `::1`) are plain HTTP and everything else HTTPS, as docker and skopeo do; `insecure=True` forces
HTTP, `insecure=False` HTTPS. `docker.io` is served from `registry-1.docker.io`. Upload `Location` headers may
be absolute or relative and carry opaque state in their query string: they are resolved against the registry
and passed on without re-encoding. Credentials are sent to the registry's own origin only, never to another host
a Location points at (object storage with signed URLs).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from ferry.registry._auth import Authenticator
from ferry.registry._errors import RegistryError, RegistryUnavailable, describe_request, error_from_response
from ferry.registry._retry import RETRYABLE_STATUSES, RetryPolicy, retry_delay

__all__ = ["Transport", "registry_base"]

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=120)


def registry_base(registry: str, insecure: bool | None) -> tuple[str, str]:
    """(base URL, display name) for a registry given as `host:port` or `http(s)://host:port`."""
    text = registry.strip().rstrip("/")
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RegistryError(
                f"invalid registry {registry!r}: must be host[:port] or http(s)://host[:port]"
            )
        scheme, netloc = parts.scheme, parts.netloc
        if insecure is not None:
            scheme = "http" if insecure else "https"
    else:
        netloc = text
        if not netloc or "/" in netloc or " " in netloc:
            raise RegistryError(
                f"invalid registry {registry!r}: must be host[:port] or http(s)://host[:port]"
            )
        host = netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 or netloc.startswith("[") else netloc
        plain = host in _LOOPBACK if insecure is None else insecure
        scheme = "http" if plain else "https"
    if netloc == "docker.io":
        netloc = "registry-1.docker.io"
    return f"{scheme}://{netloc}", netloc


class Transport:
    """Sends requests to one registry; see the module docstring for what `send` takes care of."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool | None,
        username: str | None,
        password: str | None,
        retry: RetryPolicy,
        session: aiohttp.ClientSession | None,
    ) -> None:
        self.base_url, self.name = registry_base(registry, insecure)
        self.retry = retry
        self._session = session
        self._own_session = session is None
        self.auth = Authenticator(self.name, self.session, username=username, password=password)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or (self._own_session and self._session.closed):
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None and not self._session.closed:
            await self._session.close()

    def url(self, target: str) -> URL:
        """The URL of `target`: a path (`/v2/...`) or a Location header, absolute or relative."""
        return URL(urljoin(self.base_url + "/", target), encoded=True)

    def _same_origin(self, url: URL) -> bool:
        """Credentials go to the registry only, never to a storage host an upload Location points at."""
        return url.origin() == URL(self.base_url).origin()

    @staticmethod
    def path_of(url: URL) -> str:
        return url.raw_path

    async def send(
        self,
        method: str,
        target: str,
        *,
        scope: str,
        ok: Collection[int] = (200,),
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        retry: bool = True,
        tag_push: bool = False,
    ) -> aiohttp.ClientResponse:
        """Send until the answer is in `ok`; the caller must release the response (see `open`)."""
        url = self.url(target)
        failures = 0
        answered_challenge = False
        while True:
            sent_headers = dict(headers or {})
            authorization = self.auth.header(scope) if self._same_origin(url) else None
            if authorization is not None:
                sent_headers["Authorization"] = authorization
            try:
                resp = await self.session().request(method, url, headers=sent_headers, data=data)
            except (aiohttp.ClientError, TimeoutError) as exc:
                failures += 1
                delay = retry_delay(self.retry, failures, error=exc) if retry else None
                if delay is None:
                    raise self._unavailable(method, url, exc, failures) from None
                await asyncio.sleep(delay)
                continue
            if resp.status in ok:
                return resp
            if resp.status == 401 and not answered_challenge:
                answered_challenge = True
                try:
                    renewed = await self.auth.answer(resp.headers.get("WWW-Authenticate"), scope)
                except BaseException:
                    resp.release()
                    raise
                if renewed:
                    resp.release()
                    continue
            if retry and resp.status in RETRYABLE_STATUSES:
                failures += 1
                delay = retry_delay(
                    self.retry, failures, status=resp.status, retry_after=resp.headers.get("Retry-After")
                )
                if delay is not None:
                    resp.release()
                    await asyncio.sleep(delay)
                    continue
            body = await resp.read() if method != "HEAD" else b""
            resp.release()
            raise error_from_response(
                self.name, method, self.path_of(url), resp.status, body, tag_push=tag_push
            )

    @asynccontextmanager
    async def open(
        self,
        method: str,
        target: str,
        *,
        scope: str,
        ok: Collection[int] = (200,),
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        retry: bool = True,
        tag_push: bool = False,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """`send`, as a context that releases the response (for streaming bodies)."""
        resp = await self.send(
            method, target, scope=scope, ok=ok, headers=headers, data=data, retry=retry, tag_push=tag_push
        )
        try:
            yield resp
        finally:
            resp.release()

    async def fetch(
        self,
        method: str,
        target: str,
        *,
        scope: str,
        ok: Collection[int] = (200,),
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        retry: bool = True,
        tag_push: bool = False,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """`send` and read the whole (small) body: (status, headers, body)."""
        async with self.open(
            method, target, scope=scope, ok=ok, headers=headers, data=data, retry=retry, tag_push=tag_push
        ) as resp:
            body = await resp.read() if method != "HEAD" else b""
            return resp.status, resp.headers, body

    def _unavailable(self, method: str, url: URL, exc: BaseException, attempts: int) -> RegistryError:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, aiohttp.ClientSSLError):
            hint = "; if it serves plain HTTP, use http://" + self.name + " or insecure=True"
            return RegistryError(
                f"registry {self.name}: TLS failed: {reason}{hint} {describe_request(method, url.raw_path)}"
            )
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return RegistryUnavailable(
            f"registry {self.name} is unavailable: {reason}{tries} {describe_request(method, url.raw_path)}"
        )
