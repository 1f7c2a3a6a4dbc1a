"""The controllers' ApiClient against the real server: verbs, patch types, Status errors, list, watch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ferry.cluster.controllers.runtime.client import ApiClient, resource_path
from ferry.cluster.controllers.runtime.types import ApiStatusError
from tests.integration.conftest import Cluster

CM = "v1/configmaps"


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[ApiClient]:
    s = cluster.ctx.settings
    c = ApiClient(s.server_url, cluster.api.token, ca_file=s.ca_file, user_agent="ferry-test/1.0")
    yield c
    await c.close()


def test_resource_paths() -> None:
    assert resource_path("apps/v1/replicasets", "ns", "web") == "/apis/apps/v1/namespaces/ns/replicasets/web"
    assert resource_path("v1/pods", None) == "/api/v1/pods"
    assert resource_path("v1/nodes", None, "n1", "status") == "/api/v1/nodes/n1/status"
    assert resource_path("v1/pods/binding", "default", "p") == "/api/v1/namespaces/default/pods/p/binding"
    assert resource_path("v1/namespaces", None, "kube-system") == "/api/v1/namespaces/kube-system"
    with pytest.raises(ValueError):
        resource_path("pods", "default")


async def test_create_get_update_delete(client: ApiClient) -> None:
    created = await client.create(CM, "default", {"metadata": {"name": "c1"}, "data": {"a": "1"}})
    assert created["metadata"]["uid"]
    got = await client.get(CM, "default", "c1")
    assert got["data"] == {"a": "1"}
    got["data"]["a"] = "2"
    updated = await client.update(CM, "default", got)
    assert updated["data"] == {"a": "2"}
    # The stale resourceVersion is a precondition: 409 Conflict.
    with pytest.raises(ApiStatusError) as stale:
        await client.update(CM, "default", got)
    assert stale.value.conflict and stale.value.code == 409
    with pytest.raises(ApiStatusError) as dup:
        await client.create(CM, "default", {"metadata": {"name": "c1"}})
    assert dup.value.already_exists
    await client.delete(CM, "default", "c1", options={"propagationPolicy": "Background"})
    with pytest.raises(ApiStatusError) as gone:
        await client.get(CM, "default", "c1")
    assert gone.value.not_found
    assert gone.value.status["reason"] == "NotFound"


async def test_the_four_patch_types(client: ApiClient) -> None:
    await client.create(CM, "default", {"metadata": {"name": "p", "labels": {"a": "1"}}, "data": {"k": "v"}})
    merged = await client.patch(CM, "default", "p", {"metadata": {"labels": {"b": "2"}}})
    assert merged["metadata"]["labels"] == {"a": "1", "b": "2"}
    smp = await client.patch(CM, "default", "p", {"data": {"k2": "v2"}}, patch_type="strategic")
    assert smp["data"] == {"k": "v", "k2": "v2"}
    jp = await client.patch(CM, "default", "p", [{"op": "remove", "path": "/data/k"}], patch_type="json")
    assert jp["data"] == {"k2": "v2"}
    applied = await client.patch(
        CM,
        "default",
        "p",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"owned": "yes"}},
        patch_type="apply",
    )
    assert applied["data"]["owned"] == "yes"
    managers = {m["manager"] for m in applied["metadata"]["managedFields"]}
    assert "ferry-test" in managers  # the field manager derived from the user agent
    with pytest.raises(ValueError):
        await client.patch(CM, "default", "p", {}, patch_type="xml")


async def test_invalid_object_raises_the_decoded_422(client: ApiClient) -> None:
    with pytest.raises(ApiStatusError) as err:
        await client.create(CM, "default", {"metadata": {"name": "Not_Valid"}})
    assert err.value.code == 422
    assert err.value.reason == "Invalid"
    assert err.value.status["details"]["causes"][0]["field"] == "metadata.name"


async def test_wrong_token_is_a_401_status(cluster: Cluster) -> None:
    s = cluster.ctx.settings
    bad = ApiClient(s.server_url, "nope", ca_file=s.ca_file)
    try:
        with pytest.raises(ApiStatusError) as err:
            await bad.get(CM, "default", "x")
        assert err.value.code == 401
    finally:
        await bad.close()


async def test_list_with_selectors_fills_kind_and_returns_the_resource_version(client: ApiClient) -> None:
    for name, tier in [("a", "web"), ("b", "db"), ("c", "web")]:
        await client.create(CM, "default", {"metadata": {"name": name, "labels": {"tier": tier}}})
    items, rv = await client.list(CM, "default", label_selector="tier=web")
    assert [i["metadata"]["name"] for i in items] == ["a", "c"]
    assert all(i["kind"] == "ConfigMap" and i["apiVersion"] == "v1" for i in items)
    assert int(rv) >= max(int(i["metadata"]["resourceVersion"]) for i in items)
    only_b, _ = await client.list(CM, "default", field_selector="metadata.name=b")
    assert [i["metadata"]["name"] for i in only_b] == ["b"]


async def test_watch_streams_changes_and_large_objects(client: ApiClient) -> None:
    _, rv = await client.list(CM, "default")
    big = "x" * 300_000  # beyond aiohttp's default line limit

    async def writer() -> None:
        await client.create(CM, "default", {"metadata": {"name": "w"}, "data": {"big": big}})
        await client.patch(CM, "default", "w", {"data": {"more": "1"}})
        await client.delete(CM, "default", "w")

    seen: list[tuple[str, str]] = []
    task = asyncio.create_task(writer())
    stream = client.watch(CM, "default", rv, timeout_seconds=5)
    async for type_, obj in stream:
        seen.append((type_, obj["metadata"]["name"]))
        if type_ == "DELETED":
            break
    await stream.aclose()
    await task
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


async def test_watch_of_a_compacted_revision_yields_the_410(cluster: Cluster, client: ApiClient) -> None:
    await client.create(CM, "default", {"metadata": {"name": "old"}})
    await cluster.ctx.store.compact(up_to_rev=cluster.ctx.store.revision)
    events = [e async for e in client.watch(CM, "default", "1", timeout_seconds=2)]
    assert len(events) == 1
    type_, status = events[0]
    assert type_ == "ERROR" and status["code"] == 410 and status["reason"] == "Expired"
