"""The ``kubernetes`` Service's endpoint on the node: how pods reach the API server.

kube-apiserver publishes its own address as the endpoint of ``default/kubernetes`` (its "endpoint reconciler":
an ``Endpoints`` with the label ``endpointslice.kubernetes.io/skip-mirror: "true"`` and an ``EndpointSlice``
``kubernetes`` labelled ``kubernetes.io/service-name: kubernetes``, port ``https`` = the secure port, the
Service mapping 443 to it). ferry's API server usually listens on 127.0.0.1, which a pod cannot reach from its
network namespace, and endpoint validation refuses loopback addresses, as kube's does.

So the node publishes an address pods can reach: the **bridge's gateway** (the host's address on the pod
network, e.g. ``10.244.0.1``), where this controller **relays** TCP to the API server's own address
(``relay.Pipe``, TLS passes through untouched: pods see the API server's certificate, which carries
``kubernetes.default.svc`` and the ClusterIP). The relay listens on the gateway at the API server's port
number; when that address is taken because the API server already listens on every address (``--listen
0.0.0.0:…``), the endpoint is published without a relay. The chain a pod's request takes:

    pod ─► 10.96.0.1:443 (service proxy) ─► 10.244.0.1:<port> (this relay) ─► 127.0.0.1:<port> (API server)

``run`` waits until the gateway exists (the kubelet and the network agent make the bridge; binding fails with
EADDRNOTAVAIL until then, so it retries), starts the relay, then writes both objects. ``sync`` (on any change of
either object, e.g. the API server's bootstrap rewriting them on a restart) puts them back: level-triggered,
the last writer converges to the reachable address. On stop the relay closes and the objects are emptied, as
kube's reconciler removes a stopping API server's address. Without root (no bridge) it does nothing: pods
then share the host's network and reach the API server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ferry.cluster.controllers.runtime.manager import ControllerContext, ControllerSpec, Handlers, HandlerSet
from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, Lister, Obj
from ferry.cluster.network.relay import Pipe, reset

log = logging.getLogger("ferry.network.apiendpoint")

ENDPOINTS = "v1/endpoints"
SLICES = "discovery.k8s.io/v1/endpointslices"
NAME, NAMESPACE, PORT_NAME = "kubernetes", "default", "https"
KEY = f"{NAMESPACE}/{NAME}"


@dataclass(frozen=True)
class ApiEndpointConfig:
    pod_cidr: (
        str  # the node's; the gateway is its first address (the kubelet's NodeNetwork gives it the bridge)
    )
    server_url: str = ""  # the API server; "" = the controller client's base URL
    retry_seconds: float = 0.5  # between attempts to bind on the gateway while the bridge is not up yet
    connect_timeout_seconds: float = 5.0


def _gateway(pod_cidr: str) -> str:
    return str(ipaddress.ip_network(pod_cidr, strict=False).network_address + 1)


class ApiServerEndpoint:
    """Relays gateway:port to the API server and publishes that address as ``default/kubernetes``'s endpoint."""

    def __init__(
        self,
        config: ApiEndpointConfig,
        *,
        endpoints: Lister,
        slices: Lister,
        client: Client,
        server_url: str,
        euid: Callable[[], int] = os.geteuid,
    ) -> None:
        self.config, self.endpoints, self.slices, self.client = config, endpoints, slices, client
        url = urlsplit(config.server_url or server_url)
        self.upstream = (url.hostname or "127.0.0.1", url.port or 443)
        self.gateway = _gateway(config.pod_cidr)
        self.euid = euid
        self.server: asyncio.AbstractServer | None = None
        self.published: tuple[str, int] | None = None  # (ip, port) once serving
        self._tasks: set[asyncio.Task[None]] = set()

    # -- handlers: any change of the two objects → put them back ---------------------------------------
    def handlers(self) -> dict[str, HandlerSet]:
        def mine(obj: Obj) -> list[str]:
            m = obj.get("metadata") or {}
            return [KEY] if (m.get("namespace"), m.get("name")) == (NAMESPACE, NAME) else []

        return {
            ENDPOINTS: Handlers(mine, lambda old, new: [] if old is new else mine(new), mine),
            SLICES: Handlers(mine, lambda old, new: [] if old is new else mine(new), mine),
        }

    async def sync(self, key: str) -> None:
        if self.published is not None:
            await self._publish(*self.published)

    # -- desired objects ---------------------------------------------------------------------------------
    @staticmethod
    def desired_endpoints(ip: str | None, port: int) -> Obj:
        subsets = (
            []
            if ip is None
            else [
                {"addresses": [{"ip": ip}], "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}
            ]
        )
        return {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": NAME,
                "namespace": NAMESPACE,
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
            },
            "subsets": subsets,
        }

    @staticmethod
    def desired_slice(ip: str | None, port: int) -> Obj:
        return {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": NAME,
                "namespace": NAMESPACE,
                "labels": {"kubernetes.io/service-name": NAME},
            },
            "addressType": "IPv4",
            "endpoints": [] if ip is None else [{"addresses": [ip], "conditions": {"ready": True}}],
            "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}],
        }

    async def _put(self, resource: str, cached: Obj | None, desired: Obj, fields: tuple[str, ...]) -> None:
        if cached is not None and all(cached.get(f) == desired.get(f) for f in fields):
            labels = (cached.get("metadata") or {}).get("labels") or {}
            if all(labels.get(k) == v for k, v in desired["metadata"]["labels"].items()):
                return
        try:
            if cached is None:
                await self.client.create(resource, NAMESPACE, desired)
                return
            body = dict(cached) | {f: desired[f] for f in fields}
            labels = dict((cached.get("metadata") or {}).get("labels") or {}) | desired["metadata"]["labels"]
            body["metadata"] = dict(cached["metadata"]) | {"labels": labels}
            await self.client.update(resource, NAMESPACE, body)
        except ApiStatusError as e:
            if not (e.already_exists or e.code == 409):
                raise  # a conflict or a racing create: the informer's event brings us back with the new object

    async def _publish(self, ip: str | None, port: int) -> None:
        await self._put(
            ENDPOINTS, self.endpoints.get(NAMESPACE, NAME), self.desired_endpoints(ip, port), ("subsets",)
        )
        await self._put(
            SLICES,
            self.slices.get(NAMESPACE, NAME),
            self.desired_slice(ip, port),
            ("addressType", "endpoints", "ports"),
        )

    # -- the relay -----------------------------------------------------------------------------------------
    def _accept(self) -> Pipe:
        def connected(inbound: Pipe) -> None:
            task = asyncio.get_running_loop().create_task(self._connect(inbound))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return Pipe(on_connected=connected)

    async def _connect(self, inbound: Pipe) -> None:
        if inbound.transport is None or inbound.closed:
            return
        inbound.transport.pause_reading()
        outbound = Pipe()
        try:
            await asyncio.wait_for(
                asyncio.get_running_loop().create_connection(lambda: outbound, *self.upstream),
                self.config.connect_timeout_seconds,
            )
        except (OSError, TimeoutError) as e:
            log.info("kubernetes endpoint: API server %s:%d unreachable: %s", *self.upstream, e)
            reset(inbound.transport)
            return
        if inbound.closed:
            outbound.close()
            return
        inbound.link(outbound)
        inbound.transport.resume_reading()

    async def _listen(self, stop: asyncio.Event) -> tuple[str, int] | None:
        """Bind the relay on the gateway once it exists; the published (ip, port), None if stopped first."""
        port = self.upstream[1]
        logged = False
        while not stop.is_set():
            try:
                self.server = await asyncio.get_running_loop().create_server(self._accept, self.gateway, port)
                return self.gateway, port
            except OSError as e:
                if e.errno == errno.EADDRINUSE:  # the API server itself listens on every address
                    log.info("kubernetes endpoint: %s:%d is served directly (no relay)", self.gateway, port)
                    return self.gateway, port
                if not logged:
                    log.info("kubernetes endpoint: waiting for the gateway %s (%s)", self.gateway, e.strerror)
                    logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.retry_seconds)
        return None

    async def run(self, stop: asyncio.Event) -> None:
        if self.euid() != 0:
            log.info("kubernetes endpoint: not root, no pod network; pods reach the API server on the host")
            return
        try:
            address = await self._listen(stop)
            if address is None:
                return
            while not stop.is_set():
                try:
                    await self._publish(*address)
                    break
                except Exception as e:
                    log.warning("kubernetes endpoint: publishing %s:%d failed: %s; retrying", *address, e)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 1.0)
            self.published = address
            log.info("kubernetes endpoint: %s:%d relays to the API server at %s:%d", *address, *self.upstream)
            await stop.wait()
        finally:  # the manager cancels this task right after setting stop: finish withdrawing regardless
            shutdown = asyncio.ensure_future(self._shutdown())
            try:
                await asyncio.shield(shutdown)
            except asyncio.CancelledError:
                await shutdown
                raise

    async def _shutdown(self) -> None:
        address, self.published = self.published, None
        if self.server is not None:
            self.server.close()
            self.server = None
        for task in list(self._tasks):
            task.cancel()
        if address is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._publish(None, address[1]), 2.0)


def api_server_endpoint(config: Callable[[], ApiEndpointConfig]) -> ControllerSpec:
    """The spec for ``controllers_for`` (process runtime); ``config`` is called in the controller-manager
    process. Its identity is kube-apiserver's role, so its writes read as the API server's."""

    def build(c: ControllerContext) -> ApiServerEndpoint:
        return ApiServerEndpoint(
            config(),
            endpoints=c.lister(ENDPOINTS),
            slices=c.lister(SLICES),
            client=c.client,
            server_url=getattr(c.client, "base_url", ""),
        )

    return ControllerSpec("kubernetes-endpoint", build, workers=1)
