"""EndpointSlice controller: the first slices of a Service, conditions per endpoint, placeholders (§5)."""

from __future__ import annotations

import pytest

from ferry.cluster.controllers.endpoints import TRIGGER_TIME_ANNOTATION
from ferry.cluster.controllers.endpointslices import SLICES
from tests.unit.endpoints_support import (
    KEY,
    NS,
    PODS,
    READY_AT,
    World,
    endpoint,
    new_slice,
    node,
    pod,
    service,
)


async def test_a_slice_holds_ready_unready_and_terminating_endpoints_with_their_conditions() -> None:
    world = World(
        services=[service()],
        pods=[
            pod("a", "10.0.0.1"),
            pod("b", "10.0.0.2", ready=False),
            pod("c", "10.0.0.3", deleting=True),
            pod("done", "10.0.0.4", phase="Failed", ready=False),
            pod("no-ip", ""),
        ],
    )
    controller = world.slice_controller()

    await controller.sync(KEY)

    endpoints = [
        endpoint("a", "10.0.0.1"),
        endpoint("b", "10.0.0.2", ready=False, serving=False),
        endpoint("c", "10.0.0.3", ready=False, serving=True, terminating=True),
    ]
    assert world.take() == [("create", SLICES, NS, new_slice(endpoints))]
    await controller.sync(KEY)
    assert world.take() == []


async def test_publish_not_ready_addresses_marks_every_endpoint_ready() -> None:
    world = World(services=[service(publish=True)], pods=[pod("b", "10.0.0.2", ready=False, deleting=True)])
    await world.slice_controller().sync(KEY)

    (action,) = world.take()
    assert action[3]["endpoints"] == [endpoint("b", "10.0.0.2", ready=True, serving=False, terminating=True)]


async def test_endpoints_carry_zone_and_hostname() -> None:
    world = World(
        services=[service()],
        pods=[pod("a", "10.0.0.1", hostname="a-0", subdomain="web")],
        nodes=[node("node-1", zone="eu-west-1a")],
    )
    await world.slice_controller().sync(KEY)

    (action,) = world.take()
    assert action[3]["endpoints"] == [endpoint("a", "10.0.0.1", zone="eu-west-1a", hostname="a-0")]


async def test_a_service_without_pods_gets_one_placeholder_slice_and_keeps_it() -> None:
    world = World(services=[service()])
    controller = world.slice_controller()

    await controller.sync(KEY)

    assert world.take() == [("create", SLICES, NS, new_slice([], ports=[]))]
    await controller.sync(KEY)
    assert world.take() == []


async def test_the_placeholder_is_reused_when_pods_arrive() -> None:
    world = World(services=[service()])
    controller = world.slice_controller()
    await controller.sync(KEY)
    world.take()
    (placeholder,) = world.slice_objects()

    world.put(PODS, pod("a", "10.0.0.1"))
    await controller.sync(KEY)

    meta = {
        "name": placeholder["metadata"]["name"],
        "resourceVersion": placeholder["metadata"]["resourceVersion"],
    }
    meta["annotations"] = {
        TRIGGER_TIME_ANNOTATION: READY_AT
    }  # the pod's Ready transition triggered this write
    assert world.take() == [("update", SLICES, NS, new_slice([endpoint("a", "10.0.0.1")], **meta))]
    await controller.sync(KEY)
    assert world.take() == []


async def test_a_pod_on_an_unknown_node_is_skipped_and_the_sync_fails_after_writing_the_rest() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1"), pod("b", "10.0.0.2", node="gone")])
    controller = world.slice_controller()

    with pytest.raises(RuntimeError, match=r"^skipping Pod b for Service default/web: Node gone Not Found$"):
        await controller.sync(KEY)

    assert world.take() == [("create", SLICES, NS, new_slice([endpoint("a", "10.0.0.1")]))]
    assert world.recorder.events == [
        (
            "default/web",
            "Warning",
            "FailedToUpdateEndpointSlices",
            "Error updating Endpoint Slices for Service default/web: "
            "skipping Pod b for Service default/web: Node gone Not Found",
        )
    ]
