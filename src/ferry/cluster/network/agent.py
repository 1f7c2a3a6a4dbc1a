"""The node's network agent: kube-proxy's and CoreDNS's roles, as one controller of the controller manager.

It runs inside the controller-manager process next to the kubelet (``network_agent(config)`` gives its
:class:`~ferry.cluster.controllers.runtime.manager.ControllerSpec`) and wires the libraries of this package to the
API::

    informers: Services, EndpointSlices, Pods, Nodes ──handlers──► keys ──sync──► ServiceTable + PodDirectory
                                                                                     │            │
    run(stop): setup_node (ferry0, ferry-svc0) ─► ServiceProxy (ClusterIP on ferry-svc0, 127.0.0.1:nodePort)
               ─► DnsServer on the gateway :53 (VerifiedZone)   ... stop ─► close both ─► teardown_node

**Handlers → keys → sync.** Handlers only turn events into keys (``svc/ns/name``, ``slice/ns/name``,
``pod/ns/name``, ``node/name``); ``sync`` reads the *current* cached object and applies it to the table or the pod
directory, or removes it when the cache no longer has it (level-triggered: a burst of updates is one sync, and a
delete needs no tombstone). The table tells the proxy at once; the proxy and the DNS server read the table when a
connection or a query arrives, so a change is served within a work-queue hop (well under a millisecond) of the
informer seeing it. Resyncs (``on_update(obj, obj)``) and pod updates that change neither IPs nor phase are
dropped in the handlers: the table cannot drift, and pod status churn must not cost anything.

**Start** (``run``, once the caches have synced): without root (or without ``ip``) the agent does nothing but say
so: a log line and a Warning event ``NetworkAgentDisabled`` on the Node, and :attr:`NetworkAgent.state` is
``"disabled"``. Otherwise it waits for the pod CIDR (the config's, or the Node's ``spec.podCIDR`` once the kubelet
has registered it), sets the node up (retried with back-off: the kubelet may be setting it up at the same moment,
and ``NodeNetwork.setup_node`` is idempotent but not atomic), fills the table from the caches, removes ClusterIPs
that a previous run left on the service link for services deleted meanwhile (**re-adoption after a crash**: the
link is ours by its name, so every /32 on it is an address this agent once added), and only then starts the proxy
and the DNS server, so nothing it removes can be an address the new proxy has just added.

**Ingress** (``ingress_port`` set): the agent hosts the ingress controller (``ingresscontroller.py``), which reads
the same ServiceTable; its Ingress/IngressClass keys (``ing/…``, ``ingclass/…``) are synced there, and its proxy
starts right after the service proxy and stops first.

**The kubelet's gate.** With a :class:`~ferry.cluster.network.serving.ServingGate` (``registry.process_node`` gives
the kubelet the same one), the agent attaches its table and proxy once the proxy serves, and detaches them when it
stops: the kubelet then SIGTERMs a deleted pod only after the proxy routes it nothing new and its connections
drained (bounded; see ``serving.py`` and docs/network.md "Zero-downtime rollouts").

**Stop** (``stop`` set, or the task cancelled by the manager right after): the DNS server and the proxy close, and
with ``teardown_on_stop`` (the default: ``ferry cluster down``) ``teardown_node`` removes the bridge, the service
link (and with it every ClusterIP, so the proxy does not remove them one by one), every pod sandbox of the IPAM,
and the NAT table. The shutdown runs shielded: the manager cancels its tasks just after setting ``stop``, and a
half-done teardown would leave links behind. A ``kill -9`` skips all of it; the next start re-adopts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.cluster.controllers.runtime.manager import (
    ControllerContext,
    ControllerSpec,
    Handlers,
    HandlerSet,
    Keys,
)
from ferry.cluster.controllers.runtime.types import Client, EventRecorder, Lister, Obj
from ferry.cluster.network.dnsserver import DnsServer
from ferry.cluster.network.hostcmd import IP, NetworkError, Runner, run_command
from ferry.cluster.network.ingresscontroller import INGRESSCLASSES, INGRESSES, IngressController
from ferry.cluster.network.node import NodeNetwork, NodeNetworkConfig
from ferry.cluster.network.podnames import PodDirectory, VerifiedZone, pod_ips
from ferry.cluster.network.proxy import LinkAddresses, ServiceProxy
from ferry.cluster.network.services import ServiceTable
from ferry.cluster.network.serving import ServingGate

__all__ = ["AGENT_NAME", "NetworkAgent", "NetworkAgentConfig", "network_agent"]

log = logging.getLogger("ferry.network.agent")

AGENT_NAME = "kube-proxy"  # its identity (service account) and the events' source, as kube-proxy's
SERVICES = "v1/services"
SLICES = "discovery.k8s.io/v1/endpointslices"
PODS = "v1/pods"
NODES = "v1/nodes"


@dataclass(frozen=True)
class NetworkAgentConfig:
    """Settings of one node's agent. ``state_dir``, ``name_prefix`` and the pod CIDR must be the kubelet's."""

    state_dir: Path  # the NodeNetwork's ipam.json and node.json (shared with the kubelet)
    node_name: str = "ferry-node-1"
    pod_cidr: str | None = None  # None: the Node's spec.podCIDR, waited for
    name_prefix: str = "ferry"
    outbound_nat: bool = False
    dns_host: str | None = None  # None: the bridge's gateway address, which the pods' resolv.conf names
    dns_port: int = 53
    dns_upstreams: tuple[tuple[str, int], ...] | None = None  # None: the nameservers of /etc/resolv.conf
    node_port_host: str = "127.0.0.1"
    cluster_domain: str = "cluster.local"
    verified_pod_names: bool = True  # CoreDNS "pods verified"; False: "pods insecure"
    teardown_on_stop: bool = True
    setup_retry_seconds: float = 1.0  # first back-off of a failed node setup, doubling up to 30 s
    ingress_port: int | None = None  # the ingress proxy (ingresscontroller.py); None: none; 0: any free port
    ingress_host: str = "127.0.0.1"


class _Addresses:
    """The proxy's address manager: real ``ip addr`` calls, except removals once the link itself is going away."""

    def __init__(self, link: LinkAddresses) -> None:
        self.link = link
        self.link_going = False

    async def add(self, ip: str) -> None:
        await self.link.add(ip)

    async def remove(self, ip: str) -> None:
        if not self.link_going:
            await self.link.remove(ip)


