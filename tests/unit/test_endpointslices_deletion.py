"""EndpointSlice controller: slices deleted with their Service, its selector, an address type, an old owner."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.endpointslices import SLICES
from tests.unit.endpoints_support import KEY, NS, SERVICES, World, endpoint, new_slice, pod, service


async def world_with_slice(**kwargs: object) -> World:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")], **kwargs)  # type: ignore[arg-type]
    await world.slice_controller().sync(KEY)
    world.take()
    return world


async def test_the_slices_of_a_deleted_service_are_deleted() -> None:
    world = await world_with_slice()
    (stored,) = world.slice_objects()
    world.listers[SERVICES].remove(NS, "web")
    controller = world.slice_controller()

    await controller.sync(KEY)

    assert world.take() == [("delete", SLICES, NS, stored["metadata"]["name"])]
    await controller.sync(KEY)
    assert world.take() == []


async def test_the_slices_of_a_service_that_lost_its_selector_are_deleted() -> None:
    world = await world_with_slice()
    (stored,) = world.slice_objects()
    world.put(SERVICES, service(selector={}))
    controller = world.slice_controller()

    await controller.sync(KEY)

    assert world.take() == [("delete", SLICES, NS, stored["metadata"]["name"])]
    await controller.sync(KEY)
    assert world.take() == []


async def test_slices_of_another_controller_are_never_touched() -> None:
    foreign = new_slice([endpoint("x", "10.9.9.9")], name="web-manual")
    foreign["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] = "someone-else"
    world = World(services=[service(selector={})], slices=[foreign])

    await world.slice_controller().sync(KEY)

    assert world.take() == []


async def test_a_slice_owned_by_an_earlier_service_of_the_same_name_is_replaced() -> None:
    old = new_slice([endpoint("a", "10.0.0.1")], name="web-old", resourceVersion="7")
    old["metadata"]["ownerReferences"][0]["uid"] = "previous-uid"
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")], slices=[old])
    controller = world.slice_controller()

    await controller.sync(KEY)

    # The create of the new Service's slice is paired with the delete of the old one, but the old one is
    # not owned by this Service, so it is not reused: create, then delete.
    assert world.take() == [
        ("create", SLICES, NS, new_slice([endpoint("a", "10.0.0.1")])),
        ("delete", SLICES, NS, "web-old"),
    ]
    await controller.sync(KEY)
    assert world.take() == []


async def test_a_slice_of_an_address_type_the_service_no_longer_has_is_deleted() -> None:
    v6 = new_slice([], ports=[], name="web-v6", resourceVersion="7")
    v6["addressType"] = "IPv6"
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")], slices=[v6])
    controller = world.slice_controller()

    await controller.sync(KEY)

    assert world.take() == [
        ("create", SLICES, NS, new_slice([endpoint("a", "10.0.0.1")])),
        ("delete", SLICES, NS, "web-v6"),
    ]
    await controller.sync(KEY)
    assert world.take() == []


async def test_a_dual_stack_service_gets_one_slice_per_family() -> None:
    svc = service()
    svc["spec"]["ipFamilies"] = ["IPv4", "IPv6"]
    dual = pod("a", "10.0.0.1")
    dual["status"]["podIPs"] = [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]
    world = World(services=[svc], pods=[dual])
    controller = world.slice_controller()

    await controller.sync(KEY)

    v6 = copy.deepcopy(new_slice([endpoint("a", "fd00::1")]))
    v6["addressType"] = "IPv6"
    assert world.take() == [
        ("create", SLICES, NS, new_slice([endpoint("a", "10.0.0.1")])),
        ("create", SLICES, NS, v6),
    ]
    await controller.sync(KEY)
    assert world.take() == []
