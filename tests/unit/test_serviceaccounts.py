"""ServiceAccount controller: a ``default`` ServiceAccount in every active namespace, recreated if deleted."""

from __future__ import annotations

import pytest

from ferry.cluster.controllers.runtime.fakes import FakeClock, FakeLister, RecordingClient, RecordingRecorder
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj
from ferry.cluster.controllers.serviceaccounts import NAMESPACES, SERVICE_ACCOUNTS, ServiceAccountsController

DEFAULT_SA = {
    "apiVersion": "v1",
    "kind": "ServiceAccount",
    "metadata": {"name": "default", "namespace": "team"},
}


def namespace(name: str = "team", phase: str = "Active") -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "status": {"phase": phase}}


def world(*objs: Obj) -> tuple[ServiceAccountsController, RecordingClient, dict[str, FakeLister]]:
    listers = {
        NAMESPACES: FakeLister([o for o in objs if o["kind"] == "Namespace"]),
        SERVICE_ACCOUNTS: FakeLister([o for o in objs if o["kind"] == "ServiceAccount"]),
    }
    clock = FakeClock()
    client = RecordingClient(listers, clock)
    controller = ServiceAccountsController(
        listers[NAMESPACES], listers[SERVICE_ACCOUNTS], client, RecordingRecorder(), clock
    )
    return controller, client, listers


async def test_a_new_namespace_gets_a_default_service_account_once() -> None:
    controller, client, _ = world(namespace())

    assert controller.on_add(NAMESPACES, namespace()) == ["team"]
    await controller.sync("team")

    assert client.actions == [("create", SERVICE_ACCOUNTS, "team", DEFAULT_SA)]
    client.actions.clear()
    await controller.sync("team")
    assert client.actions == []


async def test_a_deleted_default_service_account_is_recreated() -> None:
    controller, client, listers = world(namespace(), DEFAULT_SA)
    await controller.sync("team")
    assert client.actions == []

    listers[SERVICE_ACCOUNTS].remove("team", "default")
    assert controller.on_delete(SERVICE_ACCOUNTS, DEFAULT_SA) == ["team"]
    await controller.sync("team")

    assert client.actions == [("create", SERVICE_ACCOUNTS, "team", DEFAULT_SA)]


async def test_other_service_accounts_and_terminating_or_missing_namespaces_need_nothing() -> None:
    other = {**DEFAULT_SA, "metadata": {"name": "robot", "namespace": "team"}}
    controller, client, _ = world(namespace("team", phase="Terminating"))

    assert controller.on_delete(SERVICE_ACCOUNTS, other) == []
    await controller.sync("team")
    await controller.sync("gone")
    assert client.actions == []


async def test_already_exists_means_the_cache_was_behind_and_is_not_an_error() -> None:
    controller, client, _ = world(namespace())
    client.fail[("create", SERVICE_ACCOUNTS)] = ApiStatusError(
        {"code": 409, "reason": "AlreadyExists", "message": "x"}
    )

    await controller.sync("team")

    assert client.actions == [("create", SERVICE_ACCOUNTS, "team", DEFAULT_SA)]


async def test_other_failures_are_raised_for_a_retry() -> None:
    controller, client, _ = world(namespace())
    client.fail[("create", SERVICE_ACCOUNTS)] = ApiStatusError(
        {"code": 500, "reason": "InternalError", "message": "x"}
    )

    with pytest.raises(ApiStatusError):
        await controller.sync("team")
