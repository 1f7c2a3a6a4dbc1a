"""The DNS server over real UDP and TCP sockets on 127.0.0.1: answers, forwarding, SERVFAIL, FORMERR, TC → TCP."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.cluster.network import ClusterZone, DnsServer, ServiceTable, read_resolv_conf
from ferry.cluster.network import dnswire as w
from tests.unit.test_network_support import (
    endpoint,
    endpoint_slice,
    service,
    tcp_query,
    udp_query,
    udp_raw,
)


def dead_port() -> int:
    """A UDP port nobody listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def servers() -> AsyncIterator[tuple[DnsServer, DnsServer, ServiceTable]]:
    """Ours (cluster.local), forwarding to an 'upstream' server that is authoritative for upstream.test."""
    up_table = ServiceTable()
    up_table.apply_service(service("www", "example", ip="192.0.2.80"))
    upstream = DnsServer(
        ClusterZone(up_table, domain="upstream.test"), host="127.0.0.1", port=0, upstreams=[]
    )
    await upstream.start()
    table = ServiceTable()
    table.apply_service(service("web", ip="10.96.0.20"))
    ours = DnsServer(ClusterZone(table), host="127.0.0.1", port=0, upstreams=[("127.0.0.1", upstream.port)])
    await ours.start()
    try:
        yield ours, upstream, table
    finally:
        await ours.close()
        await upstream.close()


async def test_udp_and_tcp_answer_cluster_names(servers: tuple[DnsServer, DnsServer, ServiceTable]) -> None:
    ours, _, _ = servers
    for ask in (udp_query, tcp_query):
        m = await ask("127.0.0.1", ours.port, "web.shop.svc.cluster.local", w.A)
        assert m.qr and m.aa and m.ra and m.rcode == w.NOERROR
        assert [r.text() for r in m.answers] == ["10.96.0.20"]
        nx = await ask("127.0.0.1", ours.port, "nope.shop.svc.cluster.local", w.A)
        assert nx.rcode == w.NXDOMAIN and [r.rtype for r in nx.authority] == [w.SOA]


async def test_other_names_are_forwarded_and_relayed(
    servers: tuple[DnsServer, DnsServer, ServiceTable],
) -> None:
    ours, _, _ = servers
    for ask in (udp_query, tcp_query):
        m = await ask("127.0.0.1", ours.port, "www.example.svc.upstream.test", w.A)
        assert m.rcode == w.NOERROR and [r.text() for r in m.answers] == ["192.0.2.80"]
        assert m.aa  # the upstream's authoritative answer, relayed unchanged
    # the upstream has no upstream itself: SERVFAIL comes back through us
    m = await udp_query("127.0.0.1", ours.port, "example.com", w.A)
    assert m.rcode == w.SERVFAIL and not m.aa


async def test_unreachable_upstream_gives_servfail() -> None:
    server = DnsServer(
        ClusterZone(ServiceTable()),
        host="127.0.0.1",
        port=0,
        upstreams=[("127.0.0.1", dead_port())],
        forward_timeout_seconds=0.5,
    )
    await server.start()
    try:
        m = await udp_query("127.0.0.1", server.port, "example.com", w.A)
        assert m.rcode == w.SERVFAIL
        assert m.questions == [w.Question("example.com", w.A)]
    finally:
        await server.close()


async def test_malformed_query_gets_formerr_and_opcode_notimp(
    servers: tuple[DnsServer, DnsServer, ServiceTable],
) -> None:
    ours, _, _ = servers
    answer = w.decode(
        await udp_raw("127.0.0.1", ours.port, bytes.fromhex("abcd 0100 0001 0000 0000 0000") + b"\x05ab")
    )
    assert (answer.id, answer.rcode, answer.qr) == (0xABCD, w.FORMERR, True)
    notify = w.encode(w.Message(id=9, opcode=4, questions=[w.Question("cluster.local", w.SOA)]))
    assert w.decode(await udp_raw("127.0.0.1", ours.port, notify)).rcode == w.NOTIMP


async def test_a_big_headless_answer_is_truncated_over_udp_and_complete_over_tcp(
    servers: tuple[DnsServer, DnsServer, ServiceTable],
) -> None:
    ours, _, table = servers
    table.apply_service(service("many", ip="None"))
    table.apply_slice(endpoint_slice("many", [endpoint(f"10.244.1.{i}") for i in range(2, 102)]))
    udp = await udp_query("127.0.0.1", ours.port, "many.shop.svc.cluster.local", w.A)
    assert udp.tc and len(udp.answers) < 100
    edns = await udp_query("127.0.0.1", ours.port, "many.shop.svc.cluster.local", w.A, edns=4096)
    assert edns.tc and len(udp.answers) < len(edns.answers) < 100  # 1232 bytes at most, with OPT echoed
    assert edns.additional[-1].rtype == w.OPT
    tcp = await tcp_query("127.0.0.1", ours.port, "many.shop.svc.cluster.local", w.A)
    assert not tcp.tc and sorted(r.text() for r in tcp.answers) == sorted(
        f"10.244.1.{i}" for i in range(2, 102)
    )


def test_read_resolv_conf(tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_text(
        "# comment\nsearch example.com\nnameserver 10.0.0.2\nnameserver  10.0.0.3 \noptions ndots:1\n"
    )
    assert read_resolv_conf(path) == ["10.0.0.2", "10.0.0.3"]
    assert read_resolv_conf(tmp_path / "missing") == []
