"""``GET pods/{name}/log``: check the request, then proxy it to the kubelet of the pod's node, as kube does.

kube-apiserver's ``LogREST`` does three things, and so does this module:

1. **Validate** ``PodLogOptions`` (:func:`log_query`): integers that do not parse → 400; ``tailLines < 0``,
   ``limitBytes < 1``, ``sinceSeconds < 1`` or both ``sinceSeconds`` and ``sinceTime`` → 422 ``Invalid``
   (``PodLogOptions "p" is invalid: …``).
2. **Pick the container** (:func:`choose_container`, ``validateContainer``): none given and one container → it;
   none given and several → 400 ``a container name must be specified for pod p, choose one of: [a b]`` (plus
   ``or one of the init containers: [i]``); an unknown name → 400 ``container x is not valid for pod p``.
   ferry also honours ``kubectl.kubernetes.io/default-container`` here (kubectl does it client-side anyway).
3. **Locate the kubelet** (:func:`kubelet_endpoint`): ``https://<InternalIP, else 127.0.0.1>:<status
   .daemonEndpoints.kubeletEndpoint.Port>/containerLogs/{ns}/{pod}/{container}?<options>`` and stream its body
   back (:func:`proxy_logs`). A kubelet's 400 becomes ``BadRequest`` with the kubelet's text as the message
   (``container "c" in pod "p" is waiting to start: ContainerCreating``, ``previous terminated container …
   not found``); 404 becomes kube's generic ``the server could not find the requested resource ( pods/log p)``;
   a kubelet that cannot be reached is a 500 whose message is the dial error (``Error from server: Get …``).

**No kubelet API** (:func:`kubelet_endpoint` is ``None``): an unscheduled pod, or a node without a kubelet
port or whose runtime is the simulator (``containerRuntimeVersion: sim://…``). Sim pods have no output, so the
answer stays the one every container gets before it runs: ``container "c" in pod "p" is waiting to start:
<waiting reason or ContainerCreating>``. (Real kube answers an *unscheduled* pod with an empty 200; ferry keeps
the waiting answer there, which ``kubectl logs`` users find clearer and existing tests rely on.)

**Trust**: the client TLS context verifies the kubelet's certificate against the cluster CA and presents
``apiserver-kubelet-client`` (:mod:`ferry.cluster.kubelet.server.certs`), unless
``insecureSkipTLSVerifyBackend=true`` (then the kubelet's certificate is not checked, as in kube). Contexts are
built once per CA file and cached.
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web

from ferry.cluster.apiserver import errors
from ferry.cluster.kubelet.server.certs import ensure_kubelet_client_cert

__all__ = ["choose_container", "kubelet_endpoint", "log_query", "proxy_logs", "waiting_reason"]

_CONNECT_TIMEOUT_SECONDS = 10.0
_MAX_ERROR_BYTES = 50_000  # kube's GenericHttpResponseChecker reads at most this much of an error body
_contexts: dict[tuple[str, bool], ssl.SSLContext] = {}


def _names(containers: Any) -> list[str]:
    return [str(c.get("name")) for c in containers or [] if isinstance(c, dict)]


def choose_container(pod: dict[str, Any], name: str, wanted: str | None) -> str:
    """``validateContainer``: the container to read, or kube's 400 (module docstring, step 2)."""
    spec = pod.get("spec") or {}
    containers, inits = _names(spec.get("containers")), _names(spec.get("initContainers"))
    if not wanted:
        annotated = ((pod.get("metadata") or {}).get("annotations") or {}).get(
            "kubectl.kubernetes.io/default-container"
        )
        if annotated in containers:
            return str(annotated)
        if len(containers) == 1:
            return containers[0]
        if not containers:
            raise errors.bad_request(f"a container name must be specified for pod {name}")
        message = (
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
        )
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise errors.bad_request(message)
    if wanted not in [*containers, *inits, *_names(spec.get("ephemeralContainers"))]:
        raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def _int_param(query: Any, key: str) -> int | None:
    value = query.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def _bool_param(query: Any, key: str) -> bool:
    value = str(query.get(key, "false")).lower()
    if value not in ("true", "false", "1", "0", ""):
        raise errors.bad_request(f'strconv.ParseBool: parsing "{query.get(key)}": invalid syntax')
    return value in ("true", "1", "")


