"""End-to-end as root: outbound NAT for pods, and a teardown (by a fresh process) that restores the host exactly.

An "outside" network (a netns of the test behind its own veth, 198.18.x.0/30) stands for the world beyond the
node. With ``outbound_nat`` a pod reaches it, masqueraded to the host's address there, which needs
``ip_forward`` = 1. Then a *new* NodeNetwork over the same data dir (the kubelet after a crash) tears everything
down from the recorded inventory: no netns, links, addresses or nft table remain, ``iptables -S`` and
``nft list ruleset`` equal the snapshot taken before, and ``ip_forward`` is back to its old value.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from ferry.cluster.network import NodeNetwork, NodeNetworkConfig
from tests.e2e.test_network_support import Node, Snapshot, free_cidr, in_pod, sh

pytestmark = pytest.mark.e2e

WHO_CALLS = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8080)); s.listen()
while True:
    c, addr = s.accept(); c.sendall(addr[0].encode()); c.close()
"""
CALL = (
    "import socket, sys; print(socket.create_connection((sys.argv[1], 8080), timeout=5).recv(100).decode())"
)


async def test_outbound_nat_then_a_fresh_process_tears_everything_down(tmp_path: Path) -> None:
    before = Snapshot.take()
    prefix = "ferry" + secrets.token_hex(2)[:3]
    config = NodeNetworkConfig(
        pod_cidr=free_cidr(), state_dir=tmp_path / "network", name_prefix=prefix, outbound_nat=True
    )
    node = Node(NodeNetwork(config), prefix, tmp_path)
    outside_ns, outside_link = f"{prefix}-outside", f"{prefix}o"
    octet = 100 + secrets.randbelow(100)
    host_ip, outside_ip = f"198.18.{octet}.1", f"198.18.{octet}.2"
    server: subprocess.Popen[bytes] | None = None
    try:
        await node.net.setup_node()
        assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
        assert f"table ip {prefix}_nat" in sh("nft", "list", "ruleset")
        sh("ip", "netns", "add", outside_ns)
        sh("ip", "link", "add", outside_link, "type", "veth", "peer", "name", "eth0", "netns", outside_ns)
        sh("ip", "addr", "add", f"{host_ip}/30", "dev", outside_link)
        sh("ip", "link", "set", outside_link, "up")
        sh("ip", "-n", outside_ns, "addr", "add", f"{outside_ip}/30", "dev", "eth0")
        sh("ip", "-n", outside_ns, "link", "set", "eth0", "up")
        server = subprocess.Popen(
            ["ip", "netns", "exec", outside_ns, sys.executable, "-c", WHO_CALLS], start_new_session=True
        )
        pod = await node.net.create_pod_network(secrets.token_hex(8))
        await node.net.create_pod_network(secrets.token_hex(8))
        seen = ""
        for _ in range(50):  # until the outside server listens
            try:
                seen = await in_pod(pod, sys.executable, "-c", CALL, outside_ip)
                break
            except AssertionError:
                sh("sleep", "0.1")
        assert seen == host_ip, "the pod's address must be masqueraded to the node's"
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        sh("ip", "link", "del", outside_link, check=False)
        sh("ip", "netns", "del", outside_ns, check=False)
        fresh = NodeNetwork(config)  # the inventory is on disk, not in the first object
        await fresh.teardown_node()
    assert not (tmp_path / "network" / "ipam.json").exists()
    Snapshot.take().assert_restored(before, prefix)
