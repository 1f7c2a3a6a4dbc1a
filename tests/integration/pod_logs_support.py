"""For the pods/log integration tests: an in-process cluster plus a kubelet API the test runs.

The test plays the kubelet: it registers a Node whose ``daemonEndpoints.kubeletEndpoint.Port`` and
``InternalIP`` point at :func:`start_kubelet_server` on 127.0.0.1, creates pods bound to it, writes their status
to the API server and the same pods (with that status) into the kubelet's :class:`FakeNode`, and writes their CRI
log files.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from ferry.cluster.kubelet.server import RunningServer, ensure_kubelet_serving_cert, start_kubelet_server
from tests.integration.conftest import Api, Cluster
from tests.unit.kubelet_server_support import FakeNode


@dataclass
class LogWorld:
    api: Api
    node: FakeNode
    kubelet: RunningServer
    node_name: str
    namespace: str

    async def register_node(self, name: str, *, port: int, runtime: str = "ferry-process://1.0") -> None:
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
        r = await self.api.post("/api/v1/nodes", body)
        assert r.status == 201, r.body
        status = {
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "nodeInfo": {"containerRuntimeVersion": runtime},
        }
        r = await self.api.patch(f"/api/v1/nodes/{name}/status", {"status": status})
        assert r.status == 200, r.body

    async def run_pod(
        self, name: str, statuses: list[dict[str, Any]], *, node: str | None = "", **extra: Any
    ) -> dict[str, Any]:
        """Create pod ``name`` (containers named after ``statuses``) on ``node``, status written as given."""
        spec: dict[str, Any] = {"containers": [{"name": s["name"], "image": "busybox"} for s in statuses]}
        if node is not None:
            spec["nodeName"] = node or self.node_name
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **extra}, "spec": spec}
        r = await self.api.post(f"/api/v1/namespaces/{self.namespace}/pods", body)
        assert r.status == 201, r.body
        r = await self.api.patch(
            f"/api/v1/namespaces/{self.namespace}/pods/{name}/status",
            {"status": {"phase": "Running", "containerStatuses": statuses}},
        )
        assert r.status == 200, r.body
        return self.node.add(r.body)

    def log_path(self, pod: str, **query: str) -> str:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"/api/v1/namespaces/{self.namespace}/pods/{pod}/log" + (f"?{q}" if q else "")

    async def logs(self, pod: str, **query: str) -> tuple[int, str]:
        r = await self.api.get(self.log_path(pod, **query), headers={"Accept": "application/json, */*"})
        return r.status, r.raw.decode()

    async def error(self, pod: str, **query: str) -> tuple[int, str, str]:
        r = await self.api.get(self.log_path(pod, **query))
        assert isinstance(r.body, dict), r.raw
        return r.status, str(r.body.get("reason")), str(r.body.get("message"))


@pytest.fixture(name="world")
async def world_fixture(cluster: Cluster) -> AsyncIterator[LogWorld]:
    pki = cluster.config.data_dir / "pki"
    node = FakeNode(cluster.config.data_dir / "kubelet-logs")
    name = f"node-{uuid.uuid4().hex[:6]}"
    server = await start_kubelet_server(
        "127.0.0.1",
        0,
        node.log_file_for,
        pods=node.lookup,
        tls=ensure_kubelet_serving_cert(pki, name),
        poll_seconds=0.02,
    )
    try:
        w = LogWorld(cluster.api, node, server, name, "default")
        await w.register_node(name, port=server.port)
        yield w
    finally:
        await server.close()
