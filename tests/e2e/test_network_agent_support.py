"""Fixtures of the network agent's end-to-end tests (no tests here): an in-process API server with a service
CIDR of its own, a ControllerManager running only the network agent against it (as root, for real), and the
test playing the kubelet: pod sandboxes from a second NodeNetwork over the agent's state dir, servers in them.

Every host object carries the test's prefix (``ferry<3 hex>``); the snapshot taken before must hold again after
the manager stops, which is the agent's teardown at work (the fixture removes nothing itself, except the
processes it started and, only if the test failed before the stop, the node as a last resort).

:func:`assert_host_kept` is the snapshot comparison made robust to other sessions' tests that create and remove
links under prefixes of their own while ours run (``fk…`` bridges and veths were seen): nothing with our prefix may
remain; every link present both before and after must carry exactly the same addresses and routes; no new
address or route may sit on a link that was there before; ``lo`` and the default route's link must still be
there; and ``iptables``, ``nft`` and ``ip_forward`` must be exactly as before. Links that came or went meanwhile
without our prefix belong to other tests.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ferry.cluster.controllers.runtime.manager import ControllerManager
from ferry.cluster.network import NodeNetwork, NodeNetworkConfig
from ferry.cluster.network.agent import NetworkAgent, NetworkAgentConfig, network_agent
from ferry.cluster.server import ClusterConfig, run_cluster
from tests.e2e.test_network_support import Node, Snapshot, free_cidr, host_only
from tests.integration.conftest import Api, eventually

pytestmark = pytest.mark.e2e


def _on(entry: str, links: set[str]) -> bool:
    return any(token.split("@")[0] in links for token in entry.split())


def assert_host_kept(before: Snapshot, prefix: str) -> None:
    after = Snapshot.take()
    ours = [x for x in (*after.links, *after.netns, *after.addrs, *after.routes, after.nft) if prefix in x]
    assert ours == [], f"left behind: {ours}"
    kept = {link for link in before.links & after.links if "ferry" not in link}
    for kind in ("addrs", "routes"):
        was = {e for e in host_only(getattr(before, kind)) if _on(e, kept)}
        now = {e for e in host_only(getattr(after, kind)) if _on(e, kept)}
        assert was == now, f"host {kind} changed: gone {sorted(was - now)}, new {sorted(now - was)}"
    defaults = {
        r.split(" dev ")[1].split()[0] for r in before.routes if r.startswith("default") and " dev " in r
    }
    assert {"lo", *defaults} <= after.links
    assert (after.iptables, after.nft, after.ip_forward) == (before.iptables, before.nft, before.ip_forward)


@dataclass
class AgentCluster:
    api: Api
    ctx: Any
    node: Node  # the test as the kubelet: node.pod(name) runs a server in a new sandbox
    config: NetworkAgentConfig
    stop: asyncio.Event
    manager_task: asyncio.Task[None]
    manager: ControllerManager

    @property
    def agent(self) -> NetworkAgent:
        (runner,) = self.manager.runners
        assert isinstance(runner.controller, NetworkAgent)
        return runner.controller

    async def stop_agent(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.manager_task, 20)


def free_service_cidr() -> str:
    return f"10.{100 + secrets.randbelow(27)}.{secrets.randbelow(256)}.0/24"


@pytest.fixture
async def agent_cluster(tmp_path: Path) -> AsyncIterator[AgentCluster]:
    before = Snapshot.take()
    holder: dict[str, Any] = {}

    async def capture(ctx: Any, stop: asyncio.Event) -> None:
        holder["ctx"] = ctx

    config = ClusterConfig(
        data_dir=tmp_path / "cluster",
        port=0,
        service_cidr=free_service_cidr(),
        runtime="none",
        registry_port=None,
        components=[capture],
    )
    cluster_stop = asyncio.Event()
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(run_cluster(config, stop=cluster_stop, ready=started.set_result))
    done, _ = await asyncio.wait({server, started}, return_when=asyncio.FIRST_COMPLETED)
    if server in done:
        server.result()
    token = (config.data_dir / "admin.token").read_text().strip()
    prefix = "ferry" + secrets.token_hex(2)[:3]
    agent_config = NetworkAgentConfig(
        state_dir=tmp_path / "network", pod_cidr=free_cidr(), name_prefix=prefix, dns_upstreams=()
    )
    net = NodeNetwork(
        NodeNetworkConfig(
            pod_cidr=str(agent_config.pod_cidr), state_dir=agent_config.state_dir, name_prefix=prefix
        )
    )
    node = Node(net, prefix, tmp_path)
    stop = asyncio.Event()
    manager = ControllerManager(holder["ctx"], stop, [network_agent(agent_config)])
    manager_task = asyncio.create_task(manager.run())
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(started.result(), token, config.data_dir / "pki" / "ca.crt", session)
            ac = AgentCluster(api, holder["ctx"], node, agent_config, stop, manager_task, manager)
            await eventually(lambda: asyncio.sleep(0, bool(manager.runners) and ac.agent.state == "running"))
            yield ac
    finally:
        node.stop_processes()
        if not manager_task.done():
            stop.set()
            await asyncio.wait_for(manager_task, 20)
        if (agent_config.state_dir / "node.json").exists():  # the test failed before its own stop
            await net.teardown_node()
        cluster_stop.set()
        await server
    assert_host_kept(before, prefix)
