"""The node's view of Services and EndpointSlices, shared by the service proxy and the cluster DNS.

The caller (the cluster process, from its informers) feeds plain API dicts: :meth:`ServiceTable.apply_service`,
:meth:`~ServiceTable.delete_service`, :meth:`~ServiceTable.apply_slice`, :meth:`~ServiceTable.delete_slice`.
The table parses them into small frozen records and tells its subscribers which service changed; readers ask
it at the moment they need an answer (a new connection, a DNS query), so an endpoint change is followed by the
very next connection or query, with no resync delay.

Endpoint semantics (k8s-semantics.md §5, as kube-proxy reads them): an endpoint belongs to a service through the
slice label ``kubernetes.io/service-name``; only ``addressType: IPv4`` slices are used; ``conditions.ready``
missing means ready; the port of a service port is the slice port **with the same name** (the controller has
already resolved named target ports per pod). An endpoint in two slices (a slice being rewritten) counts once,
ready if any copy is ready. Terminating endpoints stay in the slice with ``ready: false``: they get no new
connections and no DNS answers, while existing connections drain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Backend", "Endpoint", "Service", "ServiceKey", "ServicePort", "ServiceTable"]

log = logging.getLogger("ferry.network.services")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
ServiceKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int
    protocol: str  # TCP, UDP, SCTP
    node_port: int | None


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    type: str  # ClusterIP, NodePort, LoadBalancer, ExternalName
    cluster_ip: str | None  # None: headless (clusterIP "None") or unset
    ports: tuple[ServicePort, ...]
    headless: bool

    @property
    def key(self) -> ServiceKey:
        return (self.namespace, self.name)

    @classmethod
    def parse(cls, obj: Mapping[str, Any]) -> Service:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        ip = spec.get("clusterIP") or None
        ports = tuple(
            ServicePort(
                name=str(p.get("name") or ""),
                port=int(p.get("port") or 0),
                protocol=str(p.get("protocol") or "TCP"),
                node_port=int(p["nodePort"]) if p.get("nodePort") else None,
            )
            for p in spec.get("ports") or []
        )
        return cls(
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name") or ""),
            type=str(spec.get("type") or "ClusterIP"),
            cluster_ip=None if ip in (None, "None") else str(ip),
            ports=ports,
            headless=ip == "None",
        )


@dataclass(frozen=True)
class Endpoint:
    ip: str
    ready: bool
    terminating: bool
    hostname: str | None
    ports: tuple[tuple[str, int, str], ...]  # (name, port, protocol) of the slice


@dataclass(frozen=True)
class Backend:
    ip: str
    port: int


def _parse_slice(obj: Mapping[str, Any]) -> tuple[ServiceKey | None, tuple[Endpoint, ...]]:
    meta = obj.get("metadata") or {}
    svc = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    if not svc or obj.get("addressType", "IPv4") != "IPv4":
        return None, ()
    ports = tuple(
        (str(p.get("name") or ""), int(p["port"]), str(p.get("protocol") or "TCP"))
        for p in obj.get("ports") or []
        if p.get("port") is not None
    )
    endpoints = []
    for ep in obj.get("endpoints") or []:
        addresses = ep.get("addresses") or []
        if not addresses:
            continue
        cond = ep.get("conditions") or {}
        endpoints.append(
            Endpoint(
                ip=str(addresses[0]),
                ready=cond.get("ready") is not False,
                terminating=bool(cond.get("terminating")),
                hostname=ep.get("hostname") or None,
                ports=ports,
            )
        )
    return (str(meta.get("namespace") or "default"), str(svc)), tuple(endpoints)


class ServiceTable:
    """Services and their endpoints by (namespace, name); subscribers hear the key of each change."""

    def __init__(self) -> None:
        self._services: dict[ServiceKey, Service] = {}
        self._slices: dict[tuple[str, str], tuple[ServiceKey, tuple[Endpoint, ...]]] = {}
        self._by_service: dict[ServiceKey, set[tuple[str, str]]] = {}
        self._subscribers: list[Callable[[ServiceKey], None]] = []

    def subscribe(self, callback: Callable[[ServiceKey], None]) -> None:
        """``callback(key)`` after every change of a service or its endpoints; it must not block."""
        self._subscribers.append(callback)

    def _changed(self, key: ServiceKey) -> None:
        for callback in self._subscribers:
            callback(key)

    # -- events -----------------------------------------------------------------------------------------
    def apply_service(self, obj: Mapping[str, Any]) -> None:
        svc = Service.parse(obj)
        if self._services.get(svc.key) != svc:
            self._services[svc.key] = svc
            self._changed(svc.key)

    def delete_service(self, obj: Mapping[str, Any]) -> None:
        key = Service.parse(obj).key
        if self._services.pop(key, None) is not None:
            self._changed(key)

    def apply_slice(self, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        slice_key = (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
        svc_key, endpoints = _parse_slice(obj)
        old = self._slices.get(slice_key)
        if svc_key is None:
            self.delete_slice(obj)
            return
        if old == (svc_key, endpoints):
            return
        if old is not None and old[0] != svc_key:
            self._forget_slice(slice_key)
            self._changed(old[0])
        self._slices[slice_key] = (svc_key, endpoints)
        self._by_service.setdefault(svc_key, set()).add(slice_key)
        self._changed(svc_key)

    def delete_slice(self, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        slice_key = (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
        old = self._forget_slice(slice_key)
        if old is not None:
            self._changed(old)

    def _forget_slice(self, slice_key: tuple[str, str]) -> ServiceKey | None:
        old = self._slices.pop(slice_key, None)
        if old is None:
            return None
        members = self._by_service.get(old[0], set())
        members.discard(slice_key)
        if not members:
            self._by_service.pop(old[0], None)
        return old[0]

    # -- reads ------------------------------------------------------------------------------------------
    def service(self, namespace: str, name: str) -> Service | None:
        return self._services.get((namespace, name))

    def services(self, namespace: str | None = None) -> list[Service]:
        return [s for k, s in sorted(self._services.items()) if namespace is None or k[0] == namespace]

    def by_cluster_ip(self, ip: str) -> Service | None:
        return next((s for s in self._services.values() if s.cluster_ip == ip), None)

    def endpoints(self, namespace: str, name: str) -> list[Endpoint]:
        """Every endpoint of the service once (ready wins over not ready), ordered by IP."""
        merged: dict[str, Endpoint] = {}
        for slice_key in sorted(self._by_service.get((namespace, name), ())):
            for ep in self._slices[slice_key][1]:
                seen = merged.get(ep.ip)
                if seen is None or (ep.ready and not seen.ready):
                    merged[ep.ip] = ep
        return sorted(merged.values(), key=lambda e: tuple(int(x) for x in e.ip.split(".")))

    def backends(self, namespace: str, name: str, port_name: str, protocol: str = "TCP") -> list[Backend]:
        """The ready backends of one service port, in a stable order (the proxy's round-robin ring)."""
        out = []
        for ep in self.endpoints(namespace, name):
            if not ep.ready:
                continue
            port = next((p for n, p, proto in ep.ports if n == port_name and proto == protocol), None)
            if port is not None:
                out.append(Backend(ep.ip, port))
        return out
