"""EndpointSlice controller: no writes on a cache that has not seen our own writes; event handlers."""

from __future__ import annotations

import copy

import pytest

from ferry.cluster.controllers.endpointslices import SLICES, StaleCacheError
from tests.unit.endpoints_support import KEY, NS, PODS, SERVICES, World, endpoint, new_slice, pod, service


async def test_a_cache_missing_our_create_is_stale_until_it_catches_up() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")])
    controller = world.slice_controller()
    await controller.sync(KEY)
    world.take()
    (created,) = world.slice_objects()
    world.listers[SLICES].remove(NS, created["metadata"]["name"])  # the watch event has not arrived yet

    with pytest.raises(StaleCacheError):
        await controller.sync(KEY)
    assert world.take() == []

    world.put(SLICES, created)  # now it has
    await controller.sync(KEY)
    assert world.take() == []


async def test_a_cache_holding_an_older_version_than_we_wrote_is_stale() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")])
    controller = world.slice_controller()
    await controller.sync(KEY)
    (before,) = world.slice_objects()
    world.put(PODS, pod("a", "10.0.0.1", ready=False, ready_at="2026-01-01T00:09:00Z"))
    await controller.sync(KEY)
    world.take()
    world.put(SLICES, before)  # the cache still shows the version before our update

    with pytest.raises(StaleCacheError):
        await controller.sync(KEY)
    assert world.take() == []


async def test_a_slice_deleted_by_someone_else_is_recreated() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")])
    controller = world.slice_controller()
    await controller.sync(KEY)
    world.take()
    (stored,) = world.slice_objects()
    world.listers[SLICES].remove(NS, stored["metadata"]["name"])

    assert controller.on_delete(SLICES, stored) == [KEY]
    await controller.sync(KEY)

    created = new_slice([endpoint("a", "10.0.0.1")])
    del created["metadata"]["annotations"]  # nothing new happened to the pods: no trigger time
    assert world.take() == [("create", SLICES, NS, created)]


def test_handlers_map_managed_slices_to_their_service_and_ignore_foreign_ones() -> None:
    world = World(services=[service()])
    controller = world.slice_controller()
    ours = new_slice([], name="web-abcde")
    foreign = copy.deepcopy(ours)
    foreign["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] = "someone-else"

    assert controller.on_add(SLICES, ours) == [KEY]
    assert controller.on_update(SLICES, foreign, ours) == [KEY]
    assert controller.on_add(SLICES, foreign) == []
    assert controller.on_add(PODS, pod("a", "10.0.0.1")) == [KEY]
    assert controller.on_delete(SERVICES, service()) == [KEY]