def _meta(obj: Obj) -> tuple[str, str]:
    m = obj.get("metadata") or {}
    return str(m.get("namespace") or ""), str(m.get("name") or "")


def _key(prefix: str, obj: Obj) -> str:
    ns, name = _meta(obj)
    return f"{prefix}/{ns}/{name}"


def _pod_facts(pod: Obj) -> tuple[frozenset[str], Any]:
    return pod_ips(pod), (pod.get("status") or {}).get("phase")


class NetworkAgent:
    """kube-proxy + cluster DNS for one node; see the module docstring."""

    def __init__(
        self,
        config: NetworkAgentConfig,
        *,
        services: Lister,
        slices: Lister,
        pods: Lister,
        nodes: Lister,
        recorder: EventRecorder,
        runner: Runner = run_command,
        euid: Callable[[], int] = os.geteuid,
        client: Client | None = None,
        ingresses: Lister | None = None,
        ingress_classes: Lister | None = None,
        gate: ServingGate | None = None,
    ) -> None:
        self.config = config
        self.services, self.slices, self.pods_cache, self.nodes = services, slices, pods, nodes
        self.recorder = recorder
        self.runner = runner
        self.euid = euid
        self.table = ServiceTable()
        self.pods = PodDirectory()
        self.zone = VerifiedZone(
            self.table, self.pods, domain=config.cluster_domain, verified=config.verified_pod_names
        )
        self.state = "starting"  # starting | disabled | waiting | running | stopped
        self.reason = ""  # why disabled, or the last setup failure
        self.net: NodeNetwork | None = None
        self.proxy: ServiceProxy | None = None
        self.dns: DnsServer | None = None
        self._addresses: _Addresses | None = None
        self._node_changed = asyncio.Event()
        self.gate = gate  # the kubelet's view of what the proxy routes (serving.py), attached while it serves
        self.ingress: IngressController | None = None
        if config.ingress_port is not None and ingresses is not None and ingress_classes is not None:
            self.ingress = IngressController(
                self.table,
                ingresses=ingresses,
                classes=ingress_classes,
                client=client,
                recorder=recorder,
                host=config.ingress_host,
                port=config.ingress_port,
                state_dir=config.state_dir,
                node_ref=self._node_ref(),
            )

    # -- events → keys ----------------------------------------------------------------------------------
    def handlers(self) -> Mapping[str, HandlerSet]:
        def keyed(prefix: str) -> Handlers:
            def one(obj: Obj) -> Keys:
                return [_key(prefix, obj)]

            def changed(old: Obj, new: Obj) -> Keys:
                return [] if old is new else [_key(prefix, new)]

            return Handlers(one, changed, one)

        def pod_changed(old: Obj, new: Obj) -> Keys:
            return [] if _pod_facts(old) == _pod_facts(new) else [_key("pod", new)]

        def node(obj: Obj) -> Keys:
            name = _meta(obj)[1]
            return [f"node/{name}"] if name == self.config.node_name else []

        pods = keyed("pod")
        return {
            SERVICES: keyed("svc"),
            SLICES: keyed("slice"),
            PODS: Handlers(pods.on_add, pod_changed, pods.on_delete),
            NODES: Handlers(node, lambda old, new: node(new), node),
            **(self.ingress.handlers() if self.ingress is not None else {}),
        }

    async def sync(self, key: str) -> None:
        """Apply the cached state of one object to the table, the pod directory or the pod CIDR."""
        kind, _, rest = key.partition("/")
        ns, _, name = rest.partition("/")
        if kind == "svc":
            self._apply_service(ns, name)
        elif kind == "slice":
            self._apply_slice(ns, name)
        elif kind == "pod":
            self.pods.apply(ns, name, self.pods_cache.get(ns, name))
        elif kind == "node":
            self._node_changed.set()
        elif kind in ("ing", "ingclass") and self.ingress is not None:
            await self.ingress.sync(key)

    def _apply_service(self, ns: str, name: str) -> None:
        obj = self.services.get(ns, name)
        if obj is None:
            self.table.delete_service({"metadata": {"namespace": ns, "name": name}})
        else:
            self.table.apply_service(obj)

    def _apply_slice(self, ns: str, name: str) -> None:
        obj = self.slices.get(ns, name)
        if obj is None:
            self.table.delete_slice({"metadata": {"namespace": ns, "name": name}})
        else:
            self.table.apply_slice(obj)

    def _load_caches(self) -> None:
        """Everything the caches hold now (the queued syncs will apply the same again, harmlessly)."""
        for obj in self.services.list():
            self._apply_service(*_meta(obj))
        for obj in self.slices.list():
            self._apply_slice(*_meta(obj))
        for obj in self.pods_cache.list():
            ns, name = _meta(obj)
            self.pods.apply(ns, name, obj)

    # -- the node's lifetime ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Set the node up, serve until ``stop``, then shut down (shielded from the manager's cancel)."""
        try:
            try:
                await self._start(stop)
            except Exception as e:  # the run task's failure would otherwise pass silently
                self.reason = f"start failed: {e}"
                log.exception("network agent: start failed")
            await stop.wait()
        finally:
            shutdown = asyncio.ensure_future(self._shutdown())
            try:
                await asyncio.shield(shutdown)
            except asyncio.CancelledError:
                await shutdown
                raise

    def _unusable(self) -> str:
        uid = self.euid()
        if uid != 0:
            return f"not running as root (uid {uid})"
        if not Path(IP).exists():
            return f"{IP} (iproute2) is missing"
        return ""

    def _node_ref(self) -> Obj:
        name = self.config.node_name  # kube's node events use the node's name as its uid
        return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": name}}

    async def _start(self, stop: asyncio.Event) -> None:
        reason = self._unusable()
        if reason:
            self.state, self.reason = "disabled", reason
            message = f"{reason}: this node serves no ClusterIPs, NodePorts or cluster DNS"
            log.warning("network agent disabled: %s", message)
            self.recorder.event(self._node_ref(), "Warning", "NetworkAgentDisabled", message)
            return
        self.state = "waiting"
        cidr = await self._pod_cidr(stop)
        if cidr is None:
            return
        cfg = self.config
        net_config = NodeNetworkConfig(
            pod_cidr=cidr, state_dir=cfg.state_dir, name_prefix=cfg.name_prefix, outbound_nat=cfg.outbound_nat
        )
        self.net = net = NodeNetwork(net_config, runner=self.runner)
        delay = cfg.setup_retry_seconds
        while True:
            try:
                await net.setup_node()
                break
            except (NetworkError, OSError) as e:
                self.reason = f"node setup failed: {e}"
                log.warning("network agent: %s; retrying in %.1fs", self.reason, delay)
                if await _wait(stop, None, delay):
                    return
                delay = min(delay * 2, 30.0)
        self._load_caches()
        await self._prune_addresses(net)
        self._addresses = _Addresses(LinkAddresses(net.config.service_link, self.runner))
        self.proxy = ServiceProxy(self.table, addresses=self._addresses, node_port_host=cfg.node_port_host)
        await self.proxy.start()
        if self.gate is not None:
            self.gate.attach(self.table, self.proxy)
        if self.ingress is not None:  # before DNS, whose failure returns early
            await self.ingress.start()
        dns = DnsServer(
            self.zone, host=cfg.dns_host or net.gateway, port=cfg.dns_port, upstreams=cfg.dns_upstreams
        )
        try:
            await dns.start()
        except OSError as e:  # the proxy still serves; pods resolve nothing in the cluster domain
            self.state, self.reason = "running", f"cluster DNS failed to listen on {dns.host}:{dns.port}: {e}"
            log.error("network agent: %s", self.reason)
            self.recorder.event(self._node_ref(), "Warning", "ClusterDNSFailed", self.reason)
            return
        self.dns = dns
        self.state, self.reason = "running", ""
        log.info(
            "network agent running: pods %s on %s, services on %s, cluster DNS on %s:%d",
            cidr,
            net.config.bridge,
            net.config.service_link,
            self.dns.host,
            self.dns.port,
        )
        self.recorder.event(
            self._node_ref(),
            "Normal",
            "Starting",
            f"Started the service proxy on {net.config.service_link} and cluster DNS on {self.dns.host}:{self.dns.port}",
        )

    async def _pod_cidr(self, stop: asyncio.Event) -> str | None:
        """The config's pod CIDR, or the Node's ``spec.podCIDR`` once it has one (None: stopped first)."""
        if self.config.pod_cidr:
            return self.config.pod_cidr
        waited = False
        while True:
            self._node_changed.clear()
            node = self.nodes.get(None, self.config.node_name) or {}
            cidr = (node.get("spec") or {}).get("podCIDR")
            if cidr:
                return str(cidr)
            if not waited:
                log.info("network agent: waiting for node %s to have a podCIDR", self.config.node_name)
                waited = True
            if await _wait(stop, self._node_changed, 5.0):
                return None

    def expected_cluster_ips(self) -> set[str]:
        """The ClusterIPs the proxy serves for the table's services (TCP ports, not ExternalName)."""
        return {
            s.cluster_ip
            for s in self.table.services()
            if s.cluster_ip and s.type != "ExternalName" and any(p.protocol == "TCP" for p in s.ports)
        }

    async def _prune_addresses(self, net: NodeNetwork) -> None:
        """Remove /32s a previous run left on the service link for services that are gone."""
        link = net.config.service_link
        shown = await self.runner([IP, "-o", "-4", "addr", "show", "dev", link], check=False)
        for line in shown.stdout.splitlines():
            parts = line.split()
            if "inet" not in parts[:-1]:
                continue
            ip, _, bits = parts[parts.index("inet") + 1].partition("/")
            if bits == "32" and ip not in self.expected_cluster_ips():
                log.info("network agent: removing %s from %s (its service is gone)", ip, link)
                await self.runner([IP, "addr", "del", f"{ip}/32", "dev", link], check=False)

    async def _shutdown(self) -> None:
        teardown = self.config.teardown_on_stop and self.net is not None
        try:
            if self.ingress is not None:
                await self.ingress.close()
            if self.dns is not None:
                await self.dns.close()
            if self.gate is not None:
                self.gate.detach()
            if self.proxy is not None:
                if self._addresses is not None:
                    self._addresses.link_going = teardown
                await self.proxy.close()
            if teardown and self.net is not None:
                try:
                    await self.net.teardown_node()
                except (
                    NetworkError
                ) as e:  # the kubelet tearing down at the same moment: the rest is idempotent
                    log.info("network agent: teardown raced (%s); once more", e)
                    await self.net.teardown_node()
                log.info("network agent: node network torn down")
        except Exception:
            log.exception("network agent: shutdown failed")
        finally:
            self.dns = self.proxy = None
            if self.state != "disabled":
                self.state = "stopped"


