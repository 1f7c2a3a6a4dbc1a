"""A pod's network sandbox: a named network namespace with ``lo`` and an ``eth0`` on the node bridge.

Layout for a pod with IP 10.244.0.5 on a node whose pod CIDR is 10.244.0.0/24 (names with the default prefix)::

    host netns                                    netns ferry-1a2b3c4d (/run/netns/ferry-1a2b3c4d)
    ferry0 (bridge, 10.244.0.1/24) ── ferryv<hash> ═══ veth ═══ eth0 10.244.0.5/24, default via 10.244.0.1
                                                                lo up

The namespace is named (``ip netns add``) so runc can join it by path and so a restarted kubelet finds it again;
the name is ``<prefix>-<first 8 hex digits of the pod uid>``. The host end of the veth is
``<prefix>v<hash of the uid>``, cut to the 15 characters Linux allows. Pods reach each other over the bridge
(layer 2, no forwarding needed), and the host, the cluster DNS (on the gateway) and the ClusterIPs (local
addresses of the host) through the gateway. Two pods binding ``0.0.0.0:3000`` coexist: each has its own stack.

Races and order: :func:`create` first removes leftovers of an interrupted attempt, then builds everything in two
``ip -batch`` execs; if either fails, it removes what it made and raises :class:`CommandError`, so a sandbox exists
completely or not at all. It is idempotent: a sandbox that already has the pod's address is kept, which is what a
restarted kubelet needs for running pods. :func:`delete` removes the host veth first (that also destroys ``eth0``
even if a process still holds the namespace) and then the name; it is idempotent too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ferry.cluster.network.hostcmd import IP, Runner, ip_batch
from ferry.cluster.network.podfiles import hosts_file

__all__ = ["NETNS_DIR", "PodNetwork", "SandboxNames", "create", "delete", "exists"]

NETNS_DIR = Path("/run/netns")
IFNAMSIZ = 15  # the longest interface name Linux accepts


@dataclass(frozen=True)
class SandboxNames:
    """How a pod's netns and host veth are named from the node's ``prefix`` and the pod uid."""

    prefix: str

    def netns(self, pod_uid: str) -> str:
        return f"{self.prefix}-{pod_uid.replace('-', '')[:8].lower()}"

    def host_veth(self, pod_uid: str) -> str:
        room = IFNAMSIZ - len(self.prefix) - 1
        if room < 6:
            raise ValueError(f"name prefix {self.prefix!r} must be at most {IFNAMSIZ - 7} characters")
        return f"{self.prefix}v{hashlib.sha256(pod_uid.encode()).hexdigest()[:room]}"


@dataclass(frozen=True)
class PodNetwork:
    """What the kubelet needs from a pod sandbox: the netns to run containers in and the pod's addresses."""

    pod_uid: str
    netns_name: str
    ip: str
    prefix_len: int
    gateway: str
    host_veth: str
    interface: str = "eth0"

    @property
    def netns_path(self) -> str:
        """The path runc's ``linux.namespaces[{type: network, path}]`` takes."""
        return str(NETNS_DIR / self.netns_name)

    def hosts_file(
        self,
        hostname: str,
        *,
        subdomain: str = "",
        namespace: str = "",
        cluster_domain: str = "cluster.local",
        host_aliases: list[dict[str, object]] | None = None,
    ) -> str:
        """The kubelet-managed ``/etc/hosts`` of this pod (see :func:`ferry.cluster.network.podfiles.hosts_file`)."""
        return hosts_file(
            self.ip,
            hostname,
            subdomain=subdomain,
            namespace=namespace,
            cluster_domain=cluster_domain,
            host_aliases=host_aliases,
        )


async def exists(runner: Runner, net: PodNetwork) -> bool:
    """True when the netns exists and its ``eth0`` holds the pod's address and the host veth is there."""
    if not (NETNS_DIR / net.netns_name).exists():
        return False
    addr = await runner(
        [IP, "-n", net.netns_name, "-o", "-4", "addr", "show", "dev", net.interface], check=False
    )
    link = await runner([IP, "-o", "link", "show", "dev", net.host_veth], check=False)
    return addr.returncode == 0 and f" {net.ip}/{net.prefix_len} " in addr.stdout and link.returncode == 0


async def create(runner: Runner, net: PodNetwork, *, bridge: str, mtu: int) -> PodNetwork:
    """Build the sandbox described by ``net`` (idempotent; all or nothing, see the module docstring)."""
    if await exists(runner, net):
        return net
    await delete(runner, net)  # leftovers of an interrupted attempt
    host = [
        f"netns add {net.netns_name}",
        f"link add name {net.host_veth} mtu {mtu} type veth peer name {net.interface} mtu {mtu} "
        f"netns {net.netns_name}",
        f"link set dev {net.host_veth} master {bridge} up",
    ]
    pod = [
        "link set dev lo up",
        f"addr add {net.ip}/{net.prefix_len} dev {net.interface}",
        f"link set dev {net.interface} up",
        f"route add default via {net.gateway} dev {net.interface}",
    ]
    try:
        await ip_batch(runner, host)
        await ip_batch(runner, pod, netns=net.netns_name)
    except BaseException:
        await delete(runner, net)
        raise
    return net


async def delete(runner: Runner, net: PodNetwork) -> None:
    """Remove the host veth (and with it ``eth0``) and the netns name; absent pieces are fine."""
    await runner([IP, "link", "del", "dev", net.host_veth], check=False)
    if (NETNS_DIR / net.netns_name).exists():
        await runner([IP, "netns", "del", net.netns_name], check=False)
