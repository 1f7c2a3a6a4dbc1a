"""The service proxy on loopback addresses: round-robin over ready endpoints, changes, drain, reset, NodePort.

Backends are asyncio servers on 127.0.0.2 and 127.0.0.3 (every 127/8 address is local, so no root is needed);
each greets with its name and then echoes. The ClusterIP is 127.0.0.10; a fake AddressManager records the
address calls the real one would make with ``ip addr``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ferry.cluster.network import ServiceProxy, ServiceTable
from ferry.cluster.network.services import Backend, ServiceKey
from tests.unit.test_network_support import endpoint, endpoint_slice, service

CLUSTER_IP = "127.0.0.10"


def free_port(*hosts: str) -> int:
    """A TCP port free on every one of ``hosts``."""
    while True:
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = int(s.getsockname()[1])
        try:
            for host in hosts[1:]:
                with socket.socket() as t:
                    t.bind((host, port))
            return port
        except OSError:
            continue


@dataclass
class Addresses:
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def add(self, ip: str) -> None:
        self.calls.append(("add", ip))

    async def remove(self, ip: str) -> None:
        self.calls.append(("remove", ip))


@dataclass
class World:
    table: ServiceTable
    proxy: ServiceProxy
    addresses: Addresses
    backend_port: int
    service_port: int
    node_port: int

    def slice(self, *endpoints: dict[str, object]) -> None:
        ports = [{"name": "http", "port": self.backend_port, "protocol": "TCP"}]
        self.table.apply_slice(endpoint_slice("web", list(endpoints), ports=ports))


async def _backend(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    host = writer.get_extra_info("sockname")[0]
    writer.write(f"{host}\n".encode())
    try:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    backend_port = free_port("127.0.0.2", "127.0.0.3")
    servers = [await asyncio.start_server(_backend, ip, backend_port) for ip in ("127.0.0.2", "127.0.0.3")]
    service_port, node_port = free_port(CLUSTER_IP), free_port("127.0.0.1")
    table, addresses = ServiceTable(), Addresses()
    proxy = ServiceProxy(table, addresses=addresses, dial_timeouts=(0.25, 0.25, 0.25, 0.25))
    await proxy.start()
    w = World(table, proxy, addresses, backend_port, service_port, node_port)
    table.apply_service(
        service(
            "web",
            ip=CLUSTER_IP,
            type="NodePort",
            ports=[{"name": "http", "port": service_port, "protocol": "TCP", "nodePort": node_port}],
        )
    )
    w.slice(endpoint("127.0.0.2"), endpoint("127.0.0.3"))
    await proxy.synced()
    try:
        yield w
    finally:
        await proxy.close()
        for s in servers:
            s.close()
            await s.wait_closed()


async def hello(host: str, port: int) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    line = await asyncio.wait_for(reader.readline(), 5)
    return line.decode().strip(), reader, writer


async def who(host: str, port: int) -> str:
    name, _, writer = await hello(host, port)
    writer.close()
    return name


async def test_round_robin_over_ready_endpoints_and_the_listeners(world: World) -> None:
    got = [await who(CLUSTER_IP, world.service_port) for _ in range(4)]
    assert sorted(got) == ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"]
    assert got[0] != got[1] and got[2] != got[3]
    assert {(x.host, x.port) for x in world.proxy.listeners()} == {
        (CLUSTER_IP, world.service_port),
        ("127.0.0.1", world.node_port),
    }
    assert world.addresses.calls == [("add", CLUSTER_IP)]


async def test_node_port_on_localhost_balances_too(world: World) -> None:
    got = {await who("127.0.0.1", world.node_port) for _ in range(4)}
    assert got == {"127.0.0.2", "127.0.0.3"}


async def test_a_not_ready_endpoint_gets_no_new_connections_but_its_open_one_drains(world: World) -> None:
    # find a connection that landed on .3 and keep it open
    for _ in range(2):
        name, reader, writer = await hello(CLUSTER_IP, world.service_port)
        if name == "127.0.0.3":
            break
        writer.close()
    assert name == "127.0.0.3"
    assert world.proxy.active_connections("127.0.0.3") == 1
    world.slice(endpoint("127.0.0.2"), endpoint("127.0.0.3", ready=False, terminating=True))
    assert {await who(CLUSTER_IP, world.service_port) for _ in range(4)} == {"127.0.0.2"}
    writer.write(b"still here\n")  # the old connection still works
    assert await asyncio.wait_for(reader.readline(), 5) == b"still here\n"
    writer.close()
    await writer.wait_closed()
    for _ in range(50):
        if world.proxy.active_connections("127.0.0.3") == 0:
            break
        await asyncio.sleep(0.02)
    assert world.proxy.active_connections("127.0.0.3") == 0


async def test_no_ready_endpoint_resets_the_connection(world: World) -> None:
    world.slice(endpoint("127.0.0.2", ready=False), endpoint("127.0.0.3", ready=False))
    reader, writer = await asyncio.open_connection(CLUSTER_IP, world.service_port)
    try:
        data: bytes | None = await asyncio.wait_for(reader.read(100), 5)
    except ConnectionResetError:
        data = None
    assert data is None, f"the connection must be reset, it read {data!r}"
    writer.close()
    world.slice(endpoint("127.0.0.2"))  # back: the next connection works at once
    assert await who(CLUSTER_IP, world.service_port) == "127.0.0.2"


async def test_a_dead_backend_is_skipped_for_the_next_one(world: World) -> None:
    world.slice(endpoint("127.0.0.2"), endpoint("127.0.0.3"), endpoint("127.0.0.4"))  # nothing on .4
    got = [await who(CLUSTER_IP, world.service_port) for _ in range(6)]
    assert set(got) == {"127.0.0.2", "127.0.0.3"}
    assert got.count("127.0.0.2") + got.count("127.0.0.3") == 6


async def test_each_dial_attempt_reads_the_table_again(world: World) -> None:
    """kube's userspace proxier asks its load balancer for the next endpoint on every attempt: a backend that left
    during a failed attempt is not tried afterwards, and one that joined is (the rollout race seen in CI: the
    second attempt went to a pod deleted a second earlier, and the client was reset)."""
    rings = iter([[Backend("127.0.0.4", world.backend_port)], [Backend("127.0.0.2", world.backend_port)]])
    asked: list[tuple[ServiceKey, str]] = []

    def pick(key: ServiceKey, port_name: str) -> list[Backend]:
        asked.append((key, port_name))
        return next(rings, [])

    world.proxy.pick = pick  # type: ignore[method-assign]
    assert await who(CLUSTER_IP, world.service_port) == "127.0.0.2"  # .4 refused; the table then had .2
    assert len(asked) == 2


async def test_every_attempt_failing_resets_the_client(world: World) -> None:
    world.slice(endpoint("127.0.0.4"), endpoint("127.0.0.5"))  # nothing listens on either
    reader, writer = await asyncio.open_connection(CLUSTER_IP, world.service_port)
    try:
        data: bytes | None = await asyncio.wait_for(reader.read(100), 5)
    except ConnectionResetError:
        data = None
    assert data is None
    writer.close()


async def test_service_changes_move_listeners_and_addresses(world: World) -> None:
    new_port = free_port(CLUSTER_IP)
    world.table.apply_service(
        service("web", ip=CLUSTER_IP, ports=[{"name": "http", "port": new_port, "protocol": "TCP"}])
    )
    await world.proxy.synced()
    assert {(x.host, x.port) for x in world.proxy.listeners()} == {
        (CLUSTER_IP, new_port)
    }  # ClusterIP type now
    assert await who(CLUSTER_IP, new_port) in {"127.0.0.2", "127.0.0.3"}
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", world.node_port)
    world.table.apply_service(
        service("dns", ip="127.0.0.11", ports=[{"name": "dns", "port": 53, "protocol": "UDP"}])
    )
    world.table.delete_service(service("web"))
    await world.proxy.synced()
    assert world.proxy.listeners() == []  # UDP is not proxied
    assert world.addresses.calls == [("add", CLUSTER_IP), ("remove", CLUSTER_IP)]


async def test_bytes_flow_both_ways_with_half_close(world: World) -> None:
    _, reader, writer = await hello(CLUSTER_IP, world.service_port)
    payload = (b"x" * 999 + b"\n") * 3000  # 3 MB, enough to hit the flow-control marks
    writer.write(payload)
    writer.write_eof()
    echoed = await asyncio.wait_for(reader.read(), 10)  # EOF arrives after the backend closes
    assert echoed == payload
    writer.close()
