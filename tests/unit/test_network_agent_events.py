"""The network agent's informer events reach the service proxy and the cluster DNS at once.

Fake informers fire the agent's handlers and run the syncs of the keys they return; the agent itself runs for
real (its ``ip`` commands recorded, not run), with ClusterIPs on 127.0.0.x so the proxy listens without root,
backends on 127.0.0.2/.3 and the DNS server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ferry.cluster.network import dnswire as w
from ferry.cluster.network.agent import PODS, SERVICES, SLICES, NetworkAgent
from tests.unit.test_network_agent_support import Informers, Runner, greeters, make_agent, until, who
from tests.unit.test_network_support import endpoint, endpoint_slice, service, udp_query

CLUSTER_IP = "127.0.0.10"


@dataclass
class World:
    agent: NetworkAgent
    informers: Informers
    runner: Runner
    port: int  # the backends' port

    async def ask(self, name: str, qtype: int = w.A) -> w.Message:
        assert self.agent.dns is not None
        return await udp_query("127.0.0.1", self.agent.dns.port, name, qtype)

    async def synced(self) -> None:
        assert self.agent.proxy is not None
        await self.agent.proxy.synced()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    informers, runner = Informers(), Runner()
    agent, _ = make_agent(tmp_path, informers, runner)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    async for port in greeters("127.0.0.2", "127.0.0.3"):
        try:
            await until(lambda: agent.state == "running")
            yield World(agent, informers, runner, port)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


def web(port: int) -> dict[str, object]:
    return service("web", ip=CLUSTER_IP, ports=[{"name": "http", "port": port, "protocol": "TCP"}])


def web_slice(port: int, *endpoints: dict[str, object]) -> dict[str, object]:
    return endpoint_slice("web", list(endpoints), ports=[{"name": "http", "port": port, "protocol": "TCP"}])


async def test_a_service_and_its_slice_reach_the_proxy_and_the_dns_and_leave_with_them(world: World) -> None:
    port = world.port
    await world.informers.add(SERVICES, web(port))
    await world.informers.add(SLICES, web_slice(port, endpoint("127.0.0.2"), endpoint("127.0.0.3")))
    await world.synced()
    assert world.runner.saw("ip", "addr", "replace", f"{CLUSTER_IP}/32", "dev", "ferry-svc0")
    assert [(lst.host, lst.port) for lst in world.agent.proxy.listeners()] == [(CLUSTER_IP, port)]  # type: ignore[union-attr]
    assert sorted([await who(CLUSTER_IP, port) for _ in range(4)]) == ["127.0.0.2"] * 2 + ["127.0.0.3"] * 2
    answer = await world.ask("web.shop.svc.cluster.local")
    assert [(r.name, r.text()) for r in answer.answers] == [("web.shop.svc.cluster.local", CLUSTER_IP)]

    # One endpoint turns not ready: the very next connections avoid it.
    await world.informers.update(
        SLICES, web_slice(port, endpoint("127.0.0.2"), endpoint("127.0.0.3", ready=False))
    )
    assert {await who(CLUSTER_IP, port) for _ in range(4)} == {"127.0.0.2"}

    await world.informers.delete(SERVICES, web(port))
    await world.synced()
    assert world.agent.proxy.listeners() == []  # type: ignore[union-attr]
    assert world.runner.saw("ip", "addr", "del", f"{CLUSTER_IP}/32", "dev", "ferry-svc0")
    with pytest.raises(OSError):
        await who(CLUSTER_IP, port)
    assert (await world.ask("web.shop.svc.cluster.local")).rcode == w.NXDOMAIN
    assert world.informers.keys == [
        "svc/shop/web",
        "slice/shop/web-abcde",
        "slice/shop/web-abcde",
        "svc/shop/web",
    ]


async def test_a_headless_service_is_served_by_dns_only(world: World) -> None:
    await world.informers.add(SERVICES, service("db", ip="None"))
    await world.informers.add(
        SLICES,
        endpoint_slice("db", [endpoint("10.244.7.5", hostname="db-0"), endpoint("10.244.7.6", ready=False)]),
    )
    await world.synced()
    assert world.agent.proxy.listeners() == []  # type: ignore[union-attr]
    assert not any(c[:3] == ("ip", "addr", "replace") for c in world.runner.calls[-3:])
    assert [r.text() for r in (await world.ask("db.shop.svc.cluster.local")).answers] == ["10.244.7.5"]
    assert [r.text() for r in (await world.ask("db-0.db.shop.svc.cluster.local")).answers] == ["10.244.7.5"]
    await world.informers.delete(SLICES, endpoint_slice("db", []))
    assert (await world.ask("db.shop.svc.cluster.local")).rcode == w.NXDOMAIN


async def test_a_node_port_listens_on_loopback(world: World) -> None:
    from tests.unit.test_network_proxy import free_port

    node_port = free_port("127.0.0.1")
    ports = [{"name": "http", "port": world.port, "protocol": "TCP", "nodePort": node_port}]
    await world.informers.add(SERVICES, service("web", ip=CLUSTER_IP, type="NodePort", ports=ports))
    await world.informers.add(SLICES, web_slice(world.port, endpoint("127.0.0.3")))
    await world.synced()
    assert await who("127.0.0.1", node_port) == "127.0.0.3"


def pod(name: str, ip: str | None, ns: str = "shop", phase: str = "Running") -> dict[str, object]:
    status: dict[str, object] = {"phase": phase}
    if ip:
        status |= {"podIP": ip, "podIPs": [{"ip": ip}]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {},
        "status": status,
    }


async def test_pod_names_resolve_only_for_live_pods_of_their_namespace(world: World) -> None:
    name = "10-244-7-9.shop.pod.cluster.local"
    assert (await world.ask(name)).rcode == w.NXDOMAIN  # no such pod (CoreDNS "pods verified")
    await world.informers.add(PODS, pod("api-1", None, phase="Pending"))
    await world.informers.update(PODS, pod("api-1", "10.244.7.9"))
    assert [r.text() for r in (await world.ask(name)).answers] == ["10.244.7.9"]
    assert (await world.ask("10-244-7-9.other.pod.cluster.local")).rcode == w.NXDOMAIN
    await world.informers.update(PODS, pod("api-1", "10.244.7.9", phase="Succeeded"))
    assert (await world.ask(name)).rcode == w.NXDOMAIN
    await world.informers.update(PODS, pod("api-1", "10.244.7.9"))
    await world.informers.delete(PODS, pod("api-1", "10.244.7.9"))
    assert (await world.ask(name)).rcode == w.NXDOMAIN


async def test_resyncs_and_pod_status_churn_cost_no_sync(world: World) -> None:
    await world.informers.add(SERVICES, web(world.port))
    await world.informers.add(PODS, pod("api-1", "10.244.7.9"))
    before = list(world.informers.keys)
    await world.informers.resync(SERVICES, web(world.port))
    churn = pod("api-1", "10.244.7.9")
    churn["status"] |= {"conditions": [{"type": "Ready", "status": "True"}]}  # type: ignore[operator]
    await world.informers.update(PODS, churn)
    assert world.informers.keys == before
