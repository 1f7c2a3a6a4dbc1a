"""``pods/{name}/exec|attach|portforward``: check the request, then proxy the WebSocket to the pod's kubelet.

kube-apiserver's ``ExecREST``/``AttachREST``/``PortForwardREST`` find the kubelet URL (``streamLocation``,
``pkg/registry/core/pod/strategy.go``) and hand the connection to an ``UpgradeAwareHandler`` that splices the
client's upgraded connection to the kubelet's. ferry does the same, in this order:

1. **Pod checks** (:func:`stream_target`): the pod must exist (404 ``pods "x" not found``); exec/attach pick the
   container as ``pods/log`` does (:func:`~.kubeletproxy.choose_container`: 400 ``container x is not valid for
   pod p``, ``a container name must be specified for pod p, choose one of: [a b]``); exec needs a command (400
   ``you must specify at least one command for the container``); the pod must be bound (400 ``pod p does not
   have a host assigned``); its node must have a kubelet API (a sim node has none: 400, ferry's wording).
2. **Upgrade** (:func:`proxy_stream`): a request that is not a WebSocket upgrade is answered 400 ``Upgrade
   request required`` (kube's words) — except a **SPDY/3.1** upgrade (kubectl's fallback after a refused
   WebSocket), answered 400 ``BadRequest`` naming what ferry serves, so kubectl prints a clear line. Before that
   answer the kubelet is asked (a plain ``GET``) so that the kubelet's own refusal (``container not found
   ("c")``: the container is not running) is what kubectl prints, since it prints the *fallback's* error.
3. **Splice**: a WebSocket to ``wss://<kubelet>/exec/{ns}/{pod}/{container}?<query>`` (``/attach/...``,
   ``/portForward/{ns}/{pod}``) offering the client's subprotocols; the client's upgrade is then accepted with
   the subprotocol the kubelet chose. A kubelet that refuses the upgrade has its status and plain-text body
   passed through (as kube's proxy copies the backend's non-101 response); one that cannot be reached is a
   500 with the dial error. Messages are then pumped both ways unchanged (binary and text; ``pods/portforward``
   carries raw SPDY bytes this way), pings are answered on each leg by aiohttp, and a close on one leg closes
   the other with the same code.

**Attach** is refused here, after the pod checks, with 400 :data:`ATTACH_REFUSED` (ferry's kubelets cannot
attach to a running container's stdio; the process kubelet's ``/attach`` says the same).

**Authorization**: kube authorizes the HTTP verb (``get`` for a WebSocket ``GET``, ``create`` for ``POST``) and,
since 1.31 (``AuthorizePodWebsocketUpgradeCreatePermission``), also ``create`` on the subresource for a
WebSocket ``GET``, so that RBAC rules granting ``create pods/exec`` keep meaning what they say.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import WSMsgType, web

from ferry.cluster.apiserver import errors, kubeletproxy
from ferry.cluster.apiserver.auth import Attributes, UserInfo
from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.apiserver.routing import RequestInfo

__all__ = ["StreamTarget", "kubelet_path", "proxy_stream", "serve_stream", "stream_target"]

_CONNECT_TIMEOUT_SECONDS = 10.0
_MAX_ERROR_BYTES = 50_000
ATTACH_REFUSED = (
    "ferry does not support attach (a container's stdio belongs to its shim, which writes it to the log); "
    "use kubectl logs -f to follow the output, or kubectl exec to run a command"
)
_KUBELET_PATHS = {"exec": "exec", "attach": "attach", "portforward": "portForward"}


class StreamTarget:
    """Where a streaming request goes: the kubelet ``endpoint`` and the path+query on it."""

    def __init__(self, endpoint: tuple[str, int], path: str, query: list[tuple[str, str]]) -> None:
        self.endpoint, self.path, self.query = endpoint, path, query

    @property
    def url(self) -> str:
        host, port = self.endpoint
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return f"wss://{netloc}{self.path}" + (f"?{urlencode(self.query)}" if self.query else "")


def kubelet_path(sub: str, namespace: str, pod: str, container: str | None) -> str:
    """``/exec/{ns}/{pod}/{container}``, ``/attach/...``, ``/portForward/{ns}/{pod}`` (segments escaped)."""
    parts = [namespace, pod] + ([container] if container is not None else [])
    return f"/{_KUBELET_PATHS[sub]}/" + "/".join(quote(p, safe="") for p in parts)


def stream_target(ctx: ApiContext, info: RequestInfo, query: Any) -> StreamTarget:
    """The pod checks of the module docstring (step 1); raises the ``ApiError`` kube answers."""
    assert info.name is not None
    sub, name = info.subresource, info.name
    pod = ctx.storage.get(info.rt, info.namespace, name).obj()
    container: str | None = None
    if sub in ("exec", "attach"):
        container = kubeletproxy.choose_container(pod, name, query.get("container"))
    if sub == "exec" and not query.getall("command", []):
        raise errors.bad_request("you must specify at least one command for the container")
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    nodes = ctx.catalog.lookup("", "v1", "nodes")
    assert nodes is not None
    try:
        node: dict[str, Any] | None = ctx.storage.get(nodes, None, str(node_name)).obj()
    except errors.ApiError:
        node = None
    endpoint = kubeletproxy.kubelet_endpoint(node)
    if endpoint is None or not ctx.settings.ca_file:
        raise errors.bad_request(
            f"pod {name} is on node {node_name}, which has no kubelet API to serve pods/{sub} (a simulated node)"
        )
    kept = [(k, v) for k, v in query.items() if k != "insecureSkipTLSVerifyBackend"]
    return StreamTarget(endpoint, kubelet_path(sub, str(info.namespace), name, container), kept)


def _offered_protocols(request: web.Request) -> list[str]:
    header = ",".join(request.headers.getall("Sec-WebSocket-Protocol", []))
    return [p.strip() for p in header.split(",") if p.strip()]


def _is_websocket(request: web.Request) -> bool:
    upgrade = request.headers.get("Upgrade", "").lower()
    connection = request.headers.get("Connection", "").lower()
    return request.method == "GET" and upgrade == "websocket" and "upgrade" in connection


def _passthrough(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, content_type="text/plain")


async def _kubelet_refusal(
    session: aiohttp.ClientSession, target: StreamTarget, ssl_ctx: Any
) -> web.Response | None:
    """The kubelet's answer to the same request without an upgrade: its error, or ``None`` when its only
    complaint is the missing upgrade (its checks passed)."""
    url = "https" + target.url.removeprefix("wss")
    try:
        async with session.get(url, ssl=ssl_ctx) as resp:
            body = (await resp.content.read(_MAX_ERROR_BYTES)).decode(errors="replace")
            if resp.status == 400 and body.strip() == "Upgrade request required":
                return None
            return _passthrough(resp.status, body)
    except (TimeoutError, aiohttp.ClientError, OSError) as e:
        raise errors.ApiError(500, "", f"error dialing backend: {e or type(e).__name__}") from None


async def _copy(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    """Forward data messages until ``source`` closes (its close frame is answered by aiohttp)."""
    async for msg in source:
        if msg.type == WSMsgType.BINARY:
            await sink.send_bytes(msg.data)
        elif msg.type == WSMsgType.TEXT:
            await sink.send_str(msg.data)


async def _splice(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """Pump both ways; when one leg closes, stop reading the other, then close it with the same code.

    Reading stops first on purpose: aiohttp's ``close()`` called while another task waits in ``receive()``
    drops the connection without waiting for the peer's close frame, which the peer reports as 1006."""
    tasks = [asyncio.create_task(_copy(upstream, client)), asyncio.create_task(_copy(client, upstream))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    with contextlib.suppress(ConnectionError, RuntimeError):
        if not client.closed:
            await client.close(code=upstream.close_code or aiohttp.WSCloseCode.OK)
        if not upstream.closed:
            await upstream.close(code=client.close_code or aiohttp.WSCloseCode.OK)


async def proxy_stream(
    request: web.Request, target: StreamTarget, *, ca_file: str, verify: bool = True
) -> web.StreamResponse:
    """Steps 2 and 3 of the module docstring."""
    spdy = request.headers.get("Upgrade", "").lower().startswith("spdy/")
    ssl_ctx = kubeletproxy._client_context(ca_file, verify=verify)
    timeout = aiohttp.ClientTimeout(
        total=None, connect=_CONNECT_TIMEOUT_SECONDS, sock_connect=_CONNECT_TIMEOUT_SECONDS
    )
    async with aiohttp.ClientSession(timeout=timeout) as session:
        if not _is_websocket(request):
            refusal = await _kubelet_refusal(session, target, ssl_ctx)
            if refusal is not None:
                return refusal
            if spdy:
                raise errors.bad_request(
                    "ferry serves exec, attach and port-forward over WebSocket only "
                    "(v5.channel.k8s.io, SPDY/3.1+portforward.k8s.io); SPDY/3.1 upgrades are not supported: "
                    "use kubectl 1.30 or newer"
                )
            raise errors.bad_request("Upgrade request required")
        offered = _offered_protocols(request)
        try:
            upstream = await session.ws_connect(
                target.url, protocols=offered, ssl=ssl_ctx, autoping=True, max_msg_size=0
            )
        except aiohttp.WSServerHandshakeError:
            refusal = await _kubelet_refusal(session, target, ssl_ctx)
            return refusal or _passthrough(400, "the kubelet refused the upgrade")
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise errors.ApiError(500, "", f"error dialing backend: {e or type(e).__name__}") from None
        async with upstream:
            chosen = upstream.protocol
            client = web.WebSocketResponse(
                protocols=(chosen,) if chosen else (), autoping=True, max_msg_size=0
            )
            await client.prepare(request)
            await _splice(client, upstream)
            return client


async def serve_stream(
    request: web.Request, ctx: ApiContext, info: RequestInfo, user: UserInfo
) -> web.StreamResponse:
    """``pods/exec|attach|portforward`` (``_dispatch`` has authorized the HTTP verb already)."""
    if request.method not in ("GET", "POST"):
        raise errors.method_not_allowed("the server does not allow this method on the requested resource")
    if request.method == "GET" and _is_websocket(request):
        decision = ctx.authorizer.authorize(
            Attributes(
                user=user,
                verb="create",
                namespace=info.namespace or "",
                resource="pods",
                subresource=info.subresource,
                name=info.name or "",
            )
        )
        if not decision.allowed:
            raise errors.forbidden_error(
                f'pods "{info.name}" is forbidden: User "{user.name}" cannot create resource "pods/'
                f'{info.subresource}" in API group "" in the namespace "{info.namespace}"'
            )
    target = stream_target(ctx, info, request.query)
    if info.subresource == "attach":
        raise errors.bad_request(ATTACH_REFUSED)
    return await proxy_stream(
        request,
        target,
        ca_file=ctx.settings.ca_file,
        verify=request.query.get("insecureSkipTLSVerifyBackend", "false").lower() != "true",
    )
