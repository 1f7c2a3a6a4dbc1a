"""The ingress controller against fake listers and a recording client: the IngressClass it creates, the routes it
serves, the status it writes (and takes back), the port file, a taken port, and its wiring into the agent."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import aiohttp

from ferry.cluster.controllers.runtime.fakes import FakeClock, FakeLister, RecordingClient, RecordingRecorder
from ferry.cluster.network.agent import NODES, PODS, SERVICES, SLICES, NetworkAgent, NetworkAgentConfig
from ferry.cluster.network.ingresscontroller import (
    INGRESSCLASSES,
    INGRESSES,
    IngressController,
    read_ingress_file,
)
from ferry.cluster.network.services import ServiceTable
from tests.unit.test_network_agent_support import Runner, until


def ingress(name: str, cls: str | None = None, status: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}
    if cls:
        spec["ingressClassName"] = cls
    obj: dict[str, Any] = {"metadata": {"namespace": "default", "name": name}, "spec": spec}
    if status is not None:
        obj["status"] = {"loadBalancer": {"ingress": status}}
    return obj


def world(tmp: Path) -> tuple[IngressController, RecordingClient, dict[str, FakeLister], RecordingRecorder]:
    listers = {INGRESSES: FakeLister(), INGRESSCLASSES: FakeLister()}
    client, recorder = RecordingClient(listers, FakeClock()), RecordingRecorder()
    ctl = IngressController(
        ServiceTable(),
        ingresses=listers[INGRESSES],
        classes=listers[INGRESSCLASSES],
        client=client,
        recorder=recorder,
        state_dir=tmp,
        node_ref={"metadata": {"name": "ferry-node-1"}},
    )
    return ctl, client, listers, recorder


def lb(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert obj is not None
    return list(((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


async def test_start_creates_the_default_class_serves_ours_and_writes_their_status(tmp_path: Path) -> None:
    ctl, client, listers, _ = world(tmp_path)
    listers[INGRESSES].put(ingress("unset"))
    listers[INGRESSES].put(ingress("named", "ferry"))
    listers[INGRESSES].put(ingress("other", "nginx", status=[{"ip": "10.0.0.1"}]))
    try:
        assert await ctl.start()
        port = ctl.proxy.port
        created = [a for a in client.actions if a[0] == "create"]
        assert created == [
            (
                "create",
                INGRESSCLASSES,
                None,
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "IngressClass",
                    "metadata": {
                        "name": "ferry",
                        "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
                    },
                    "spec": {"controller": "ferry.dev/ingress"},
                },
            )
        ]
        mine = {"ip": "127.0.0.1", "ports": [{"port": port, "protocol": "TCP"}]}
        assert lb(listers[INGRESSES].get("default", "unset")) == [mine]  # the class created is the default
        assert lb(listers[INGRESSES].get("default", "named")) == [mine]
        assert lb(listers[INGRESSES].get("default", "other")) == [{"ip": "10.0.0.1"}]
        assert ctl.proxy.routes.ingresses == (("default", "named"), ("default", "unset"))
        assert read_ingress_file(tmp_path) == {
            "host": "127.0.0.1",
            "port": port,
            "url": f"http://127.0.0.1:{port}",
        }
        patches = len([a for a in client.actions if a[0] == "patch"])
        await ctl.sync("ing/default/named")  # the status is as wanted: no write
        assert len([a for a in client.actions if a[0] == "patch"]) == patches
    finally:
        await ctl.close()
    assert read_ingress_file(tmp_path) is None


async def test_an_ingress_leaving_our_class_loses_its_route_and_our_status_entry(tmp_path: Path) -> None:
    ctl, client, listers, _ = world(tmp_path)
    listers[INGRESSCLASSES].put(
        {"metadata": {"name": "edge"}, "spec": {"controller": "ferry.dev/ingress"}}  # ours, not default
    )
    listers[INGRESSES].put(ingress("app", "edge"))
    listers[INGRESSES].put(ingress("unset"))
    try:
        await ctl.start()
        assert not [a for a in client.actions if a[0] == "create"]  # a class of ours exists
        assert ctl.proxy.routes.ingresses == (("default", "app"),)
        assert lb(listers[INGRESSES].get("default", "unset")) == []
        entry = lb(listers[INGRESSES].get("default", "app"))
        assert entry[0]["ip"] == "127.0.0.1"
        moved = ingress("app", "nginx", status=[*entry, {"hostname": "lb.example"}])
        listers[INGRESSES].put(moved)
        await ctl.sync("ing/default/app")
        assert ctl.proxy.routes.ingresses == ()
        assert lb(listers[INGRESSES].get("default", "app")) == [{"hostname": "lb.example"}]
        listers[INGRESSCLASSES].put(
            {
                "metadata": {
                    "name": "edge",
                    "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
                },
                "spec": {"controller": "ferry.dev/ingress"},
            }
        )
        await ctl.sync("ingclass//edge")  # a class change reconciles every Ingress
        assert ctl.proxy.routes.ingresses == (("default", "unset"),)
        assert lb(listers[INGRESSES].get("default", "unset"))[0]["ip"] == "127.0.0.1"
    finally:
        await ctl.close()


async def test_a_taken_port_is_an_event_and_no_status(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ctl, client, listers, recorder = world(tmp_path)
        ctl.proxy.port = taken.getsockname()[1]
        listers[INGRESSES].put(ingress("named", "ferry"))
        assert not await ctl.start()
        await ctl.sync("ing/default/named")
        await ctl.close()
    assert [a for a in client.actions if a[0] == "patch"] == []
    assert [e[:3] for e in recorder.events] == [("None/ferry-node-1", "Warning", "IngressFailed")]
    assert read_ingress_file(tmp_path) is None


async def test_the_agent_runs_the_ingress_and_feeds_it_services(tmp_path: Path) -> None:
    listers = {r: FakeLister() for r in (SERVICES, SLICES, PODS, NODES, INGRESSES, INGRESSCLASSES)}
    client = RecordingClient(listers, FakeClock())
    agent = NetworkAgent(
        NetworkAgentConfig(
            state_dir=tmp_path / "network",
            pod_cidr="10.244.7.0/24",
            dns_host="127.0.0.1",
            dns_port=0,
            dns_upstreams=(),
            ingress_port=0,
        ),
        services=listers[SERVICES],
        slices=listers[SLICES],
        pods=listers[PODS],
        nodes=listers[NODES],
        recorder=RecordingRecorder(),
        runner=Runner(),
        euid=lambda: 0,
        client=client,
        ingresses=listers[INGRESSES],
        ingress_classes=listers[INGRESSCLASSES],
    )
    assert {INGRESSES, INGRESSCLASSES} <= set(agent.handlers())
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await until(lambda: agent.state == "running")
        assert agent.ingress is not None and agent.ingress.listening
        ing = ingress("named", "ferry")
        listers[INGRESSES].put(ing)
        for key in agent.handlers()[INGRESSES].on_add(ing):  # type: ignore[misc]
            await agent.sync(str(key))
        assert lb(listers[INGRESSES].get("default", "named"))[0]["ip"] == "127.0.0.1"
        url = json.loads((tmp_path / "network" / "ingress.json").read_text())["url"]
        async with aiohttp.ClientSession() as s, s.get(url + "/") as r:
            assert r.status == 503  # the route exists; the Service does not
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert not (tmp_path / "network" / "ingress.json").exists()


def test_without_an_ingress_port_the_agent_watches_no_ingresses(tmp_path: Path) -> None:
    listers = {r: FakeLister() for r in (SERVICES, SLICES, PODS, NODES, INGRESSES, INGRESSCLASSES)}
    agent = NetworkAgent(
        NetworkAgentConfig(state_dir=tmp_path),
        services=listers[SERVICES],
        slices=listers[SLICES],
        pods=listers[PODS],
        nodes=listers[NODES],
        recorder=RecordingRecorder(),
        ingresses=listers[INGRESSES],
        ingress_classes=listers[INGRESSCLASSES],
    )
    assert agent.ingress is None and INGRESSES not in agent.handlers()
