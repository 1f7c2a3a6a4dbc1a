"""The service proxy: a userspace, asyncio TCP proxy for every ClusterIP and NodePort service port.

For each TCP port of a service with a ClusterIP it listens on ``ClusterIP:port`` (the ClusterIP is added as a /32
to the node's service link by an :class:`AddressManager`, so pods reach it through their gateway and the host
reaches it directly), and for NodePort/LoadBalancer services also on ``127.0.0.1:nodePort``. Each new connection
goes to the next **ready** backend of that port, round-robin (the ring is read from the :class:`ServiceTable` at
that moment, so endpoint changes apply to the very next connection). Dialing is kube-proxy's userspace mode's
(``tryConnectTCP``): up to four attempts with the timeouts ``EndpointDialTimeouts`` = 0.25, 0.5, 1 and 2 s, each
to the next ready backend **as the table is at that attempt** (a backend that left meanwhile is not tried, one
that joined is), so a refused dial or a lost SYN costs one short timeout, not the request. When there is no
ready backend (or no attempt succeeds), the client connection is reset. Existing connections are never cut when
an endpoint turns not ready or terminating: they drain on their own, and :meth:`ServiceProxy.active_connections`
tells the kubelet how many are left.

Why userspace and not iptables/nft DNAT or IPVS (kube-proxy's modes since 1.2): it assumes no kernel module or
netfilter layout (this Firecracker kernel lacks the ``dummy`` driver, for instance, and ferry must not rewrite a
laptop's firewall), it works the same for pods and for the host's own processes (DNAT in OUTPUT plus
``route_localnet`` would be needed for 127.0.0.1), and it gives exact control over draining: ferry's rolling
updates are stricter than Kubernetes' because a pod leaves the ring before its SIGTERM and its open connections
are observable (the kubelet waits for both through :class:`~ferry.cluster.network.serving.ServingGate`). The cost: every byte crosses the proxy process twice (small HTTP requests: about half the
direct request rate when client, proxy and backend share one core, see docs/network.md), backends see the node's address as the client address
instead of the client's, and UDP and SCTP ports are not proxied (a log line says so; the cluster DNS, the one UDP
service pods need, is served directly on the gateway). Session affinity is not implemented: ClientIP affinity is
ignored and every connection is balanced.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from ferry.cluster.network.hostcmd import IP, Runner, run_command
from ferry.cluster.network.relay import Pipe, reset
from ferry.cluster.network.services import Backend, Service, ServiceKey, ServiceTable

__all__ = ["AddressManager", "LinkAddresses", "Listener", "ServiceProxy"]

log = logging.getLogger("ferry.network.proxy")
DIAL_TIMEOUTS = (0.25, 0.5, 1.0, 2.0)  # kube-proxy userspace's EndpointDialTimeouts, one per attempt


class AddressManager(Protocol):
    """Makes a ClusterIP a local address of the host (and takes it away again)."""

    async def add(self, ip: str) -> None: ...
    async def remove(self, ip: str) -> None: ...


@dataclass
class LinkAddresses:
    """The real :class:`AddressManager`: /32 addresses on the node's service link (``ferry-svc0``)."""

    link: str
    runner: Runner = run_command

    async def add(self, ip: str) -> None:
        await self.runner([IP, "addr", "replace", f"{ip}/32", "dev", self.link])

    async def remove(self, ip: str) -> None:
        await self.runner([IP, "addr", "del", f"{ip}/32", "dev", self.link], check=False)


@dataclass(frozen=True, order=True)
class Listener:
    """One listening socket of the proxy: which service port, on which address."""

    namespace: str
    service: str
    port_name: str
    host: str
    port: int


@dataclass
class _Port:
    servers: dict[tuple[str, int], asyncio.Server] = field(default_factory=dict)
    turn: itertools.count[int] = field(default_factory=itertools.count)


