"""The ``kubernetes`` Service's endpoint on the node (relay on the gateway) and the root CA publisher."""

from __future__ import annotations

import asyncio
import contextlib
import random

from ferry.cluster.controllers.rootcacerts import ANNOTATION, CONFIG_MAPS, NAMESPACES, RootCAPublisher
from ferry.cluster.controllers.runtime.fakes import FakeClock, FakeLister, RecordingClient
from ferry.cluster.controllers.runtime.manager import HandlerSet
from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.network.apiendpoint import ENDPOINTS, SLICES, ApiEndpointConfig, ApiServerEndpoint


def _on_update(h: HandlerSet, old: Obj, new: Obj) -> list[object]:
    assert h.on_update is not None
    return list(h.on_update(old, new))


def _on_add(h: HandlerSet, obj: Obj) -> list[object]:
    assert h.on_add is not None
    return list(h.on_add(obj))


async def _echo_server() -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(100)
        writer.write(b"api:" + data)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def test_the_gateway_relays_to_the_api_server_and_is_published_then_withdrawn() -> None:
    api = await _echo_server()
    port = api.sockets[0].getsockname()[1]
    cidr = f"127.{random.randint(2, 250)}.{random.randint(0, 255)}.0/24"  # gateway: a loopback address
    gateway = cidr.replace(".0/24", ".1")
    listers = {ENDPOINTS: FakeLister(), SLICES: FakeLister()}
    client = RecordingClient(listers, FakeClock())
    ep = ApiServerEndpoint(
        ApiEndpointConfig(pod_cidr=cidr),
        endpoints=listers[ENDPOINTS],
        slices=listers[SLICES],
        client=client,
        server_url=f"https://127.0.0.1:{port}",
        euid=lambda: 0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(ep.run(stop))
    try:
        for _ in range(200):
            if ep.published is not None:
                break
            await asyncio.sleep(0.01)
        assert ep.published == (gateway, port)
        reader, writer = await asyncio.open_connection(gateway, port)
        writer.write(b"hello")
        await writer.drain()
        assert await reader.read(100) == b"api:hello"
        writer.close()
        endpoints = listers[ENDPOINTS].get("default", "kubernetes")
        assert endpoints is not None
        assert endpoints["subsets"] == [
            {"addresses": [{"ip": gateway}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
        ]
        assert endpoints["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
        eps = listers[SLICES].get("default", "kubernetes")
        assert eps is not None and eps["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
        assert eps["endpoints"] == [{"addresses": [gateway], "conditions": {"ready": True}}]
        assert eps["ports"] == [{"name": "https", "port": port, "protocol": "TCP"}]

        # Someone (the API server's bootstrap after a restart) writes another address: the sync puts ours back.
        endpoints["subsets"] = []
        assert _on_update(ep.handlers()[ENDPOINTS], {}, endpoints) == ["default/kubernetes"]
        client.actions.clear()
        await ep.sync("default/kubernetes")
        assert [a[0] for a in client.actions] == ["update"]
        assert listers[ENDPOINTS].get("default", "kubernetes")["subsets"][0]["addresses"] == [{"ip": gateway}]  # type: ignore[index]
        client.actions.clear()
        await ep.sync("default/kubernetes")
        assert client.actions == []  # level-triggered: nothing to change
    finally:
        stop.set()
        await task
        api.close()
    assert listers[ENDPOINTS].get("default", "kubernetes")["subsets"] == []  # type: ignore[index]
    assert listers[SLICES].get("default", "kubernetes")["endpoints"] == []  # type: ignore[index]
    with contextlib.suppress(OSError):
        _, w = await asyncio.open_connection(gateway, port)
        w.close()
        raise AssertionError("the relay still listens after stop")


async def test_without_root_nothing_is_published() -> None:
    listers = {ENDPOINTS: FakeLister(), SLICES: FakeLister()}
    client = RecordingClient(listers, FakeClock())
    ep = ApiServerEndpoint(
        ApiEndpointConfig(pod_cidr="127.9.9.0/24"),
        endpoints=listers[ENDPOINTS],
        slices=listers[SLICES],
        client=client,
        server_url="https://127.0.0.1:6443",
        euid=lambda: 1000,
    )
    await ep.run(asyncio.Event())
    assert client.actions == [] and ep.published is None


def _ns(name: str, phase: str = "Active") -> Obj:
    return {"kind": "Namespace", "metadata": {"name": name}, "status": {"phase": phase}}


async def test_every_active_namespace_gets_kube_root_ca_crt_and_it_is_put_back() -> None:
    listers = {NAMESPACES: FakeLister([_ns("shop"), _ns("old", "Terminating")]), CONFIG_MAPS: FakeLister()}
    client = RecordingClient(listers, FakeClock())
    pub = RootCAPublisher(listers[NAMESPACES], listers[CONFIG_MAPS], client, "PEM")
    assert _on_add(pub.handlers()[NAMESPACES], _ns("shop")) == ["shop"]
    await pub.sync("shop")
    await pub.sync("old")
    await pub.sync("gone")
    cm = listers[CONFIG_MAPS].get("shop", "kube-root-ca.crt")
    assert cm is not None and cm["data"] == {"ca.crt": "PEM"} and ANNOTATION in cm["metadata"]["annotations"]
    assert [a[:3] for a in client.actions] == [("create", CONFIG_MAPS, "shop")]
    client.actions.clear()
    await pub.sync("shop")
    assert client.actions == []
    edited = cm | {"data": {"ca.crt": "tampered", "extra": "kept"}}
    listers[CONFIG_MAPS].put(edited)
    assert _on_update(pub.handlers()[CONFIG_MAPS], cm, edited) == ["shop"]
    await pub.sync("shop")
    assert listers[CONFIG_MAPS].get("shop", "kube-root-ca.crt")["data"] == {"ca.crt": "PEM", "extra": "kept"}  # type: ignore[index]
    assert (
        _on_update(pub.handlers()[CONFIG_MAPS], {}, {"metadata": {"name": "other", "namespace": "shop"}})
        == []
    )
