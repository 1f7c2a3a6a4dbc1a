"""Endpoints controller: which pods become addresses, ready or not ready (k8s-semantics §5)."""

from __future__ import annotations

from ferry.cluster.controllers.endpoints import ENDPOINTS, TRIGGER_TIME_ANNOTATION
from tests.unit.endpoints_support import KEY, NS, SVC_CREATED, World, address, pod, service

PORTS = [{"name": "http", "port": 8080, "protocol": "TCP"}]


def expected_endpoints(subsets: list[dict[str, object]], **meta: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": "web",
            "namespace": NS,
            "annotations": {TRIGGER_TIME_ANNOTATION: SVC_CREATED},
            **meta,
        },
        "subsets": subsets,
    }


async def test_ready_pods_are_addresses_unready_ones_not_ready_and_the_rest_left_out() -> None:
    world = World(
        services=[service()],
        pods=[
            pod("a", "10.0.0.1"),
            pod("b", "10.0.0.2", ready=False),
            pod("done", "10.0.0.3", phase="Succeeded", ready=False),
            pod("no-ip", ""),
            pod("leaving", "10.0.0.4", deleting=True),
            pod("other", "10.0.0.5", labels={"app": "db"}),
        ],
    )
    controller = world.endpoints_controller()

    await controller.sync(KEY)

    subset = {
        "addresses": [address("a", "10.0.0.1")],
        "notReadyAddresses": [address("b", "10.0.0.2")],
        "ports": PORTS,
    }
    assert world.take() == [("create", ENDPOINTS, NS, expected_endpoints([subset]))]
    await controller.sync(KEY)
    assert world.take() == []


async def test_publish_not_ready_addresses_publishes_unready_and_terminating_pods_as_ready() -> None:
    world = World(
        services=[service(publish=True)],
        pods=[pod("a", "10.0.0.1", ready=False), pod("b", "10.0.0.2", deleting=True)],
    )
    controller = world.endpoints_controller()

    await controller.sync(KEY)

    subset = {"addresses": [address("a", "10.0.0.1"), address("b", "10.0.0.2")], "ports": PORTS}
    assert world.take() == [("create", ENDPOINTS, NS, expected_endpoints([subset]))]
    await controller.sync(KEY)
    assert world.take() == []


async def test_addresses_sort_by_ip_bytes_and_carry_the_hostname_of_pods_in_the_service_subdomain() -> None:
    world = World(
        services=[service()],
        pods=[
            pod("a", "10.0.0.9", hostname="db-0", subdomain="web"),
            pod("b", "10.0.0.10", hostname="db-1", subdomain="elsewhere"),
        ],
    )
    controller = world.endpoints_controller()

    await controller.sync(KEY)

    # "10.0.0.10" < "10.0.0.9" byte-wise, as kube's LessEndpointAddress compares them.
    addresses = [address("b", "10.0.0.10"), address("a", "10.0.0.9", hostname="db-0")]
    assert world.take() == [
        ("create", ENDPOINTS, NS, expected_endpoints([{"addresses": addresses, "ports": PORTS}]))
    ]


async def test_a_service_without_matching_pods_gets_an_endpoints_object_without_subsets() -> None:
    world = World(services=[service(labels={"team": "a"})], pods=[pod("x", "10.0.0.1", labels={"app": "db"})])
    controller = world.endpoints_controller()

    await controller.sync(KEY)

    body = expected_endpoints([], labels={"team": "a"})
    del body["subsets"]
    assert world.take() == [("create", ENDPOINTS, NS, body)]
    await controller.sync(KEY)
    assert world.take() == []