class ServiceProxy:
    """Listens for every TCP service port of the table; see the module docstring."""

    def __init__(
        self,
        table: ServiceTable,
        *,
        addresses: AddressManager | None = None,
        node_port_host: str = "127.0.0.1",
        dial_timeouts: tuple[float, ...] = DIAL_TIMEOUTS,
    ) -> None:
        self.table = table
        self.addresses = addresses
        self.node_port_host = node_port_host
        self.dial_timeouts = dial_timeouts
        self._ports: dict[tuple[ServiceKey, str], _Port] = {}
        self._ips: dict[ServiceKey, str] = {}  # ClusterIPs we added
        self._active: Counter[str] = Counter()  # open relays per backend IP
        self._queue: asyncio.Queue[ServiceKey | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._relays: set[Pipe] = set()  # backend sides of open relays
        self._tasks: set[asyncio.Task[None]] = set()  # connections being connected to a backend
        self.on_error: Callable[[ServiceKey, Exception], Awaitable[None] | None] | None = None

    # -- lifecycle --------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the table and open listeners for what it already holds."""
        self.table.subscribe(self._enqueue)
        self._worker = asyncio.create_task(self._run(), name="ferry-service-proxy")
        for svc in self.table.services():
            self._enqueue(svc.key)
        await self.synced()

    async def synced(self) -> None:
        """Wait until every change seen so far has its listeners (tests, and the kubelet before reporting ready)."""
        await self._queue.join()

    async def close(self) -> None:
        """Stop listening, remove the ClusterIPs we added, and close every open relay."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        for key in list({k for k, _ in self._ports} | set(self._ips)):
            await self._close_service(key)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for pipe in list(self._relays):
            pipe.close()
        self._relays.clear()

    # -- reconciling listeners ------------------------------------------------------------------------
    def _enqueue(self, key: ServiceKey) -> None:
        self._queue.put_nowait(key)

    async def _run(self) -> None:
        while True:
            key = await self._queue.get()
            try:
                if key is not None:
                    await self._sync(key)
            except Exception as e:  # one bad service must not stop the proxy
                log.warning("service %s/%s: %s", key[0] if key else "", key[1] if key else "", e)
                if self.on_error is not None and key is not None:
                    maybe = self.on_error(key, e)
                    if maybe is not None:
                        await maybe
            finally:
                self._queue.task_done()

    def _wanted(self, svc: Service | None) -> dict[str, set[tuple[str, int]]]:
        if svc is None or svc.cluster_ip is None or svc.type == "ExternalName":
            return {}
        wanted: dict[str, set[tuple[str, int]]] = {}
        for sp in svc.ports:
            if sp.protocol != "TCP":
                log.info(
                    "service %s/%s port %s: %s is not proxied", svc.namespace, svc.name, sp.port, sp.protocol
                )
                continue
            binds = {(svc.cluster_ip, sp.port)}
            if sp.node_port and svc.type in ("NodePort", "LoadBalancer"):
                binds.add((self.node_port_host, sp.node_port))
            wanted[sp.name] = binds
        return wanted

    async def _sync(self, key: ServiceKey) -> None:
        svc = self.table.service(*key)
        wanted = self._wanted(svc)
        ip = svc.cluster_ip if svc is not None and wanted else None
        for (k, name), port in list(self._ports.items()):
            if k != key:
                continue
            for bind in [b for b in port.servers if b not in wanted.get(name, set())]:
                port.servers.pop(bind).close()
            if name not in wanted:
                del self._ports[(k, name)]
        if self._ips.get(key) not in (None, ip):
            await self._remove_ip(key)
        if ip is not None and key not in self._ips:
            if self.addresses is not None:
                await self.addresses.add(ip)
            self._ips[key] = ip
        loop = asyncio.get_running_loop()
        for name, binds in wanted.items():
            port = self._ports.setdefault((key, name), _Port())
            for host, number in sorted(binds - set(port.servers)):
                port.servers[(host, number)] = await loop.create_server(
                    lambda key=key, name=name: self._accept(key, name),  # type: ignore[misc]
                    host,
                    number,
                    reuse_address=True,
                    backlog=1024,
                )

    async def _remove_ip(self, key: ServiceKey) -> None:
        ip = self._ips.pop(key, None)
        if ip is not None and self.addresses is not None and ip not in self._ips.values():
            await self.addresses.remove(ip)

    async def _close_service(self, key: ServiceKey) -> None:
        for (k, name), port in list(self._ports.items()):
            if k == key:
                for server in port.servers.values():
                    server.close()
                del self._ports[(k, name)]
        await self._remove_ip(key)

    def listeners(self) -> list[Listener]:
        """Every socket the proxy listens on now."""
        return sorted(
            Listener(k[0], k[1], name, host, number)
            for (k, name), port in self._ports.items()
            for host, number in port.servers
        )

    # -- connections ------------------------------------------------------------------------------------
    def _accept(self, key: ServiceKey, port_name: str) -> Pipe:
        def connected(inbound: Pipe) -> None:
            task = asyncio.get_running_loop().create_task(self._connect(inbound, key, port_name))
            self._tasks.add(task)  # a strong reference: the loop keeps only weak ones
            task.add_done_callback(self._tasks.discard)

        return Pipe(on_connected=connected)

    def pick(self, key: ServiceKey, port_name: str) -> list[Backend]:
        """The ready backends in the order this connection tries them: round-robin start, then the rest."""
        ring = self.table.backends(key[0], key[1], port_name)
        port = self._ports.get((key, port_name))
        if not ring or port is None:
            return ring
        start = next(port.turn) % len(ring)
        return ring[start:] + ring[:start]

    async def _connect(self, inbound: Pipe, key: ServiceKey, port_name: str) -> None:
        if inbound.transport is None or inbound.closed:
            return
        inbound.transport.pause_reading()
        loop = asyncio.get_running_loop()
        for timeout in self.dial_timeouts:
            ring = self.pick(
                key, port_name
            )  # the table now: who left or joined during the last attempt counts
            if inbound.closed or not ring:
                break
            backend = ring[0]
            ip = backend.ip
            outbound = Pipe(on_close=lambda ip=ip: self._closed(ip))  # type: ignore[misc]
            self._active[ip] += 1  # counted from the attempt, so a fast close can never go below zero
            try:
                await asyncio.wait_for(
                    loop.create_connection(lambda o=outbound: o, backend.ip, backend.port),  # type: ignore[misc]
                    timeout,
                )
            except (OSError, TimeoutError) as e:
                if outbound.transport is None:  # never connected: connection_lost will not count it down
                    self._closed(ip)
                reason = str(e) or f"no answer within {timeout:g}s"
                log.info("%s/%s: backend %s:%s failed: %s", *key, backend.ip, backend.port, reason)
                continue
            self._relays.add(outbound)
            if inbound.closed:
                outbound.close()
            else:
                inbound.link(outbound)
                inbound.transport.resume_reading()
            return
        if not inbound.closed:
            reset(inbound.transport)

    def _closed(self, ip: str) -> None:
        self._active[ip] -= 1
        if self._active[ip] <= 0:
            del self._active[ip]
        self._relays.difference_update({p for p in self._relays if p.closed})

    def active_connections(self, ip: str | None = None) -> int:
        """Open relays to backend ``ip`` (all backends when None): how a terminating pod's drain is watched."""
        return sum(self._active.values()) if ip is None else self._active.get(ip, 0)
