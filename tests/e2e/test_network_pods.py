"""End-to-end as root: pod sandboxes on a real bridge; two pods on 0.0.0.0:3000 reach each other and the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.cluster.network import NodeNetwork
from tests.e2e.test_network_support import Node, get_from_host, get_from_pod, node, sh

pytestmark = pytest.mark.e2e
__all__ = ["node"]


async def test_two_pods_on_the_same_port_reach_each_other_and_the_host(node: Node) -> None:
    a = await node.pod("pod-a")
    b = await node.pod("pod-b")  # also binds 0.0.0.0:3000, in its own netns
    assert a.ip != b.ip and a.gateway == b.gateway == node.net.gateway
    assert await get_from_host(f"http://{a.ip}:3000/who") == "pod-a"
    assert await get_from_host(f"http://{b.ip}:3000/who") == "pod-b"
    assert await get_from_pod(a, f"http://{b.ip}:3000/who") == "pod-b"
    assert await get_from_pod(b, f"http://{a.ip}:3000/who") == "pod-a"
    # the pod's own view: lo and eth0 with its IP, the default route via the bridge
    addrs = sh("ip", "-n", a.netns_name, "-o", "-4", "addr")
    assert f"eth0    inet {a.ip}/24" in addrs and "lo    inet 127.0.0.1/8" in addrs
    assert sh("ip", "-n", a.netns_name, "route").splitlines()[0] == f"default via {a.gateway} dev eth0 "
    assert f"master {node.prefix}0" in sh("ip", "-o", "link", "show", "dev", a.host_veth)


async def test_a_restarted_node_keeps_running_pods_and_their_ips(node: Node, tmp_path: Path) -> None:
    a = await node.pod("pod-a")
    again = NodeNetwork(node.net.config)  # a new kubelet process over the same data dir
    await again.setup_node()
    same = await again.create_pod_network(a.pod_uid)
    assert same == a
    assert await get_from_host(f"http://{a.ip}:3000/who") == "pod-a"  # untouched, still serving
    new = await again.create_pod_network("another-pod")
    assert new.ip not in (a.ip, a.gateway)


async def test_deleting_a_pod_removes_its_netns_and_veth_and_frees_the_ip(node: Node) -> None:
    a = await node.pod("pod-a")
    b = await node.pod("pod-b")
    node.stop_processes()
    await node.net.delete_pod_network(a.pod_uid)
    assert a.netns_name not in sh("ip", "netns", "list")
    assert a.host_veth not in sh("ip", "-o", "link")
    assert node.net.ipam.allocations() == {b.ip: b.pod_uid}
    await node.net.delete_pod_network(a.pod_uid)  # twice is fine
