"""Endpoints controller: writes only on change, trigger times, deletion, handlers, failures (k8s-semantics §5)."""

from __future__ import annotations

import copy

import pytest

from ferry.cluster.controllers.endpoints import (
    ENDPOINTS,
    OVER_CAPACITY_ANNOTATION,
    PODS,
    SERVICES,
    TRIGGER_TIME_ANNOTATION,
)
from ferry.cluster.controllers.runtime.types import ApiStatusError
from tests.unit.endpoints_support import KEY, NS, World, address, pod, service

PORTS = [{"name": "http", "port": 8080, "protocol": "TCP"}]


async def test_nothing_is_written_while_nothing_that_matters_changes() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")])
    controller = world.endpoints_controller()
    await controller.sync(KEY)
    world.take()

    annotated = pod("a", "10.0.0.1")
    annotated["metadata"] |= {"resourceVersion": "21", "annotations": {"note": "x"}}
    world.put(PODS, annotated)
    await controller.sync(KEY)

    assert world.take() == []


async def test_a_pod_turning_ready_updates_the_endpoints_with_its_transition_as_trigger_time() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1", ready=False)])
    controller = world.endpoints_controller()
    await controller.sync(KEY)
    (_create,) = world.take()
    stored = world.listers[ENDPOINTS].get(NS, "web")
    assert stored is not None

    world.put(PODS, pod("a", "10.0.0.1", ready=True, ready_at="2026-01-01T00:02:03.250Z"))
    await controller.sync(KEY)

    expected = copy.deepcopy(stored)
    expected["metadata"]["annotations"][TRIGGER_TIME_ANNOTATION] = "2026-01-01T00:02:03.25Z"
    expected["subsets"] = [{"addresses": [address("a", "10.0.0.1")], "ports": PORTS}]
    assert world.take() == [("update", ENDPOINTS, NS, expected)]
    await controller.sync(KEY)
    assert world.take() == []


async def test_service_labels_are_copied_and_a_label_change_alone_updates_without_a_trigger_time() -> None:
    world = World(services=[service(labels={"team": "a"})], pods=[pod("a", "10.0.0.1")])
    controller = world.endpoints_controller()
    await controller.sync(KEY)
    world.take()

    world.put(SERVICES, service(labels={"team": "b"}))
    await controller.sync(KEY)

    (action,) = world.take()
    assert action[:3] == ("update", ENDPOINTS, NS)
    assert action[3]["metadata"]["labels"] == {"team": "b"}
    assert "annotations" not in action[3]["metadata"]  # no new trigger: the annotation is cleared


async def test_a_deleted_service_has_its_endpoints_deleted_once() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")])
    controller = world.endpoints_controller()
    await controller.sync(KEY)
    world.take()

    world.listers[SERVICES].remove(NS, "web")
    await controller.sync(KEY)

    assert world.take() == [("delete", ENDPOINTS, NS, "web")]
    await controller.sync(KEY)
    assert world.take() == []


@pytest.mark.parametrize(
    "svc", [service(selector={}), {**service(), "spec": {**service()["spec"], "type": "ExternalName"}}]
)
async def test_services_without_selector_or_of_type_external_name_are_left_to_their_owner(
    svc: dict[str, object],
) -> None:
    user_endpoints = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": NS}}
    world = World(services=[svc], pods=[pod("a", "10.0.0.1")], endpoints=[user_endpoints])
    await world.endpoints_controller().sync(KEY)
    assert world.take() == []


async def test_more_than_a_thousand_addresses_are_truncated_and_annotated() -> None:
    pods = [pod(f"p{i:04d}", f"10.1.{i // 250}.{i % 250}") for i in range(1001)]
    world = World(services=[service()], pods=pods)
    controller = world.endpoints_controller()

    await controller.sync(KEY)

    (action,) = world.take()
    assert action[3]["metadata"]["annotations"][OVER_CAPACITY_ANNOTATION] == "truncated"
    assert len(action[3]["subsets"][0]["addresses"]) == 1000


async def test_a_failed_write_emits_a_warning_on_the_endpoints_and_raises() -> None:
    world = World(services=[service()], pods=[pod("a", "10.0.0.1")])
    world.client.fail[("create", ENDPOINTS)] = ApiStatusError(
        {"code": 403, "reason": "Forbidden", "message": "no"}
    )

    with pytest.raises(ApiStatusError):
        await world.endpoints_controller().sync(KEY)

    assert world.recorder.events == [
        (
            f"{NS}/web",
            "Warning",
            "FailedToCreateEndpoint",
            "Failed to create endpoint for service default/web: no",
        )
    ]


def test_handlers_enqueue_the_services_a_pod_belongs_to_and_ignore_no_op_updates() -> None:
    world = World(services=[service(), service("db", selector={"app": "db"}, uid="db-uid")])
    controller = world.endpoints_controller()
    web, moved = pod("a", "10.0.0.1"), pod("a", "10.0.0.1", labels={"app": "db"})
    moved["metadata"]["resourceVersion"] = "21"

    assert controller.on_add(PODS, web) == [KEY]
    assert controller.on_update(PODS, web, copy.deepcopy(web)) == []
    assert controller.on_update(PODS, web, moved) == ["default/db", KEY]
    assert controller.on_delete(PODS, moved) == ["default/db"]
    assert controller.on_add(SERVICES, service()) == [KEY]
    assert controller.on_delete(ENDPOINTS, {"metadata": {"name": "web", "namespace": NS}}) == [KEY]
