"""One node's pod network: the bridge, the service address link, optional outbound NAT, and the pod sandboxes.

:class:`NodeNetwork` is what the kubelet (sandboxes) and the cluster process (node setup and teardown) call::

    net = NodeNetwork(NodeNetworkConfig(pod_cidr="10.244.0.0/24", state_dir=data_dir / "network"))
    await net.setup_node()                       # bridge ferry0 = 10.244.0.1/24, link ferry-svc0
    pod = await net.create_pod_network(uid)      # IP from the IPAM, netns + veth; pod.netns_path for runc
    await net.delete_pod_network(uid)            # netns, veth and IP gone
    await net.teardown_node()                    # every sandbox, the links, the NAT table; ip_forward restored

What it creates on the host, all named from ``config.name_prefix`` (default ``ferry``):

* the bridge ``<prefix>0`` with the gateway address (``.1`` of the pod CIDR), where the cluster DNS listens;
* ``<prefix>-svc0``, which holds the ClusterIPs as /32 addresses so that pods (through the gateway) and the host
  reach the service proxy's listeners. It is a ``dummy`` link where the kernel has the dummy driver, else (as on
  this Firecracker kernel, built without ``CONFIG_DUMMY``) a bridge without ports, which behaves the same for
  local addresses;
* only with ``outbound_nat`` (pods reaching beyond the node; nothing in the cluster itself needs it, so it is off
  by default): an nft table ``<prefix>_nat`` masquerading traffic from the pod CIDR to anything outside it, and
  ``net.ipv4.ip_forward = 1``. The value before is recorded in ``node.json`` in the state dir and written back by
  :meth:`teardown_node`, also after a crash and a restart. Nothing else of the host's configuration changes.

Inventory (why teardown removes only what is ours): the sandboxes to remove are the pods in the IPAM file, whose
netns and veth names derive from their uids; links and the table are removed by their exact names. Nothing is
matched by a name pattern, so netns of other tools (or other ferry nodes with another prefix) are never touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.cluster.network import sandbox
from ferry.cluster.network.hostcmd import IP, NFT, CommandError, Runner, run_command
from ferry.cluster.network.ipam import PodIpam, atomic_write_json
from ferry.cluster.network.sandbox import PodNetwork, SandboxNames

__all__ = ["NodeNetwork", "NodeNetworkConfig"]


@dataclass(frozen=True)
class NodeNetworkConfig:
    """Settings of one node's network; every host object is named from ``name_prefix`` (≤ 8 characters)."""

    pod_cidr: str  # Node.spec.podCIDR, e.g. "10.244.0.0/24"
    state_dir: Path  # ipam.json and node.json live here
    name_prefix: str = "ferry"
    outbound_nat: bool = False  # masquerade pod -> outside traffic (sets ip_forward, restored on teardown)
    mtu: int = 1500  # of the bridge and the veths
    proc_sys: Path = field(default=Path("/proc/sys"))

    @property
    def bridge(self) -> str:
        return f"{self.name_prefix}0"

    @property
    def service_link(self) -> str:
        return f"{self.name_prefix}-svc0"

    @property
    def nft_table(self) -> str:
        return f"{self.name_prefix.replace('-', '_')}_nat"


