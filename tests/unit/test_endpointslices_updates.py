"""EndpointSlice controller: in-place updates, removals, labels; nothing written when nothing changed (§5)."""

from __future__ import annotations

import copy

from ferry.cluster.controllers.endpoints import HEADLESS_LABEL, TRIGGER_TIME_ANNOTATION
from ferry.cluster.controllers.endpointslices import SLICES
from tests.unit.endpoints_support import KEY, NS, PODS, SERVICES, World, endpoint, pod, service


async def synced(world: World) -> None:
    await world.slice_controller().sync(KEY)
    world.take()


async def test_a_condition_change_updates_the_slice_in_place() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1"), pod("b", "10.0.0.2")])
    controller = world.slice_controller()
    await controller.sync(KEY)
    world.take()
    (stored,) = world.slice_objects()

    world.put(PODS, pod("b", "10.0.0.2", ready=False, ready_at="2026-01-01T00:03:00Z"))
    await controller.sync(KEY)

    expected = copy.deepcopy(stored)
    expected["endpoints"][1] = endpoint("b", "10.0.0.2", ready=False, serving=False)
    expected["metadata"]["annotations"] = {TRIGGER_TIME_ANNOTATION: "2026-01-01T00:03:00Z"}
    assert world.take() == [("update", SLICES, NS, expected)]
    await controller.sync(KEY)
    assert world.take() == []


async def test_an_unrelated_pod_change_writes_nothing() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")])
    controller = world.slice_controller()
    await controller.sync(KEY)
    world.take()

    changed = pod("a", "10.0.0.1")
    changed["metadata"] |= {"resourceVersion": "99", "annotations": {"x": "y"}}
    world.put(PODS, changed)
    await controller.sync(KEY)

    assert world.take() == []


async def test_a_removed_pod_is_dropped_and_the_last_one_leaves_an_empty_placeholder_in_the_same_slice() -> (
    None
):
    world = World(services=[service()], pods=[pod("a", "10.0.0.1"), pod("b", "10.0.0.2")])
    controller = world.slice_controller()
    await controller.sync(KEY)
    world.take()
    (stored,) = world.slice_objects()

    world.listers[PODS].remove(NS, "b")
    await controller.sync(KEY)
    (action,) = world.take()
    assert action[:3] == ("update", SLICES, NS)
    assert action[3]["endpoints"] == [endpoint("a", "10.0.0.1")]

    world.listers[PODS].remove(NS, "a")
    await controller.sync(KEY)
    (action,) = world.take()
    assert action[:3] == ("update", SLICES, NS)
    assert action[3]["metadata"]["name"] == stored["metadata"]["name"]
    assert (action[3]["endpoints"], action[3]["ports"]) == ([], [])
    await controller.sync(KEY)
    assert world.take() == []


async def test_service_labels_follow_to_the_slices_and_reserved_labels_stay_ours() -> None:
    world = World(services=[service(labels={"team": "a"}, cluster_ip="None")], pods=[pod("a", "10.0.0.1")])
    controller = world.slice_controller()
    await controller.sync(KEY)
    (create,) = world.take()
    assert create[3]["metadata"]["labels"][HEADLESS_LABEL] == ""

    world.put(
        SERVICES, service(labels={"team": "b", "kubernetes.io/service-name": "evil"}, cluster_ip="None")
    )
    await controller.sync(KEY)

    (action,) = world.take()
    assert action[:3] == ("update", SLICES, NS)
    assert action[3]["metadata"]["labels"] == {
        "team": "b",
        HEADLESS_LABEL: "",
        "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    await controller.sync(KEY)
    assert world.take() == []


async def test_pods_with_different_resolved_ports_go_to_different_slices() -> None:
    svc = service(ports=[{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web"}])
    world = World(
        services=[svc],
        pods=[
            pod("a", "10.0.0.1", container_ports=[{"name": "web", "containerPort": 8080, "protocol": "TCP"}]),
            pod("b", "10.0.0.2", container_ports=[{"name": "web", "containerPort": 9090, "protocol": "TCP"}]),
        ],
    )
    controller = world.slice_controller()

    await controller.sync(KEY)

    created = [
        (a[0], a[3]["ports"][0]["port"], a[3]["endpoints"][0]["targetRef"]["name"]) for a in world.take()
    ]
    assert created == [("create", 8080, "a"), ("create", 9090, "b")]
    await controller.sync(KEY)
    assert world.take() == []


async def test_cached_objects_are_never_mutated() -> None:
    world = World(services=[service(labels={"team": "a"})], pods=[pod("a", "10.0.0.1"), pod("b", "10.0.0.2")])
    await world.slice_controller().sync(KEY)
    await world.endpoints_controller().sync(KEY)
    world.put(PODS, pod("b", "10.0.0.2", ready=False, ready_at="2026-01-01T00:03:00Z"))
    world.put(SERVICES, service(labels={"team": "b"}))
    cached = [o for lister in world.listers.values() for o in lister.list()]
    snapshot = copy.deepcopy(cached)

    await world.slice_controller().sync(KEY)
    await world.endpoints_controller().sync(KEY)

    assert [a[0] for a in world.take()][-2:] == ["update", "update"]
    assert cached == snapshot
