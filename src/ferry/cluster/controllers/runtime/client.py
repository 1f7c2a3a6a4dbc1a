"""The controllers' API client: HTTPS to the cluster's own API server, as any client.

Controllers never touch the store. Like kube-controller-manager, every controller holds a client with
its own bearer token (an identity such as ``system:serviceaccount:kube-system:deployment-controller``)
and goes through authentication, admission, defaulting, validation and resourceVersion preconditions
exactly as kubectl would. :class:`ApiClient` implements the :class:`~.types.Client` protocol plus the
two reads an informer needs, ``list`` (one consistent snapshot, never paged: the server's later pages are
not a snapshot) and ``watch`` (a stream of ``(type, object)`` with bookmarks).

Resources are named ``"<group>/<version>/<plural>[/<subresource>]"`` (``"v1/<plural>"`` for core), see
:func:`resource_path`. A subresource may also be given with ``subresource=``; ``create`` on a
subresource (``"v1/pods/binding"``, ``"v1/pods/eviction"``) posts to the object named by the body's
``metadata.name``.

Errors (drawn here because this is the layer's only module that raises them)::

    ApiStatusError           non-2xx answer, carrying the decoded meta/v1 Status (types.py)
    aiohttp.ClientError      transport failures (connection refused/reset), raised as is
    TimeoutError             no answer within ``request_timeout_seconds``

One ``aiohttp.ClientSession`` per client, created lazily on the running loop (a client may be built
before the loop runs) and closed by :meth:`ApiClient.close`. Watches get their own timeout: no total
deadline, but a read deadline a little beyond the server-side ``timeoutSeconds``.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import msgspec

from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj

PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
_decoder = msgspec.json.Decoder()


def resource_path(
    resource: str, namespace: str | None, name: str | None = None, subresource: str = ""
) -> str:
    """``"apps/v1/replicasets"``, ``"ns"``, ``"web"`` → ``/apis/apps/v1/namespaces/ns/replicasets/web``.

    A namespace of None means cluster-scoped, or all namespaces for a collection.
    """
    parts = resource.split("/")
    if parts[0] == "v1":
        base, rest = "/api/v1", parts[1:]
    elif len(parts) >= 3:
        base, rest = f"/apis/{parts[0]}/{parts[1]}", parts[2:]
    else:
        raise ValueError(f"resource must be <group>/<version>/<plural> or v1/<plural>, not {resource!r}")
    if not rest or not rest[0] or len(rest) > 2:
        raise ValueError(f"malformed resource {resource!r}")
    sub = "/".join(s for s in (rest[1] if len(rest) > 1 else "", subresource) if s)
    path = base + (f"/namespaces/{quote(namespace, safe='')}" if namespace else "") + f"/{rest[0]}"
    if name is not None:
        path += f"/{quote(name, safe='')}"
    elif sub:
        raise ValueError(f"a subresource ({sub}) needs an object name")
    return path + (f"/{sub}" if sub else "")


def _status_error(code: int, raw: bytes) -> ApiStatusError:
    try:
        body = _decoder.decode(raw) if raw else None
    except msgspec.DecodeError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        body.setdefault("code", code)
        return ApiStatusError(body)
    text = raw.decode(errors="replace").strip()
    return ApiStatusError(
        {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "message": text}
    )


class ApiClient:
    """A :class:`~.types.Client` over HTTPS with one bearer token (one identity)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        ca_file: str | None = None,
        user_agent: str = "ferry-controller",
        field_manager: str = "",
        request_timeout_seconds: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        # Used for server-side apply (required there); other writes let the server derive the manager
        # from the User-Agent, as kube's controllers do.
        self.field_manager = field_manager or user_agent.split("/", 1)[0]
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        self._ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl, limit=100)
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> Any:
        """One request; the decoded JSON answer, or :class:`ApiStatusError` for a non-2xx answer."""
        url = self.base_url + path + (f"?{urlencode(query)}" if query else "")
        data = None if body is None else msgspec.json.encode(body)
        headers = {"Content-Type": content_type} if data is not None else None
        async with self._client().request(
            method, url, data=data, headers=headers, timeout=self._timeout
        ) as resp:
            raw = await resp.read()
            if resp.status >= 300:
                raise _status_error(resp.status, raw)
            return _decoder.decode(raw) if raw else None

    # -- Client protocol -------------------------------------------------------------------------------
    async def get(self, resource: str, namespace: str | None, name: str) -> Obj:
        result: Obj = await self.request("GET", resource_path(resource, namespace, name))
        return result

    async def create(self, resource: str, namespace: str | None, body: Obj) -> Obj:
        if resource.count("/") > (1 if resource.startswith("v1/") else 2):
            name = str((body.get("metadata") or {}).get("name", ""))
            path = resource_path(resource, namespace, name)
        else:
            path = resource_path(resource, namespace)
        result: Obj = await self.request("POST", path, body=body)
        return result

    async def update(self, resource: str, namespace: str | None, body: Obj, *, subresource: str = "") -> Obj:
        name = str(body["metadata"]["name"])
        result: Obj = await self.request(
            "PUT", resource_path(resource, namespace, name, subresource), body=body
        )
        return result

    async def patch(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        patch_type: str = "merge",
        subresource: str = "",
    ) -> Obj:
        content_type = PATCH_CONTENT_TYPES.get(patch_type)
        if content_type is None:
            raise ValueError(
                f"patch_type must be one of {', '.join(PATCH_CONTENT_TYPES)}, not {patch_type!r}"
            )
        query = {"fieldManager": self.field_manager} if patch_type == "apply" else None
        path = resource_path(resource, namespace, name, subresource)
        result: Obj = await self.request("PATCH", path, body=body, content_type=content_type, query=query)
        return result

    async def delete(
        self, resource: str, namespace: str | None, name: str, *, options: Obj | None = None
    ) -> None:
        body = None if options is None else {"kind": "DeleteOptions", "apiVersion": "v1", **options}
        await self.request("DELETE", resource_path(resource, namespace, name), body=body)

    # -- informer reads --------------------------------------------------------------------------------
    async def list(
        self,
        resource: str,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], str]:
        """Every matching object and the list's resourceVersion (to watch from).

        Items get the ``kind``/``apiVersion`` the list implies (kube omits them on list items), so an
        object from a lister can be referenced (events, ownerReferences) like one from a watch.
        """
        query = {k: v for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector)) if v}
        result = await self.request("GET", resource_path(resource, namespace), query=query or None)
        kind = str(result.get("kind", ""))
        kind = kind[: -len("List")] if kind.endswith("List") else kind
        api_version = str(result.get("apiVersion", ""))
        items: list[Obj] = result.get("items") or []
        for item in items:
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", api_version)
        return items, str((result.get("metadata") or {}).get("resourceVersion", ""))

    async def watch(
        self,
        resource: str,
        namespace: str | None,
        resource_version: str,
        *,
        timeout_seconds: int,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> AsyncGenerator[tuple[str, Obj], None]:
        """``(type, object)`` for every change after ``resource_version`` until the server ends the
        stream (after ``timeout_seconds``) or sends an ``ERROR`` (yielded like any event: a 410
        ``Expired`` Status means "relist"). A watch that cannot start raises :class:`ApiStatusError`.
        Lines are split by hand: objects may be larger than aiohttp's line limit.
        """
        query = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(max(1, int(timeout_seconds))),
        }
        if resource_version:
            query["resourceVersion"] = resource_version
        for key, value in (("labelSelector", label_selector), ("fieldSelector", field_selector)):
            if value:
                query[key] = value
        url = self.base_url + resource_path(resource, namespace) + "?" + urlencode(query)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=timeout_seconds + 30)
        async with self._client().get(url, timeout=timeout) as resp:
            if resp.status >= 300:
                raise _status_error(resp.status, await resp.read())
            buffer = b""
            async for chunk in resp.content.iter_any():
                buffer += chunk
                if b"\n" not in chunk:
                    continue
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        event = _decoder.decode(line)
                        yield str(event.get("type", "")), event.get("object") or {}
            if buffer.strip():
                event = _decoder.decode(buffer)
                yield str(event.get("type", "")), event.get("object") or {}
