"""EndpointSlice controller: at most N endpoints per slice, and how new endpoints fill existing slices (§5)."""

from __future__ import annotations

from ferry.cluster.controllers.endpointslices import SLICES
from tests.unit.endpoints_support import KEY, NS, PODS, World, pod, service


def names(world: World) -> dict[str, list[str]]:
    return {
        s["metadata"]["name"]: [e["targetRef"]["name"] for e in s["endpoints"]] for s in world.slice_objects()
    }


async def test_a_hundred_and_one_endpoints_need_two_slices_by_default() -> None:
    world = World(
        services=[service()], pods=[pod(f"p{i:03d}", f"10.0.{i // 200}.{i % 200}") for i in range(101)]
    )
    controller = world.slice_controller()

    await controller.sync(KEY)

    actions = world.take()
    assert [(a[0], a[1], len(a[3]["endpoints"])) for a in actions] == [
        ("create", SLICES, 100),
        ("create", SLICES, 1),
    ]
    await controller.sync(KEY)
    assert world.take() == []


async def test_new_endpoints_top_up_the_unchanged_slice_that_ends_closest_to_full() -> None:
    world = World(services=[service()], pods=[pod(f"p{i}", f"10.0.0.{i}") for i in range(1, 6)])
    controller = world.slice_controller(max_per_slice=3)
    await controller.sync(KEY)
    world.take()
    full, partial = sorted(names(world), key=lambda n: -len(names(world)[n]))
    assert names(world) == {full: ["p1", "p2", "p3"], partial: ["p4", "p5"]}

    world.put(PODS, pod("p6", "10.0.0.6"))
    await controller.sync(KEY)

    (action,) = world.take()
    assert (action[0], action[3]["metadata"]["name"]) == ("update", partial)
    assert names(world) == {full: ["p1", "p2", "p3"], partial: ["p4", "p5", "p6"]}
    await controller.sync(KEY)
    assert world.take() == []


async def test_a_slice_being_updated_is_filled_before_any_new_slice_is_created() -> None:
    world = World(services=[service()], pods=[pod(f"p{i}", f"10.0.0.{i}") for i in range(1, 4)])
    controller = world.slice_controller(max_per_slice=3)
    await controller.sync(KEY)
    world.take()

    world.listers[PODS].remove(NS, "p2")
    world.put(PODS, pod("p4", "10.0.0.4"))
    await controller.sync(KEY)

    (action,) = world.take()
    assert action[0] == "update"
    assert list(names(world).values()) == [["p1", "p3", "p4"]]
