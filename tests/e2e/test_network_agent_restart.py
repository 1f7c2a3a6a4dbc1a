"""End-to-end as root: the network agent killed with SIGKILL (no teardown) and started again re-adopts its node.

The agent runs in a child process of the test (a ControllerManager with only the agent, like the
controller-manager process of ``ferry cluster up``). After ``kill -9`` its node setup, the pod sandbox and the
ClusterIPs stay on the host; a Service deleted while no agent runs leaves a stale address behind. The next
agent keeps the node and the pod as they are, removes the stale address, serves the remaining Service again,
and on SIGTERM tears everything down.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from dataclasses import asdict
from typing import Any

import pytest

from ferry.cluster.controllers.runtime.manager import controller_user, local_connection
from ferry.cluster.network.agent import AGENT_NAME
from tests.e2e.test_network_agent_support import AgentCluster, agent_cluster, assert_host_kept
from tests.e2e.test_network_support import Snapshot, get_from_host, sh
from tests.integration.conftest import eventually
from tests.unit.test_network_support import endpoint

pytestmark = pytest.mark.e2e
__all__ = ["agent_cluster"]

CHILD = """
import asyncio, json, signal, sys
from pathlib import Path
from ferry.cluster.controllers.runtime.manager import Connection, ControllerManager
from ferry.cluster.network.agent import NetworkAgentConfig, network_agent

cfg = json.loads(sys.stdin.readline())
agent = cfg["agent"]
agent["state_dir"] = Path(agent["state_dir"])

async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    conn = Connection(cfg["server_url"], cfg["ca_file"], lambda user, name: cfg["token"])
    await ControllerManager(conn, stop, [network_agent(NetworkAgentConfig(**agent))]).run()

asyncio.run(main())
"""


def start_agent(c: AgentCluster, token: str) -> subprocess.Popen[bytes]:
    conn = local_connection(c.ctx)
    agent = asdict(c.config) | {"state_dir": str(c.config.state_dir), "dns_upstreams": []}
    line = json.dumps(
        {"server_url": conn.server_url, "ca_file": conn.ca_file, "token": token, "agent": agent}
    )
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(line.encode() + b"\n")
    proc.stdin.flush()
    return proc


async def service(c: AgentCluster, name: str) -> str:
    body = {"metadata": {"name": name}, "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 3000}]}}
    created = await c.api.post("/api/v1/namespaces/default/services", body)
    assert created.status == 201, created.body
    return str(created.body["spec"]["clusterIP"])


def slice_for(svc: str, ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": f"{svc}-x1", "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4",
        "endpoints": [endpoint(ip)],
        "ports": [{"name": "http", "port": 3000, "protocol": "TCP"}],
    }


async def test_a_killed_agent_is_re_adopted_and_cleans_up_what_changed_meanwhile(
    agent_cluster: AgentCluster,
) -> None:
    c = agent_cluster
    await c.stop_agent()  # the fixture's in-process agent tore its node down; the children take over
    before = Snapshot.take()
    token = local_connection(c.ctx).issue_token(controller_user(AGENT_NAME), AGENT_NAME)
    link = f"{c.config.name_prefix}-svc0"
    first = start_agent(c, token)
    second: subprocess.Popen[bytes] | None = None
    try:
        keep, gone = await service(c, "keep"), await service(c, "gone")
        await eventually(lambda: asyncio.sleep(0, (c.config.state_dir / "node.json").exists()), timeout=20)
        pod = await c.node.pod("pod-a")  # the kubelet's sandbox, on the agent's bridge
        made = await c.api.post(
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", slice_for("keep", pod.ip)
        )
        assert made.status == 201, made.body

        async def serves() -> bool:
            try:
                return await get_from_host(f"http://{keep}/who") == "pod-a"
            except OSError:
                return False

        await eventually(serves, timeout=20)
        addrs = sh("ip", "-o", "addr", "show", "dev", link)
        assert f"inet {keep}/32" in addrs and f"inet {gone}/32" in addrs

        first.send_signal(signal.SIGKILL)  # a process this test started
        first.wait(10)
        assert (await c.api.delete("/api/v1/namespaces/default/services/gone")).status == 200
        addrs = sh("ip", "-o", "addr", "show", "dev", link)
        assert f"inet {gone}/32" in addrs, "a killed agent cannot clean up"
        veth_before = sh("ip", "-o", "link", "show", "dev", pod.host_veth)

        second = start_agent(c, token)

        async def re_adopted() -> bool:
            return f"inet {gone}/32" not in sh("ip", "-o", "addr", "show", "dev", link) and await serves()

        await eventually(re_adopted, timeout=20)
        assert f"inet {keep}/32" in sh("ip", "-o", "addr", "show", "dev", link)
        assert (
            sh("ip", "-o", "link", "show", "dev", pod.host_veth) == veth_before
        )  # the pod was kept as it was
        c.node.stop_processes()
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert not (c.config.state_dir / "node.json").exists()
    assert_host_kept(before, c.node.prefix)
