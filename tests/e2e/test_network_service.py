"""End-to-end as root: the service proxy on a real ClusterIP (on the node's service link) and on a NodePort.

Two pods serve ``/who`` on 0.0.0.0:3000; a Service ``web`` (port 80 → 3000, NodePort) balances across them
round-robin from the host and from inside a pod, stops sending to a pod marked not ready, and resets new
connections when no endpoint is ready. Closing the proxy removes the ClusterIP from the link.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator

import pytest

from ferry.cluster.network import LinkAddresses, ServiceProxy, ServiceTable
from tests.e2e.test_network_support import Node, get_from_host, get_from_pod, node, sh
from tests.unit.test_network_support import endpoint, endpoint_slice, service

pytestmark = pytest.mark.e2e
__all__ = ["node"]


def free_local_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def proxied(node: Node) -> AsyncIterator[tuple[Node, ServiceTable, ServiceProxy]]:
    table = ServiceTable()
    proxy = ServiceProxy(table, addresses=LinkAddresses(node.net.config.service_link))
    await proxy.start()
    try:
        yield node, table, proxy
    finally:
        await proxy.close()


async def test_cluster_ip_round_robin_readiness_and_node_port(
    proxied: tuple[Node, ServiceTable, ServiceProxy],
) -> None:
    node, table, proxy = proxied
    a, b = await node.pod("pod-a"), await node.pod("pod-b")
    ip, node_port = f"10.96.{secrets.randbelow(200) + 20}.{secrets.randbelow(200) + 20}", free_local_port()
    ports = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 3000, "nodePort": node_port}]
    table.apply_service(service("web", ip=ip, type="NodePort", ports=ports))
    table.apply_slice(endpoint_slice("web", [endpoint(a.ip), endpoint(b.ip)]))
    await proxy.synced()
    assert f"inet {ip}/32" in sh("ip", "-o", "addr", "show", "dev", node.net.config.service_link)

    from_host = [await get_from_host(f"http://{ip}/who") for _ in range(4)]
    assert sorted(from_host) == ["pod-a", "pod-a", "pod-b", "pod-b"] and from_host[0] != from_host[1]
    from_pod = [await get_from_pod(a, f"http://{ip}/who") for _ in range(4)]  # through the pod's gateway
    assert sorted(from_pod) == ["pod-a", "pod-a", "pod-b", "pod-b"] and from_pod[0] != from_pod[1]
    assert {await get_from_host(f"http://127.0.0.1:{node_port}/who") for _ in range(2)} == {"pod-a", "pod-b"}

    table.apply_slice(endpoint_slice("web", [endpoint(a.ip), endpoint(b.ip, ready=False, terminating=True)]))
    assert {await get_from_host(f"http://{ip}/who") for _ in range(4)} == {"pod-a"}
    assert {await get_from_pod(b, f"http://{ip}/who") for _ in range(2)} == {"pod-a"}

    table.apply_slice(endpoint_slice("web", [endpoint(a.ip, ready=False)]))
    with pytest.raises(OSError):  # reset by the proxy: no ready endpoint
        await get_from_host(f"http://{ip}/who")

    await proxy.close()
    assert f"inet {ip}/32" not in sh("ip", "-o", "addr", "show", "dev", node.net.config.service_link)
