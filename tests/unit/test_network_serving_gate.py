"""The kubelet's hand-off with the service proxy (``ServingGate``): routed while a ready endpoint, drained when
the proxy's connections to it are closed, bounded waits; with the real proxy on loopback addresses (the
``world`` fixture of ``test_network_proxy``: backends on 127.0.0.2 and .3 that greet and echo)."""

from __future__ import annotations

import asyncio

from ferry.cluster.network.serving import ServingGate
from tests.unit.test_network_proxy import CLUSTER_IP, World, hello, world
from tests.unit.test_network_support import endpoint, endpoint_slice, service

__all__ = ["world"]


def attached(w: World) -> ServingGate:
    gate = ServingGate(poll_seconds=0.005)
    gate.attach(w.table, w.proxy)
    return gate


async def test_nothing_is_routed_without_a_proxy() -> None:
    gate = ServingGate()
    assert not gate.routed("127.0.0.2") and gate.connections("127.0.0.2") == 0
    assert await gate.unroute("127.0.0.2", timeout_seconds=0) is True
    assert await gate.drain("127.0.0.2", timeout_seconds=0) is True


async def test_a_ready_endpoint_is_routed_until_the_table_marks_it_terminating(world: World) -> None:
    gate = attached(world)
    assert gate.routed("127.0.0.2") and gate.routed("127.0.0.3") and not gate.routed("127.0.0.4")
    assert await gate.unroute("127.0.0.2", timeout_seconds=0.05) is False  # bounded: nothing changed

    async def endpoint_controller() -> None:
        await asyncio.sleep(0.05)
        world.slice(endpoint("127.0.0.2", ready=False, terminating=True), endpoint("127.0.0.3"))

    task = asyncio.create_task(endpoint_controller())
    assert await gate.unroute("127.0.0.2", timeout_seconds=5) is True
    assert task.done() and not gate.routed("127.0.0.2") and gate.routed("127.0.0.3")
    gate.detach()
    assert not gate.routed("127.0.0.3")


async def test_an_endpoint_of_any_service_counts_headless_ones_too(world: World) -> None:
    gate = attached(world)
    world.table.apply_service(service("db", ip="None"))
    world.table.apply_slice(endpoint_slice("db", [endpoint("127.0.0.7")], name="db-x"))
    assert gate.routed("127.0.0.7")
    world.table.delete_service(service("db", ip="None"))
    assert not gate.routed("127.0.0.7")


async def test_drain_waits_for_the_proxy_s_open_connections_to_the_pod(world: World) -> None:
    gate = attached(world)
    opened = [await hello(CLUSTER_IP, world.service_port) for _ in range(2)]
    ip = opened[0][0]
    assert gate.connections(ip) == 1
    world.slice(*(endpoint(x, ready=x != ip, terminating=x == ip) for x in ("127.0.0.2", "127.0.0.3")))
    assert await gate.unroute(ip, timeout_seconds=1) is True
    assert await gate.drain(ip, timeout_seconds=0.05) is False  # the client still holds its connection
    writer = opened[0][2]
    writer.write(b"still served\n")  # an open connection keeps working while the pod is out of the ring
    assert await asyncio.wait_for(opened[0][1].readline(), 5) == b"still served\n"

    async def client_done() -> None:
        await asyncio.sleep(0.05)
        writer.close()

    task = asyncio.create_task(client_done())
    assert await gate.drain(ip, timeout_seconds=5) is True
    assert task.done() and gate.connections(ip) == 0
    opened[1][2].close()


async def test_leave_waits_at_most_its_budget_and_returns_the_seconds_spent(world: World) -> None:
    gate = attached(world)
    assert await gate.leave("127.0.0.2", timeout_seconds=0.1, who="pod shop/web-1") >= 0.1  # still routed
    world.slice(endpoint("127.0.0.2", ready=False, terminating=True), endpoint("127.0.0.3"))
    assert await gate.leave("127.0.0.2", timeout_seconds=3600) < 3600  # out of the ring, nothing open
