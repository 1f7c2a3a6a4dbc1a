"""``KubeApi`` over lightkube 1.0.1 (async client) and a kubeconfig: the only module that knows lightkube.

How each verb is carried:

* **Discovery** — ``GET /api/v1`` or ``/apis/<group>/<version>``, cached per group-version; a miss refreshes
  that group-version once (a CRD applied a moment ago appears there once Established). The resource lists give
  the plural and the scope, so any kind — built-in or custom — becomes a lightkube *generic* resource class
  (``GenericNamespacedResource``/``GenericGlobalResource`` subclasses made here and deliberately **not**
  registered in lightkube's global registry, which would clash with its typed models).
* **get / list / watch / delete** — lightkube's public ``AsyncClient`` methods with those generic classes, so
  objects stay plain dicts. Delete uses ``propagationPolicy=Background``.
* **apply** — lightkube's ``apply()`` cannot send ``fieldValidation=Strict``; the request is therefore made on
  the client's own configured HTTP session (``AsyncClient._client._client``: base URL, TLS trust and
  credentials exactly as lightkube resolved them from the kubeconfig) with ``application/apply-patch+yaml``,
  ``fieldManager=ferry``, ``force=true``, ``fieldValidation=Strict`` and, for plans, ``dryRun=All``. This is
  the one reach into lightkube internals; lightkube is pinned (==1.0.1) and the integration tests exercise it.

Errors: any transport failure (refused, TLS, DNS, timeout) becomes ``ClusterUnreachableError`` naming the
server; a Kubernetes ``Status`` failure becomes the matching ``ApiRejectedError`` naming the object.

Watches: lightkube reconnects a watch the server closed cleanly, resuming from the last resourceVersion. A
dropped stream or a 410 Expired goes through ``watch_retry`` (back-off, bounded, then raised); after a 410
lightkube restarts without a resourceVersion, which replays every object as ADDED — harmless for the health
watcher, which keeps the latest object per name (an object deleted during that gap stays in its snapshot
until the wait ends: the one blind spot, bounded by the wait's timeout). A connection refused when the
watch (re)connects is raised at once as ``ClusterUnreachableError``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from lightkube import AsyncClient, KubeConfig
from lightkube.core.exceptions import ApiError, ConfigError
from lightkube.generic_resource import GenericGlobalResource, GenericNamespacedResource, create_api_info
from lightkube.types import CascadeType, OnErrorAction, OnErrorResult

from ferry.delivery.apply.errors import ApplyError, ClusterUnreachableError, UnknownKindError, rejected
from ferry.delivery.apply.kubeapi import ResourceType, WatchEvent
from ferry.delivery.apply.objects import MANAGER, ObjectRef

__all__ = ["ClientConfig", "LightkubeApi"]

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"


@dataclass(frozen=True)
class ClientConfig:
    """Which cluster: a kubeconfig file (``None``: ``$KUBECONFIG`` or ``~/.kube/config``) and a context in it."""

    kubeconfig: Path | None = None
    context: str | None = None
    timeout_seconds: float = 30.0


WATCH_RETRIES = 5


def watch_retry(error: Exception, count: int) -> OnErrorResult:
    """The watch's retry policy: a dropped stream or a 410 is retried with back-off (0.2 s doubling, at most
    5 s), up to ``WATCH_RETRIES`` times in a row, then raised. lightkube's own ``on_error_retry`` retries at
    once and forever, which spins against a cluster that went away."""
    if count > WATCH_RETRIES:
        return OnErrorResult(OnErrorAction.RAISE)
    return OnErrorResult(OnErrorAction.RETRY, sleep=min(0.2 * 2 ** (count - 1), 5.0))


def _unreachable(server: str, exc: Exception) -> ClusterUnreachableError:
    detail = str(exc) or type(exc).__name__
    return ClusterUnreachableError(f"cannot reach the cluster at {server}: {' '.join(detail.split())}")


class LightkubeApi:
    """A ``KubeApi``; use ``async with LightkubeApi.connect(ClientConfig(...)) as api``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._http: httpx2.AsyncClient = client._client._client  # see the module docstring
        self._discovery: dict[str, dict[str, ResourceType]] = {}
        self._classes: dict[ResourceType, type[Any]] = {}

    @classmethod
    def connect(cls, config: ClientConfig) -> LightkubeApi:
        """Build a client from the kubeconfig; a missing file or context is an ``ApplyError`` (one line)."""
        try:
            kube = KubeConfig.from_file(config.kubeconfig) if config.kubeconfig else KubeConfig.from_env()
            single = kube.get(context_name=config.context)
        except (ConfigError, OSError, ValueError, KeyError) as exc:
            where = str(config.kubeconfig or "the default kubeconfig")
            raise ApplyError(f"cannot use {where}: {exc}") from exc
        client = AsyncClient(
            single, field_manager=MANAGER, trust_env=False, timeout=httpx2.Timeout(config.timeout_seconds)
        )
        return cls(client)

    async def __aenter__(self) -> LightkubeApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.close()

    @property
    def server(self) -> str:
        return str(self._client.config.cluster.server)

    # -- discovery ---------------------------------------------------------------------------------------

    async def _discover(self, api_version: str) -> dict[str, ResourceType]:
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        try:
            resp = await self._http.get(path, headers={"Accept": "application/json"})
        except httpx2.TransportError as exc:
            raise _unreachable(self.server, exc) from exc
        if resp.status_code == 404:
            return {}
        if resp.status_code >= 400:
            raise rejected(_status_of(resp), ref=None, verb=f"discovery of {api_version}")
        group, _, version = api_version.rpartition("/")
        found: dict[str, ResourceType] = {}
        for item in resp.json().get("resources") or []:
            name = str(item.get("name") or "")
            if "/" in name:  # subresources (status, scale, log...)
                continue
            kind = str(item.get("kind") or "")
            found[kind] = ResourceType(group, version, kind, name, bool(item.get("namespaced")))
        return found

    async def resource_type(self, api_version: str, kind: str) -> ResourceType:
        known = self._discovery.get(api_version)
        if known is None or kind not in known:
            known = await self._discover(api_version)
            self._discovery[api_version] = known
        rt = known.get(kind)
        if rt is None:
            raise UnknownKindError(
                f"the cluster serves no {kind} in {api_version} (is its CRD installed and Established?)"
            )
        return rt

    def forget_discovery(self) -> None:
        self._discovery.clear()

    def _class(self, rt: ResourceType) -> type[Any]:
        cls = self._classes.get(rt)
        if cls is None:
            base: type[Any] = GenericNamespacedResource if rt.namespaced else GenericGlobalResource
            api_info = create_api_info(rt.group, rt.version, rt.kind, rt.plural)
            cls = type(rt.kind, (base,), {"_api_info": api_info})
            self._classes[rt] = cls
        return cls

    # -- verbs -----------------------------------------------------------------------------------------------

    def _ref(self, rt: ResourceType, namespace: str, name: str) -> ObjectRef:
        return ObjectRef(rt.group, rt.version, rt.kind, namespace if rt.namespaced else "", name)

    async def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            if rt.namespaced:
                obj = await self._client.get(self._class(rt), name, namespace=namespace)
            else:
                obj = await self._client.get(self._class(rt), name)
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise rejected(exc.status.to_dict(), ref=self._ref(rt, namespace, name), verb="get") from exc
        except httpx2.TransportError as exc:
            raise _unreachable(self.server, exc) from exc
        return _plain(obj)

    async def apply(self, rt: ResourceType, obj: Mapping[str, Any], *, dry_run: bool) -> dict[str, Any]:
        meta = obj.get("metadata") or {}
        name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
        prefix = f"/apis/{rt.api_version}" if rt.group else f"/api/{rt.version}"
        path = (
            f"{prefix}/namespaces/{namespace}/{rt.plural}/{name}"
            if rt.namespaced
            else f"{prefix}/{rt.plural}/{name}"
        )
        params = {"fieldManager": MANAGER, "force": "true", "fieldValidation": "Strict"}
        if dry_run:
            params["dryRun"] = "All"
        try:
            resp = await self._http.patch(
                path,
                params=params,
                content=json.dumps(obj).encode(),
                headers={"Content-Type": APPLY_CONTENT_TYPE, "Accept": "application/json"},
            )
        except httpx2.TransportError as exc:
            raise _unreachable(self.server, exc) from exc
        if resp.status_code >= 400:
            verb = "dry-run apply" if dry_run else "apply"
            raise rejected(_status_of(resp), ref=self._ref(rt, namespace, name), verb=verb)
        result: dict[str, Any] = resp.json()
        return result

    async def delete(self, rt: ResourceType, namespace: str, name: str) -> bool:
        try:
            if rt.namespaced:
                await self._client.delete(
                    self._class(rt), name, namespace=namespace, cascade=CascadeType.BACKGROUND
                )
            else:
                await self._client.delete(self._class(rt), name, cascade=CascadeType.BACKGROUND)
        except ApiError as exc:
            if exc.status.code == 404:
                return False
            raise rejected(exc.status.to_dict(), ref=self._ref(rt, namespace, name), verb="delete") from exc
        except httpx2.TransportError as exc:
            raise _unreachable(self.server, exc) from exc
        return True

    async def list(
        self, rt: ResourceType, namespace: str, *, labels: Mapping[str, str] | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        # One plain LIST (not lightkube's iterator) so the list's resourceVersion is known for the watch after it.
        prefix = f"/apis/{rt.api_version}" if rt.group else f"/api/{rt.version}"
        path = (
            f"{prefix}/namespaces/{namespace}/{rt.plural}"
            if rt.namespaced and namespace
            else f"{prefix}/{rt.plural}"
        )
        params = {"labelSelector": ",".join(f"{k}={v}" for k, v in labels.items())} if labels else {}
        try:
            resp = await self._http.get(path, params=params, headers={"Accept": "application/json"})
        except httpx2.TransportError as exc:
            raise _unreachable(self.server, exc) from exc
        if resp.status_code >= 400:
            raise rejected(_status_of(resp), ref=None, verb=f"list {rt.plural}")
        body = resp.json()
        items = [dict(item, apiVersion=rt.api_version, kind=rt.kind) for item in body.get("items") or []]
        return items, str((body.get("metadata") or {}).get("resourceVersion") or "")

    async def pod_log(
        self, namespace: str, name: str, *, container: str, tail_lines: int, previous: bool = False
    ) -> str:
        """``GET /api/v1/namespaces/<ns>/pods/<name>/log?container=&tailLines=[&previous=true]`` (``PodLogApi``)."""
        params = {"container": container, "tailLines": str(tail_lines)}
        if previous:
            params["previous"] = "true"
        try:
            resp = await self._http.get(f"/api/v1/namespaces/{namespace}/pods/{name}/log", params=params)
        except httpx2.TransportError as exc:
            raise _unreachable(self.server, exc) from exc
        if resp.status_code >= 400:
            ref = ObjectRef("", "v1", "Pod", namespace, name)
            raise rejected(_status_of(resp), ref=ref, verb=f"log of {container}")
        return resp.text

    async def watch(
        self,
        rt: ResourceType,
        namespace: str,
        *,
        labels: Mapping[str, str] | None = None,
        resource_version: str = "",
    ) -> AsyncIterator[WatchEvent]:
        kwargs: dict[str, Any] = {"labels": dict(labels) if labels else None, "on_error": watch_retry}
        if rt.namespaced and namespace:
            kwargs["namespace"] = namespace
        if resource_version:
            kwargs["resource_version"] = resource_version
        try:
            async for event, obj in self._client.watch(self._class(rt), **kwargs):
                if event in ("ADDED", "MODIFIED", "DELETED"):
                    yield event, _plain(obj)
        except httpx2.TransportError as exc:
            raise _unreachable(self.server, exc) from exc


def _plain(obj: Any) -> dict[str, Any]:
    plain: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    detached: dict[str, Any] = json.loads(json.dumps(plain))  # deep copy of lightkube's lazily decoded dict
    return detached


def _status_of(resp: httpx2.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return body
    return {"code": resp.status_code, "message": resp.text[:200] or resp.reason_phrase}
