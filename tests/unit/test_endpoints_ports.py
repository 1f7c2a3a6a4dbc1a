"""Endpoints controller: targetPort resolution, subset repacking, headless Services (k8s-semantics §5)."""

from __future__ import annotations

from typing import Any

from ferry.cluster.controllers.endpoints import ENDPOINTS, HEADLESS_LABEL, canonical_hash, repack_subsets
from tests.unit.endpoints_support import KEY, NS, World, address, pod, service

HTTP = {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web"}
METRICS = {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9100}


def created_subsets(world: World) -> Any:
    (action,) = world.take()
    assert action[:3] == ("create", ENDPOINTS, NS)
    return action[3].get("subsets")


async def test_named_target_ports_resolve_per_pod_and_pods_without_the_port_are_left_out_of_it() -> None:
    world = World(
        services=[service(ports=[HTTP, METRICS])],
        pods=[
            pod("a", "10.0.0.1", container_ports=[{"name": "web", "containerPort": 8080, "protocol": "TCP"}]),
            pod("b", "10.0.0.2", container_ports=[{"name": "web", "containerPort": 8081, "protocol": "TCP"}]),
            pod("c", "10.0.0.3", container_ports=[]),
        ],
    )
    await world.endpoints_controller().sync(KEY)

    metrics = {"name": "metrics", "port": 9100, "protocol": "TCP"}
    expected = [
        {
            "addresses": [address("a", "10.0.0.1")],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        },
        {
            "addresses": [address("b", "10.0.0.2")],
            "ports": [{"name": "http", "port": 8081, "protocol": "TCP"}],
        },
        {
            "addresses": [
                address(n, ip) for n, ip in (("a", "10.0.0.1"), ("b", "10.0.0.2"), ("c", "10.0.0.3"))
            ],
            "ports": [metrics],
        },
    ]
    assert created_subsets(world) == sorted(expected, key=canonical_hash)


async def test_a_named_port_matches_only_a_container_port_of_the_same_protocol() -> None:
    udp = {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"}
    world = World(
        services=[service(ports=[udp])],
        pods=[
            pod(
                "tcp-only",
                "10.0.0.1",
                container_ports=[{"name": "dns", "containerPort": 5353, "protocol": "TCP"}],
            ),
            pod("udp", "10.0.0.2", container_ports=[{"name": "dns", "containerPort": 53, "protocol": "UDP"}]),
        ],
    )
    await world.endpoints_controller().sync(KEY)

    assert created_subsets(world) == [
        {"addresses": [address("udp", "10.0.0.2")], "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}
    ]


async def test_pods_offering_the_same_ports_share_one_subset_with_all_ports() -> None:
    metrics = {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090}
    world = World(
        services=[service(ports=[HTTP, metrics])],
        pods=[
            pod("a", "10.0.0.1", container_ports=[{"name": "web", "containerPort": 8080, "protocol": "TCP"}]),
            pod("b", "10.0.0.2", ready=False, container_ports=[{"name": "web", "containerPort": 8080}]),
        ],
    )
    await world.endpoints_controller().sync(KEY)

    ports = sorted(
        [
            {"name": "http", "port": 8080, "protocol": "TCP"},
            {"name": "metrics", "port": 9090, "protocol": "TCP"},
        ],
        key=canonical_hash,
    )
    assert created_subsets(world) == [
        {
            "addresses": [address("a", "10.0.0.1")],
            "notReadyAddresses": [address("b", "10.0.0.2")],
            "ports": ports,
        }
    ]


def test_repacking_lets_not_ready_win_when_one_address_is_listed_both_ways() -> None:
    a = address("a", "10.0.0.1")
    port = {"port": 80, "protocol": "TCP"}
    assert repack_subsets(
        [{"addresses": [a], "ports": [port]}, {"notReadyAddresses": [a], "ports": [port]}]
    ) == [{"notReadyAddresses": [a], "ports": [port]}]


async def test_a_headless_service_without_ports_lists_addresses_only_and_is_labelled_headless() -> None:
    world = World(
        services=[service(ports=[], cluster_ip="None", labels={"app": "web"})], pods=[pod("a", "10.0.0.1")]
    )
    controller = world.endpoints_controller()

    await controller.sync(KEY)

    (action,) = world.take()
    assert action[3]["metadata"]["labels"] == {"app": "web", HEADLESS_LABEL: ""}
    assert action[3]["subsets"] == [{"addresses": [address("a", "10.0.0.1")]}]
    await controller.sync(KEY)
    assert world.take() == []


async def test_a_service_with_ports_but_no_resolvable_port_on_any_pod_gets_no_subsets() -> None:
    world = World(services=[service(ports=[HTTP])], pods=[pod("a", "10.0.0.1", container_ports=[])])
    await world.endpoints_controller().sync(KEY)
    assert created_subsets(world) is None