class NodeNetwork:
    """The node's bridge, service link, NAT and pod sandboxes; see the module docstring."""

    def __init__(self, config: NodeNetworkConfig, *, runner: Runner = run_command) -> None:
        self.config = config
        self.runner = runner
        self.names = SandboxNames(config.name_prefix)
        self.names.host_veth("x")  # validates the prefix length early
        self.ipam = PodIpam(config.pod_cidr, config.state_dir / "ipam.json")
        self._state_file = config.state_dir / "node.json"

    @property
    def gateway(self) -> str:
        """The bridge's address: the pods' default gateway and the cluster DNS server's address."""
        return self.ipam.gateway

    # -- node level -------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads(self._state_file.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save(self, state: dict[str, Any]) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self._state_file, state)

    async def _link_exists(self, name: str) -> bool:
        return (await self.runner([IP, "-o", "link", "show", "dev", name], check=False)).returncode == 0

    async def _ensure_link(self, name: str, *kinds: tuple[str, ...]) -> None:
        """Create link ``name`` unless it exists, trying each ``ip link add`` spec in turn.

        The kubelet and the network agent both set the node up, concurrently at start-up: whoever loses the
        race between "does it exist" and "add" gets "File exists", which means the link is there as wanted.
        """
        if await self._link_exists(name):
            return
        argv: list[str] = []
        made = None
        for spec in kinds:
            argv = [IP, "link", "add", "name", name, *spec]
            made = await self.runner(argv, check=False)
            if made.returncode == 0 or await self._link_exists(name):
                return
        assert made is not None
        raise CommandError(argv, made.returncode, made.stderr)

    async def setup_node(self) -> None:
        """Create the bridge, the service link and (with ``outbound_nat``) the NAT table; idempotent."""
        cfg, state = self.config, self._state()
        state.update(bridge=cfg.bridge, service_link=cfg.service_link)
        self._save(state)  # recorded before creating, so a crash in between still tears down
        await self._ensure_link(cfg.bridge, ("mtu", str(cfg.mtu), "type", "bridge"))
        await self.runner(
            [IP, "addr", "replace", f"{self.gateway}/{self.ipam.prefix_len}", "dev", cfg.bridge]
        )
        await self.runner([IP, "link", "set", "dev", cfg.bridge, "up"])
        # A dummy link; a kernel without the dummy driver gets a bridge without ports, which serves the same.
        await self._ensure_link(cfg.service_link, ("type", "dummy"), ("type", "bridge"))
        await self.runner([IP, "link", "set", "dev", cfg.service_link, "up"])
        if cfg.outbound_nat:
            await self._setup_nat(state)

    async def _setup_nat(self, state: dict[str, Any]) -> None:
        cfg = self.config
        forward = cfg.proc_sys / "net/ipv4/ip_forward"
        if "ip_forward_before" not in state:
            state["ip_forward_before"] = forward.read_text().strip()
        state["nft_table"] = cfg.nft_table
        self._save(state)
        if forward.read_text().strip() != "1":
            forward.write_text("1\n")
        cidr = self.ipam.network
        script = (
            f"table ip {cfg.nft_table} {{\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            f"    ip saddr {cidr} ip daddr != {cidr} masquerade\n"
            "  }\n"
            "}\n"
        )
        await self.runner([NFT, "delete", "table", "ip", cfg.nft_table], check=False)
        await self.runner([NFT, "-f", "-"], stdin=script)

    async def teardown_node(self) -> None:
        """Remove every sandbox in the IPAM, the links, the NAT table; restore ip_forward; forget the state."""
        cfg, state = self.config, self._state()
        for uid in sorted(set(self.ipam.allocations().values())):
            await self.delete_pod_network(uid)
        for link in (state.get("bridge", cfg.bridge), state.get("service_link", cfg.service_link)):
            if await self._link_exists(link):
                await self.runner([IP, "link", "del", "dev", link])
        if table := state.get("nft_table"):
            await self.runner([NFT, "delete", "table", "ip", table], check=False)
        if (before := state.get("ip_forward_before")) is not None:
            forward = cfg.proc_sys / "net/ipv4/ip_forward"
            if forward.read_text().strip() != before:
                forward.write_text(f"{before}\n")
        self.ipam.forget()
        self._state_file.unlink(missing_ok=True)

    # -- pod sandboxes ----------------------------------------------------------------------------------
    def _describe(self, pod_uid: str, ip: str) -> PodNetwork:
        return PodNetwork(
            pod_uid=pod_uid,
            netns_name=self.names.netns(pod_uid),
            ip=ip,
            prefix_len=self.ipam.prefix_len,
            gateway=self.gateway,
            host_veth=self.names.host_veth(pod_uid),
        )

    async def create_pod_network(self, pod_uid: str, ip: str | None = None) -> PodNetwork:
        """The pod's sandbox, created if needed (idempotent). ``ip``: a wanted IP, else the pod's or a new one.

        The IP is allocated (durably) before anything is created, and released again if creating fails.
        """
        had = self.ipam.ip_of(pod_uid)
        ip = self.ipam.allocate(pod_uid, None if had else ip)
        net = self._describe(pod_uid, ip)
        try:
            return await sandbox.create(self.runner, net, bridge=self.config.bridge, mtu=self.config.mtu)
        except CommandError:
            if had is None:
                self.ipam.release(pod_uid)
            raise

    async def delete_pod_network(self, pod_uid: str) -> None:
        """Remove the pod's netns and veth and release its IP; a pod without a sandbox is fine."""
        ip = self.ipam.ip_of(pod_uid) or "0.0.0.0"
        await sandbox.delete(self.runner, self._describe(pod_uid, ip))
        self.ipam.release(pod_uid)

    def pod_network(self, pod_uid: str) -> PodNetwork | None:
        """The recorded sandbox of a pod (after a restart), or None."""
        ip = self.ipam.ip_of(pod_uid)
        return self._describe(pod_uid, ip) if ip else None