def log_query(query: Any, name: str) -> dict[str, str]:
    """The kubelet's query for a ``pods/log`` query: validated (step 1), in kube's parameter spelling."""
    tail, since, limit = (
        _int_param(query, "tailLines"),
        _int_param(query, "sinceSeconds"),
        _int_param(query, "limitBytes"),
    )
    since_time = query.get("sinceTime")
    causes: list[errors.FieldError] = []
    if tail is not None and tail < 0:
        causes.append(errors.invalid_value("tailLines", tail, "must be greater than or equal to 0"))
    if limit is not None and limit < 1:
        causes.append(errors.invalid_value("limitBytes", limit, "must be greater than 0"))
    if since is not None and since_time is not None:
        causes.append(errors.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    elif since is not None and since < 1:
        causes.append(errors.invalid_value("sinceSeconds", since, "must be greater than 0"))
    if causes:
        raise errors.invalid("PodLogOptions", "", name, causes)
    out: dict[str, str] = {}
    for flag in ("follow", "previous", "timestamps"):
        if flag in query and _bool_param(query, flag):
            out[flag] = "true"
    if since is not None:
        out["sinceSeconds"] = str(since)
    if since_time is not None:
        try:
            parsed = dt.datetime.fromisoformat(str(since_time).replace("Z", "+00:00"))
        except ValueError:
            raise errors.bad_request(f'parsing time "{since_time}" as RFC3339: cannot parse') from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        out["sinceTime"] = parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if tail is not None:
        out["tailLines"] = str(tail)
    if limit is not None:
        out["limitBytes"] = str(limit)
    return out


def kubelet_endpoint(node: dict[str, Any] | None) -> tuple[str, int] | None:
    """``(host, port)`` of the node's kubelet API, or ``None`` when it has none (module docstring)."""
    if node is None:
        return None
    status = node.get("status") or {}
    runtime = str((status.get("nodeInfo") or {}).get("containerRuntimeVersion") or "")
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if runtime.startswith("sim://") or not isinstance(port, int) or port <= 0:
        return None
    for address in status.get("addresses") or []:
        if isinstance(address, dict) and address.get("type") == "InternalIP" and address.get("address"):
            return str(address["address"]), port
    return "127.0.0.1", port


def waiting_reason(pod: dict[str, Any], container: str) -> str:
    """The container's ``state.waiting.reason``, ``ContainerCreating`` when there is none yet."""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if isinstance(cs, dict) and cs.get("name") == container:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                return str(waiting["reason"])
    return "ContainerCreating"


def _client_context(ca_file: str, *, verify: bool) -> ssl.SSLContext:
    cached = _contexts.get((ca_file, verify))
    if cached is not None:
        return cached
    pair = ensure_kubelet_client_cert(Path(ca_file).parent)
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    _contexts[(ca_file, verify)] = ctx
    return ctx


def _kubelet_error(status: int, body: str, url: str, name: str) -> errors.ApiError:
    text = body.strip()
    if status == 400:
        return errors.bad_request(text)
    if status == 404:
        return errors.ApiError(
            404,
            "NotFound",
            f"the server could not find the requested resource ( pods/log {name})",
            {
                "name": name,
                "kind": "pods/log",
                "causes": [{"reason": "UnexpectedServerResponse", "message": text}],
            },
        )
    if status == 401:
        return errors.ApiError(
            401, "Unauthorized", "the server has asked for the client to provide credentials"
        )
    if status == 403:
        return errors.ApiError(403, "Forbidden", text)
    return errors.ApiError(
        500, "InternalError", f'an error on the server ("{text}") has prevented the request from succeeding'
    )


async def proxy_logs(
    request: web.Request,
    *,
    endpoint: tuple[str, int],
    namespace: str,
    name: str,
    container: str,
    query: dict[str, str],
    ca_file: str,
    verify: bool = True,
) -> web.StreamResponse:
    """Stream the kubelet's ``/containerLogs`` answer to the client (module docstring, step 3)."""
    host, port = endpoint
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    path = "/".join(quote(p, safe="") for p in (namespace, name, container))
    url = f"https://{netloc}/containerLogs/{path}" + (f"?{urlencode(query)}" if query else "")
    ctx = _client_context(ca_file, verify=verify)
    timeout = aiohttp.ClientTimeout(
        total=None, connect=_CONNECT_TIMEOUT_SECONDS, sock_connect=_CONNECT_TIMEOUT_SECONDS
    )
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
        try:
            upstream = await session.get(url, ssl=ctx)
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise errors.ApiError(500, "", f'Get "{url}": {e or type(e).__name__}') from None
        async with upstream:
            if upstream.status // 100 != 2:
                body = (await upstream.content.read(_MAX_ERROR_BYTES)).decode(errors="replace")
                raise _kubelet_error(upstream.status, body, url, name)
            response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            except (TimeoutError, aiohttp.ClientError):
                pass  # the kubelet went away mid-stream: end the body, as kube's proxy does
            await response.write_eof()
            return response
