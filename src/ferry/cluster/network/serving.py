"""The hand-off between the node's service proxy and the kubelet that makes pod deletion lossless.

On Kubernetes, deleting a pod starts two things at once: the kubelet runs preStop and sends SIGTERM, and the
EndpointSlice controller marks the endpoint not ready, which every kube-proxy then applies. The two race, so a
pod can get SIGTERM while proxies still send it new connections (the usual workaround is a ``preStop: sleep``).
ferry's node removes the race. The kubelet and the network agent run in one process (the controller manager's
child), and ``registry.process_node`` gives both one :class:`ServingGate`:

* the agent :meth:`~ServingGate.attach`\\ es its :class:`~.services.ServiceTable` and
  :class:`~.proxy.ServiceProxy` once the proxy serves (and detaches them when it stops);
* the kubelet, when a pod with its own network is deleted, first awaits :meth:`~ServingGate.unroute` (the pod's
  IP is no longer a **ready endpoint of any Service in the table the proxy reads for every new connection**:
  from then on no new connection goes to it, and cluster DNS stops answering it for headless Services), then
  :meth:`~ServingGate.drain` (the proxy has **no open connection to it**, dials in progress included: they were
  counted from the attempt); only then preStop, SIGTERM, and SIGKILL at the end of the grace period.

Both waits are **bounded** by the caller (the kubelet gives them together at most
``podworker.LEAVE_MAX_SECONDS``, 5 s, and at most half the grace period, taken from the grace period): an
EndpointSlice controller that is down, or keep-alive connections that the app only closes at SIGTERM, delay a
deletion by that much and no more. Without an attached proxy (the agent disabled: no root, or not started yet)
nothing is routed and neither waits.

Races, loudly: every dial attempt of the proxy reads the table as it is then (kube's userspace proxier asks its
load balancer once per attempt), so after :meth:`unroute` no attempt starts towards this pod; one that started
before is an open connection for :meth:`drain`. A dial that fails (a lost SYN, a pod that stopped listening) is
followed by one to the next ready backend, so the client still gets an answer. The waits poll (every ``poll_seconds``): both the table and the proxy change only on the event loop
they share with the kubelet, so a poll sees every change within that time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ferry.cluster.network.proxy import ServiceProxy
from ferry.cluster.network.services import ServiceTable

__all__ = ["ServingGate"]

log = logging.getLogger("ferry.network.serving")


class ServingGate:
    """What the kubelet asks the node's service proxy before it stops a pod; see the module docstring."""

    def __init__(self, *, poll_seconds: float = 0.02) -> None:
        self.poll_seconds = poll_seconds
        self._table: ServiceTable | None = None
        self._proxy: ServiceProxy | None = None

    def attach(self, table: ServiceTable, proxy: ServiceProxy) -> None:
        """The agent's proxy serves from ``table`` from now on."""
        self._table, self._proxy = table, proxy

    def detach(self) -> None:
        """The proxy stopped: nothing is routed any more."""
        self._table = self._proxy = None

    def routed(self, ip: str) -> bool:
        """Whether ``ip`` is a ready endpoint of some Service, so the proxy may send it new connections."""
        table = self._table
        if table is None:
            return False
        return any(
            ep.ip == ip and ep.ready for s in table.services() for ep in table.endpoints(s.namespace, s.name)
        )

    def connections(self, ip: str) -> int:
        """The proxy's open connections to ``ip``, dials in progress included."""
        return 0 if self._proxy is None else self._proxy.active_connections(ip)

    async def unroute(self, ip: str, *, timeout_seconds: float) -> bool:
        """Wait until :meth:`routed` is false; False when ``timeout_seconds`` ran out first."""
        return await self._until(lambda: not self.routed(ip), timeout_seconds)

    async def drain(self, ip: str, *, timeout_seconds: float) -> bool:
        """Wait until the proxy has no connection to ``ip``; False when ``timeout_seconds`` ran out first."""
        return await self._until(lambda: self.connections(ip) == 0, timeout_seconds)

    async def leave(self, ip: str, *, timeout_seconds: float, who: str = "") -> float:
        """:meth:`unroute`, then :meth:`drain`, within ``timeout_seconds`` together; the seconds spent (logged,
        with what is left when the time ran out)."""
        t0 = time.monotonic()
        unrouted = await self.unroute(ip, timeout_seconds=timeout_seconds)
        t1 = time.monotonic()
        drained = await self.drain(ip, timeout_seconds=timeout_seconds - (t1 - t0))
        t2 = time.monotonic()
        log.info(
            "%s (%s): %s the service proxy after %.3fs; connections %s after %.3fs more",
            who,
            ip,
            "left" if unrouted else "still routed by",
            t1 - t0,
            "drained" if drained else f"still open ({self.connections(ip)})",
            t2 - t1,
        )
        return t2 - t0

    async def _until(self, done: Callable[[], bool], timeout_seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout_seconds)
        while not done():
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.sleep(min(self.poll_seconds, left))
        return True
