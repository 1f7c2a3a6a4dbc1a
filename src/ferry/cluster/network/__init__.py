"""Pod networking, the service proxy and the cluster DNS of the embedded cluster's nodes.

Libraries the kubelet and the cluster process wire in; nothing here talks to the API server. The pieces:

==================  ===================================================================================
``ipam``            a pod IP per pod uid from the node's pod CIDR, in a JSON file (atomic, locked)
``sandbox``         a pod's netns + veth on the bridge; :class:`PodNetwork` (netns path for runc)
``node``            :class:`NodeNetwork`: the bridge ``ferry0``, the service link ``ferry-svc0``, NAT,
                    sandboxes, and a teardown that leaves nothing behind
``services``        :class:`ServiceTable`: Services and EndpointSlices fed as plain dicts
``proxy``/``relay`` :class:`ServiceProxy`: userspace asyncio TCP proxy, ClusterIP and 127.0.0.1:nodePort
``dnswire``         the DNS wire format, hand-written
``dnszone``         :class:`ClusterZone`: ``cluster.local`` answers from the table
``dnsserver``       :class:`DnsServer`: UDP+TCP on the gateway, forwarding to the host's resolvers
``podfiles``        ``/etc/hosts``, ``/etc/resolv.conf`` and the service env vars a pod gets
``hostcmd``         running ``ip``/``nft``, and the exception tree (drawn there)
==================  ===================================================================================

How the next session wires them (one node)::

    table = ServiceTable()                       # informers: table.apply_service(obj), apply_slice(obj), ...
    net = NodeNetwork(NodeNetworkConfig(pod_cidr=node["spec"]["podCIDR"], state_dir=data_dir / "network"))
    await net.setup_node()
    proxy = ServiceProxy(table, addresses=LinkAddresses(net.config.service_link)); await proxy.start()
    dns = DnsServer(ClusterZone(table), host=net.gateway); await dns.start()
    pod = await net.create_pod_network(uid)      # runc joins pod.netns_path
    files = pod.hosts_file(name), resolv_conf(ns, net.gateway); env = service_env(services_of_ns)
"""

from __future__ import annotations

from ferry.cluster.network.dnsserver import DnsServer, read_resolv_conf
from ferry.cluster.network.dnszone import ClusterZone
from ferry.cluster.network.hostcmd import (
    CommandError,
    DnsFormatError,
    IpamError,
    IpamExhausted,
    NetworkError,
    Runner,
    run_command,
)
from ferry.cluster.network.ipam import PodIpam
from ferry.cluster.network.node import NodeNetwork, NodeNetworkConfig
from ferry.cluster.network.podfiles import hosts_file, resolv_conf, service_env
from ferry.cluster.network.proxy import AddressManager, LinkAddresses, Listener, ServiceProxy
from ferry.cluster.network.sandbox import PodNetwork
from ferry.cluster.network.services import Backend, Endpoint, Service, ServicePort, ServiceTable

__all__ = [
    "AddressManager",
    "Backend",
    "ClusterZone",
    "CommandError",
    "DnsFormatError",
    "DnsServer",
    "Endpoint",
    "IpamError",
    "IpamExhausted",
    "LinkAddresses",
    "Listener",
    "NetworkError",
    "NodeNetwork",
    "NodeNetworkConfig",
    "PodIpam",
    "PodNetwork",
    "Runner",
    "Service",
    "ServicePort",
    "ServiceProxy",
    "ServiceTable",
    "hosts_file",
    "read_resolv_conf",
    "resolv_conf",
    "run_command",
    "service_env",
]
