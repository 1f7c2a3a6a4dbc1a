"""The ingress proxy: an HTTP/1.1 reverse proxy on a local port, routing by Ingress rules (ingress-nginx's role).

One aiohttp low-level server listens on ``host:port`` (``127.0.0.1``; port 0: any free one, :attr:`port` says
which). For each request it asks the current :class:`~ferry.cluster.network.ingressrules.RouteTable` (swapped in
whole by the controller when an Ingress or IngressClass changes) for a backend, resolves the Service port in the
:class:`~ferry.cluster.network.services.ServiceTable` the service proxy also reads (so readiness and endpoint
changes apply to the very next request), and forwards to the next **ready** endpoint, round-robin per service port.

Answers of its own, as ingress-nginx gives them:

* no rule and no default backend: ``404 Not Found``;
* the Service or its port does not exist, or it has no ready endpoint: ``503 Service Temporarily Unavailable``;
* every ready endpoint refused or did not answer the connect within ``connect_timeout_seconds``: ``502 Bad
  Gateway`` (each is tried once, in round-robin order, as nginx's ``proxy_next_upstream error timeout``);
  no response head within ``read_timeout_seconds``: ``504 Gateway Timeout``.

Forwarding: the request target is passed unchanged, the ``Host`` header is kept, hop-by-hop headers (those of
RFC 9110 §7.6.1 and any the ``Connection`` header lists) are dropped, and ``X-Real-IP``, ``X-Forwarded-For`` (the
client's address: like ingress-nginx by default, a client's own ``X-Forwarded-*`` headers are not trusted),
``X-Forwarded-Host``, ``X-Forwarded-Port``, ``X-Forwarded-Proto: http`` and ``X-Scheme`` are set. Request and
response bodies stream both ways (chunked when the sender gave no length); responses are not decompressed.
Clients get HTTP/1.1 keep-alive; backend connections are pooled. Not supported: TLS, HTTP/2, and protocol
upgrades (WebSocket): the ``Upgrade`` header is hop-by-hop and is dropped.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from ferry.cluster.network.ingressrules import BackendRef, RouteTable
from ferry.cluster.network.services import Backend, ServiceTable

__all__ = ["IngressProxy"]

log = logging.getLogger("ferry.network.ingress")

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Expect",
    )
)
FORWARDED = (
    "X-Real-IP",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Port",
    "X-Forwarded-Proto",
    "X-Scheme",
)


def _end_to_end(headers: CIMultiDict[str] | web.BaseRequest) -> CIMultiDict[str]:
    src = headers.headers if isinstance(headers, web.BaseRequest) else headers
    listed = {t.strip().lower() for v in src.getall("Connection", []) for t in v.split(",")}
    return CIMultiDict(
        (k, v) for k, v in src.items() if k.lower() not in HOP_BY_HOP and k.lower() not in listed
    )


class _NextBackend(Exception):
    """The connect to a backend failed: the next one is tried."""


def _plain(status: int, reason: str) -> web.Response:
    return web.Response(status=status, reason=reason, text=f"{status} {reason}\n")


class IngressProxy:
    """Serves the routes of :attr:`routes` on ``host:port``; see the module docstring."""

    def __init__(
        self,
        table: ServiceTable,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        connect_timeout_seconds: float = 5.0,
        read_timeout_seconds: float = 60.0,
    ) -> None:
        self.table = table
        self.host = host
        self.port = port  # the bound port once started
        self.routes = RouteTable()
        self.connect_timeout_seconds = connect_timeout_seconds
        self.read_timeout_seconds = read_timeout_seconds
        self._turns: dict[tuple[str, str, str], itertools.count[int]] = {}
        self._active: Counter[str] = Counter()  # requests in flight per backend IP
        self._runner: web.ServerRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> int:
        """Listen (OSError when the port is taken) and return the bound port."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=15.0),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.connect_timeout_seconds, sock_read=self.read_timeout_seconds
            ),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )
        runner = web.ServerRunner(web.Server(self._handle, access_log=None), handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True, backlog=1024)
            await site.start()
        except BaseException:
            await runner.cleanup()
            await self._session.close()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.port

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- routing ----------------------------------------------------------------------------------------
    def backends(self, ref: BackendRef) -> list[Backend]:
        """The ready endpoints of an Ingress backend, in the order this request tries them (round-robin)."""
        svc = self.table.service(ref.namespace, ref.service)
        if svc is None or svc.type == "ExternalName":
            return []
        port = next(
            (
                p
                for p in svc.ports
                if p.protocol == "TCP"
                and (p.port == ref.port_number if ref.port_number is not None else p.name == ref.port_name)
            ),
            None,
        )
        if port is None:
            return []
        ring = self.table.backends(ref.namespace, ref.service, port.name)
        if not ring:
            return ring
        turn = self._turns.setdefault((ref.namespace, ref.service, port.name), itertools.count())
        start = next(turn) % len(ring)
        return ring[start:] + ring[:start]

    # -- requests ---------------------------------------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        ref = self.routes.match(request.headers.get("Host", ""), request.raw_path)
        if ref is None:
            return _plain(404, "Not Found")
        backends = self.backends(ref)
        if not backends:
            return _plain(503, "Service Temporarily Unavailable")
        headers = _end_to_end(request)
        for name in FORWARDED:
            headers.popall(name, None)
        client = request.remote or ""
        host = request.headers.get("Host", "")
        headers.update(
            {
                "X-Real-IP": client,
                "X-Forwarded-For": client,
                "X-Forwarded-Host": host,
                "X-Forwarded-Port": str(self.port),
                "X-Forwarded-Proto": "http",
                "X-Scheme": "http",
            }
        )
        if request.headers.get("Expect", "").lower() == "100-continue" and request.version >= (1, 1):
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = request.content if request.body_exists else None
        for backend in backends:
            self._active[backend.ip] += 1
            try:
                return await self._forward(request, backend, headers, body)
            except _NextBackend as e:
                log.info(
                    "%s/%s: endpoint %s:%d failed: %s",
                    ref.namespace,
                    ref.service,
                    backend.ip,
                    backend.port,
                    e,
                )
            finally:
                self._active[backend.ip] -= 1
                if self._active[backend.ip] <= 0:
                    del self._active[backend.ip]
        return _plain(502, "Bad Gateway")

    def active_requests(self, ip: str | None = None) -> int:
        """Requests in flight to backend ``ip`` (all when None): what a kubelet draining a pod can wait for."""
        return sum(self._active.values()) if ip is None else self._active.get(ip, 0)

    async def _forward(
        self,
        request: web.BaseRequest,
        backend: Backend,
        headers: CIMultiDict[str],
        body: aiohttp.StreamReader | None,
    ) -> web.StreamResponse:
        assert self._session is not None
        url = URL(f"http://{backend.ip}:{backend.port}{request.raw_path}", encoded=True)
        try:
            upstream = await self._session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as e:
            raise _NextBackend(str(e)) from e
        except (TimeoutError, aiohttp.ServerTimeoutError):
            return _plain(504, "Gateway Timeout")
        except aiohttp.ClientError as e:
            log.info("endpoint %s:%d: %s", backend.ip, backend.port, e)
            return _plain(502, "Bad Gateway")
        async with upstream:
            return await self._relay(request, upstream)

    async def _relay(self, request: web.BaseRequest, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        out = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        out.headers.extend(_end_to_end(CIMultiDict(upstream.headers)))
        await out.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await out.write(chunk)
        except (aiohttp.ClientError, TimeoutError, ConnectionResetError) as e:
            # The backend went mid-body (cut the client too, or it would wait for the rest), or the client did
            # (the backend's connection is released with ``upstream``).
            log.info("response broken off: %s", e)
            if request.transport is not None:
                request.transport.close()
            return out
        await out.write_eof()
        return out
