"""End-to-end as root: the cluster DNS on the bridge gateway, port 53, used by a pod through its resolv.conf.

The pod runs glibc's resolver (``socket.getaddrinfo`` in python3) in its netns with the generated resolv.conf and
/etc/hosts bind-mounted over the host's (in a private mount namespace): short names go through the search path,
headless services give every ready endpoint, names outside the cluster are forwarded to an "upstream" server
(a second DnsServer on 127.0.0.1, authoritative for ``example``), unknown names fail.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from ferry.cluster.network import ClusterZone, DnsServer, PodNetwork, ServiceTable, resolv_conf
from ferry.cluster.network import dnswire as w
from tests.e2e.test_network_support import Node, in_pod, node
from tests.unit.test_network_support import endpoint, endpoint_slice, service, tcp_query, udp_query

pytestmark = pytest.mark.e2e
__all__ = ["node"]

RESOLVE = """
import socket, sys
for name in sys.argv[1:]:
    try:
        ips = sorted({a[4][0] for a in socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)})
        print(name, ",".join(ips))
    except socket.gaierror as e:
        print(name, "ERROR", e.errno)
"""


@pytest.fixture
async def dns(node: Node) -> AsyncIterator[tuple[Node, ServiceTable, DnsServer]]:
    upstream_table = ServiceTable()
    upstream_table.apply_service(service("www", "corp", ip="192.0.2.80"))
    upstream = DnsServer(
        ClusterZone(upstream_table, domain="example"), host="127.0.0.1", port=0, upstreams=[]
    )
    await upstream.start()
    table = ServiceTable()
    server = DnsServer(ClusterZone(table), host=node.net.gateway, upstreams=[("127.0.0.1", upstream.port)])
    await server.start()
    try:
        yield node, table, server
    finally:
        await server.close()
        await upstream.close()


async def resolve_in_pod(node: Node, pod: PodNetwork, namespace: str, *names: str) -> dict[str, str]:
    conf = node.tmp / f"resolv-{pod.netns_name}.conf"
    conf.write_text(resolv_conf(namespace, node.net.gateway))
    hosts = node.tmp / f"hosts-{pod.netns_name}"
    hosts.write_text(pod.hosts_file("my-pod"))
    script = (
        f"mount --bind {conf} /etc/resolv.conf && mount --bind {hosts} /etc/hosts && "
        f'exec python3 -c "$0" "$@"'
    )
    out = await in_pod(
        pod, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, RESOLVE, *names
    )
    return dict(line.split(" ", 1) for line in out.splitlines())


async def test_a_pod_resolves_services_through_its_resolv_conf(
    dns: tuple[Node, ServiceTable, DnsServer],
) -> None:
    node, table, server = dns
    assert server.port == 53
    pod = await node.net.create_pod_network(secrets.token_hex(8))
    web_ip = f"10.96.{secrets.randbelow(200) + 20}.7"
    table.apply_service(service("web", "shop", ip=web_ip))
    table.apply_service(service("db", "shop", ip="None"))
    table.apply_slice(
        endpoint_slice(
            "db", [endpoint("10.244.9.7"), endpoint("10.244.9.8"), endpoint("10.244.9.9", ready=False)]
        )
    )
    table.apply_service(service("web", "billing", ip="10.96.1.2"))
    got = await resolve_in_pod(
        node,
        pod,
        "shop",
        "web",  # search path: web.shop.svc.cluster.local
        "web.billing",  # web.billing.svc.cluster.local
        "web.shop.svc.cluster.local",
        "db",  # headless: the ready endpoints
        "10-244-9-99.shop.pod.cluster.local",
        "www.corp.svc.example",  # not ours: forwarded upstream
        "nosuch.example",
        "nosuch",
        "my-pod",  # from the generated /etc/hosts
    )
    assert got == {
        "web": web_ip,
        "web.billing": "10.96.1.2",
        "web.shop.svc.cluster.local": web_ip,
        "db": "10.244.9.7,10.244.9.8",
        "10-244-9-99.shop.pod.cluster.local": "10.244.9.99",
        "www.corp.svc.example": "192.0.2.80",
        "nosuch.example": "ERROR -2",  # EAI_NONAME: NXDOMAIN on the search path and upstream
        "nosuch": "ERROR -3",  # EAI_AGAIN: the upstream's SERVFAIL (it has no upstream) reaches the pod
        "my-pod": pod.ip,
    }


async def test_the_gateway_server_answers_udp_and_tcp_from_the_host(
    dns: tuple[Node, ServiceTable, DnsServer],
) -> None:
    node, table, _ = dns
    table.apply_service(service("web", "shop", ip="10.96.3.3"))
    for ask in (udp_query, tcp_query):
        m = await ask(node.net.gateway, 53, "web.shop.svc.cluster.local", w.A)
        assert [r.text() for r in m.answers] == ["10.96.3.3"]
        ptr = await ask(node.net.gateway, 53, "3.3.96.10.in-addr.arpa", w.PTR)
        assert [r.text() for r in ptr.answers] == ["web.shop.svc.cluster.local"]
