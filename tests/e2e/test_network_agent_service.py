"""End-to-end as root: the network agent in a ControllerManager against a real in-process API server.

The test plays the kubelet (two pod sandboxes serving ``/who`` on 0.0.0.0:3000) and the endpoint controllers
(it writes the EndpointSlice itself). Through the API only: a NodePort Service ``web`` and its slice make the
ClusterIP answer round-robin from the host and from a pod, the NodePort answer on 127.0.0.1, and the cluster DNS
on the gateway resolve ``web.<ns>.svc.cluster.local`` (from the host, and through glibc in a pod), plus a pod's
own name once its status has an IP. One endpoint marked not ready gets no more traffic; deleting the Service
removes its address, its listeners and its name. Stopping the manager tears the node down: the host is exactly
as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from ferry.cluster.network import dnswire as w
from tests.e2e.test_network_agent_support import AgentCluster, agent_cluster, assert_host_kept
from tests.e2e.test_network_dns import resolve_in_pod
from tests.e2e.test_network_support import Snapshot, get_from_host, get_from_pod, sh
from tests.integration.conftest import eventually
from tests.unit.test_network_support import endpoint, udp_query

pytestmark = pytest.mark.e2e
__all__ = ["agent_cluster"]

NS = "default"
SVC = f"/api/v1/namespaces/{NS}/services"
SLICES = f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices"


def web_slice(*endpoints: dict[str, Any], rv: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web-x1", "labels": {"kubernetes.io/service-name": "web"}}
    if rv:
        meta["resourceVersion"] = rv
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": meta,
        "addressType": "IPv4",
        "endpoints": list(endpoints),
        "ports": [{"name": "http", "port": 3000, "protocol": "TCP"}],
    }


async def answers(c: AgentCluster, name: str) -> tuple[int, list[str]]:
    reply = await udp_query(c.agent.net.gateway, 53, name)  # type: ignore[union-attr]
    return reply.rcode, [r.text() for r in reply.answers if r.rtype == w.A]


async def test_services_and_dns_follow_the_api_and_stop_leaves_nothing(agent_cluster: AgentCluster) -> None:
    c, before = agent_cluster, Snapshot.take()
    a, b = await c.node.pod("pod-a"), await c.node.pod("pod-b")
    created = await c.api.post(
        SVC,
        {
            "metadata": {"name": "web"},
            "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": 3000}]},
        },
    )
    assert created.status == 201, created.body
    ip, node_port = created.body["spec"]["clusterIP"], created.body["spec"]["ports"][0]["nodePort"]
    made = await c.api.post(SLICES, web_slice(endpoint(a.ip), endpoint(b.ip)))
    assert made.status == 201, made.body

    async def both_serve() -> bool:
        try:
            return {await get_from_host(f"http://{ip}/who") for _ in range(2)} == {"pod-a", "pod-b"}
        except OSError:
            return False

    await eventually(both_serve, timeout=10)
    link = c.agent.net.config.service_link  # type: ignore[union-attr]
    assert f"inet {ip}/32" in sh("ip", "-o", "addr", "show", "dev", link)
    from_host = [await get_from_host(f"http://{ip}/who") for _ in range(4)]
    assert sorted(from_host) == ["pod-a", "pod-a", "pod-b", "pod-b"] and from_host[0] != from_host[1]
    from_pod = [await get_from_pod(a, f"http://{ip}/who") for _ in range(4)]
    assert sorted(from_pod) == ["pod-a", "pod-a", "pod-b", "pod-b"]
    assert {await get_from_host(f"http://127.0.0.1:{node_port}/who") for _ in range(2)} == {"pod-a", "pod-b"}

    assert await answers(c, f"web.{NS}.svc.cluster.local") == (w.NOERROR, [ip])
    resolved = await resolve_in_pod(c.node, a, NS, "web", f"web.{NS}.svc.cluster.local")  # type: ignore[arg-type]
    assert resolved == {"web": ip, f"web.{NS}.svc.cluster.local": ip}

    pod_name = f"{a.ip.replace('.', '-')}.{NS}.pod.cluster.local"
    assert (await answers(c, pod_name))[0] == w.NXDOMAIN  # no such pod yet ("pods verified")
    pod = {"metadata": {"name": "pod-a"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    assert (await c.api.post(f"/api/v1/namespaces/{NS}/pods", pod)).status == 201
    status = {"status": {"phase": "Running", "podIP": a.ip, "podIPs": [{"ip": a.ip}]}}
    patched = await c.api.patch(f"/api/v1/namespaces/{NS}/pods/pod-a/status", status)
    assert patched.status == 200, patched.body
    await eventually(lambda: _is(answers(c, pod_name), (w.NOERROR, [a.ip])))

    # pod-b turns not ready: no new connection goes to it.
    current = (await c.api.get(f"{SLICES}/web-x1")).body
    rv = current["metadata"]["resourceVersion"]
    updated = await c.api.put(
        f"{SLICES}/web-x1", web_slice(endpoint(a.ip), endpoint(b.ip, ready=False), rv=rv)
    )
    assert updated.status == 200, updated.body

    async def only_a() -> bool:
        return {await get_from_host(f"http://{ip}/who") for _ in range(4)} == {"pod-a"}

    await eventually(only_a, timeout=10)
    assert {await get_from_pod(b, f"http://{ip}/who") for _ in range(3)} == {"pod-a"}

    # The Service goes: its address, its listeners and its name go with it.
    assert (await c.api.delete(f"{SVC}/web")).status == 200

    async def gone() -> bool:
        return f"inet {ip}/32" not in sh("ip", "-o", "addr", "show", "dev", link)

    await eventually(gone, timeout=10)
    assert not [lst for lst in c.agent.proxy.listeners() if lst.service == "web"]  # type: ignore[union-attr]
    with pytest.raises(OSError):
        await get_from_host(f"http://127.0.0.1:{node_port}/who")
    assert (await answers(c, f"web.{NS}.svc.cluster.local"))[0] == w.NXDOMAIN

    c.node.stop_processes()
    await c.stop_agent()
    assert c.agent.state == "stopped"
    assert not (c.config.state_dir / "node.json").exists()
    assert_host_kept(before, c.node.prefix)


async def _is(result: Any, expected: Any) -> bool:
    return bool(await result == expected)
