"""The kubelet's HTTPS API (port ``daemonEndpoints.kubeletEndpoint.Port``): ``/containerLogs`` and ``/healthz``.

kube-apiserver never reads container logs itself: ``GET pods/{name}/log`` is proxied to
``https://<node>:<port>/containerLogs/{namespace}/{pod}/{container}?<PodLogOptions>`` on the pod's node
(:mod:`ferry.cluster.apiserver.kubeletproxy`), and this server answers it from the runtime's CRI log files with
:func:`~ferry.cluster.kubelet.runtime.read_logs`. The process kubelet starts it with :func:`start_kubelet_server`
and hands it two functions, so the server owns no pod state:

* ``pods(namespace, name) -> Pod | None`` — the pod as this kubelet knows it, with the ``status`` it last
  computed (``containerStatuses`` decide which run to serve and whether ``follow`` goes on);
* ``log_file_for(pod_uid, container, restart_count) -> Path`` — that run's CRI log file;
* ``exec_stream`` — the runtime's ``exec_stream`` (``kubectl exec``, served at ``/exec/{ns}/{pod}/{container}``
  over WebSocket by :mod:`.execws`); without it exec answers 500.

``/portForward/{ns}/{pod}`` (``kubectl port-forward``: SPDY/3.1 in a WebSocket, :mod:`.portforward`) needs only
``pods``: it dials the pod's ``status.podIP`` from the host.

**Trust** (see :mod:`.certs`): TLS with a serving certificate from the cluster CA; a client must present a
certificate from the same CA with CN ``kube-apiserver-kubelet-client`` (clientAuth), otherwise ``401
Unauthorized`` (no certificate) or ``403 Forbidden`` (another CN). The handshake itself rejects certificates the
CA did not sign.

**Streaming**: the body is written chunk by chunk (``Transfer-Encoding: chunked``) as the reader yields it.
``follow`` ends when the served run is no longer running (``pods()`` is asked again on every idle poll) or the
client goes away (``handler_cancellation`` cancels the handler, which closes the file).

Errors are the kubelet's: plain text and a status code (``http.Error``), which the API server turns into a
``Status`` (400 → ``BadRequest`` with this text as the message).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from ferry.cluster.kubelet.runtime.logreader import read_logs
from ferry.cluster.kubelet.server.certs import KUBELET_CLIENT_CN, CertPair
from ferry.cluster.kubelet.server.containerlogs import (
    LogRequestError,
    parse_log_options,
    pick_instance,
    still_live,
)
from ferry.cluster.kubelet.server.execws import ExecStarter, serve_attach, serve_exec
from ferry.cluster.kubelet.server.portforward import port_forward_handler

__all__ = ["LogFileFor", "PodLookup", "RunningServer", "start_kubelet_server"]

log = logging.getLogger("ferry.kubelet.server")

PodLookup = Callable[[str, str], dict[str, Any] | None]
"""``(namespace, name) -> pod`` (with this kubelet's ``status``), or ``None`` when the pod is not on this node."""

LogFileFor = Callable[[str, str, int], Path]
"""``(pod_uid, container, restart_count) -> path`` of that run's CRI log file (it may not exist yet)."""


@dataclass
class RunningServer:
    """A started kubelet API; ``port`` is the bound one (useful with port 0). ``close()`` stops it."""

    host: str
    port: int
    _runner: web.AppRunner

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    async def close(self) -> None:
        await self._runner.cleanup()


def _plain(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain", charset="utf-8")


def _client_cn(request: web.Request) -> str | None:
    transport = request.transport
    cert = transport.get_extra_info("peercert") if transport is not None else None
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return ""


@web.middleware
async def _authenticate(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    cn = _client_cn(request)
    if cn is None:
        return _plain(401, "Unauthorized")
    if cn != KUBELET_CLIENT_CN:
        return _plain(403, f"Forbidden (user={cn}, verb=get, resource=nodes, subresource=proxy)")
    result: web.StreamResponse = await handler(request)
    return result


def _app(
    pods: PodLookup, log_file_for: LogFileFor, poll_seconds: float, exec_stream: ExecStarter | None = None
) -> web.Application:
    async def healthz(request: web.Request) -> web.StreamResponse:
        return _plain(200, "ok")

    async def container_logs(request: web.Request) -> web.StreamResponse:
        ns, name, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        try:
            opts = parse_log_options(request.query)
            pod = pods(ns, name)
            if pod is None:
                raise LogRequestError(404, f'pod "{name}" does not exist')
            instance = pick_instance(pod, container, previous=opts.previous)
        except LogRequestError as e:
            return _plain(e.status, e.message)
        path = log_file_for(instance.pod_uid, container, instance.restart_count)
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunks = read_logs(
            path,
            tail=opts.tail_lines,
            since_ns=opts.since_ns,
            timestamps=opts.timestamps,
            follow=opts.follow and instance.live,
            limit_bytes=opts.limit_bytes,
            stopped=lambda: not still_live(pods(ns, name), instance),
            poll_seconds=poll_seconds,
        )
        async for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    app = web.Application(middlewares=[_authenticate])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", container_logs)

    async def exec_(request: web.Request) -> web.StreamResponse:
        return await serve_exec(request, pods=pods, starter=exec_stream)

    app.router.add_route("*", "/exec/{namespace}/{pod}/{container}", exec_)  # GET (WebSocket) and POST
    app.router.add_route("*", "/attach/{namespace}/{pod}/{container}", serve_attach)  # refused: execws

    async def port_forward(request: web.Request) -> web.StreamResponse:  # kubectl port-forward (SPDY in WS)
        return await port_forward_handler(request, pods)

    app.router.add_get("/portForward/{namespace}/{pod}", port_forward)
    return app


def _ssl_context(tls: CertPair) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(tls.cert), str(tls.key))
    ctx.load_verify_locations(cafile=str(tls.ca_cert))
    ctx.verify_mode = ssl.CERT_OPTIONAL  # no certificate → 401 from the middleware, as the kubelet answers
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def start_kubelet_server(
    host: str,
    port: int,
    log_file_for: LogFileFor,
    *,
    pods: PodLookup,
    tls: CertPair,
    poll_seconds: float = 0.1,
    exec_stream: ExecStarter | None = None,
) -> RunningServer:
    """Serve the kubelet API on ``host:port`` (0 = any free port) until ``close()``; returns once listening."""
    runner = web.AppRunner(
        _app(pods, log_file_for, poll_seconds, exec_stream),
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=2.0,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=_ssl_context(tls), reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = port
    for sock in runner.addresses:
        bound = int(sock[1])
        break
    log.info("kubelet API listening on https://%s:%d", host, bound)
    return RunningServer(host, bound, runner)