async def _wait(stop: asyncio.Event, other: asyncio.Event | None, seconds: float) -> bool:
    """Wait for ``stop`` (True), ``other`` or ``seconds`` (False)."""
    waiters = {asyncio.ensure_future(stop.wait())}
    if other is not None:
        waiters.add(asyncio.ensure_future(other.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiters, return_exceptions=True)
    return stop.is_set()


def network_agent(
    config: NetworkAgentConfig | Callable[[], NetworkAgentConfig], *, gate: ServingGate | None = None
) -> ControllerSpec:
    """The agent's spec for ``controllers_for``: identity ``kube-proxy``, two sync workers. ``config`` may be a
    function, called when the controller is built (in the controller-manager process, not in its parent).
    ``gate``: shared with the kubelet of this node, so that it stops a deleted pod only once the proxy no
    longer routes to it (``serving.py``)."""

    def build(c: ControllerContext) -> NetworkAgent:
        cfg = config() if callable(config) else config
        ingress = cfg.ingress_port is not None
        return NetworkAgent(
            cfg,
            services=c.lister(SERVICES),
            slices=c.lister(SLICES),
            pods=c.lister(PODS),
            nodes=c.lister(NODES),
            recorder=c.recorder,
            client=c.client,
            ingresses=c.lister(INGRESSES) if ingress else None,
            ingress_classes=c.lister(INGRESSCLASSES) if ingress else None,
            gate=gate,
        )

    return ControllerSpec(AGENT_NAME, build, workers=2)
