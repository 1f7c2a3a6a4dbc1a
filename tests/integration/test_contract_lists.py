"""Lists: paging, selectors, deletecollection; pods: binding and graceful deletion; bookmarks."""

from __future__ import annotations

import asyncio

from tests.integration.conftest import Api, Cluster

CM = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, **labels: str) -> dict:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
    }


async def test_limit_and_continue_walk_every_object_once(api: Api) -> None:
    for i in range(7):
        assert (await api.post(CM, {"metadata": {"name": f"page{i}"}})).status == 201
    seen: list[str] = []
    first = await api.get(f"{CM}?limit=3")
    assert len(first.body["items"]) == 3
    assert first.body["metadata"]["remainingItemCount"] == 4
    rv = first.body["metadata"]["resourceVersion"]
    page = first
    while True:
        seen += [i["metadata"]["name"] for i in page.body["items"]]
        assert page.body["metadata"]["resourceVersion"] == rv
        token = page.body["metadata"].get("continue")
        if not token:
            break
        page = await api.get(f"{CM}?limit=3&continue={token}")
    assert seen == sorted(f"page{i}" for i in range(7))
    bad = await api.get(f"{CM}?limit=3&continue=not-a-token")
    assert bad.status == 400


async def test_label_and_field_selectors(api: Api) -> None:
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        await api.post(PODS, pod(name, tier=tier))
    names = lambda r: [i["metadata"]["name"] for i in r.body["items"]]  # noqa: E731
    assert names(await api.get(f"{PODS}?labelSelector=tier%3Dweb")) == ["a", "c"]
    assert names(await api.get(f"{PODS}?labelSelector=tier%20notin%20(web)")) == ["b"]
    assert names(await api.get(f"{PODS}?labelSelector=!tier")) == []
    assert names(await api.get(f"{PODS}?fieldSelector=metadata.name%3Db")) == ["b"]
    assert names(await api.get(f"{PODS}?fieldSelector=status.phase%3DPending,metadata.name!%3Da")) == [
        "b",
        "c",
    ]
    everywhere = await api.get("/api/v1/pods?fieldSelector=metadata.namespace%3Ddefault")
    assert names(everywhere) == ["a", "b", "c"]
    unsupported = await api.get(f"{PODS}?fieldSelector=spec.bogus%3Dx")
    assert unsupported.status == 400
    assert unsupported.body["message"] == "field label not supported: spec.bogus"
    bad_labels = await api.get(f"{PODS}?labelSelector=tier%20in%20web")
    assert bad_labels.status == 400


async def test_deletecollection_with_a_selector(api: Api) -> None:
    for name, tier in (("x1", "web"), ("x2", "db"), ("x3", "web")):
        await api.post(CM, {"metadata": {"name": name, "labels": {"tier": tier}}})
    resp = await api.delete(f"{CM}?labelSelector=tier%3Dweb")
    assert resp.status == 200
    assert sorted(i["metadata"]["name"] for i in resp.body["items"]) == ["x1", "x3"]
    left = [i["metadata"]["name"] for i in (await api.get(CM)).body["items"]]
    assert "x2" in left and "x1" not in left and "x3" not in left


async def test_bound_pod_deletion_is_graceful(api: Api) -> None:
    await api.post(PODS, pod("g"))
    bind = await api.post(
        f"{PODS}/g/binding",
        {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": "g"},
            "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"},
        },
    )
    assert bind.status == 201
    bound = (await api.get(f"{PODS}/g")).body
    assert bound["spec"]["nodeName"] == "node-1"
    assert any(c["type"] == "PodScheduled" and c["status"] == "True" for c in bound["status"]["conditions"])
    again = await api.post(f"{PODS}/g/binding", {"target": {"name": "node-2"}})
    assert again.status == 409
    first = await api.delete(f"{PODS}/g", {"gracePeriodSeconds": 30})
    assert first.status == 200
    assert first.body["metadata"]["deletionGracePeriodSeconds"] == 30
    # a later delete may only shorten the grace period
    longer = await api.delete(f"{PODS}/g", {"gracePeriodSeconds": 60})
    assert longer.body["metadata"]["deletionGracePeriodSeconds"] == 30
    shorter = await api.delete(f"{PODS}/g", {"gracePeriodSeconds": 5})
    assert shorter.body["metadata"]["deletionGracePeriodSeconds"] == 5
    assert (await api.get(f"{PODS}/g")).status == 200  # the kubelet would finish it
    now = await api.delete(f"{PODS}/g", {"gracePeriodSeconds": 0})
    assert now.status == 200
    assert (await api.get(f"{PODS}/g")).status == 404


async def test_idle_watch_sends_bookmarks(cluster: Cluster) -> None:
    cluster.ctx.settings.watch_bookmark_interval_seconds = 0.2
    api = cluster.api
    rv = (await api.get(CM)).body["metadata"]["resourceVersion"]
    events = await api.watch(
        f"{CM}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}", max_events=2, timeout=3
    )
    assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"]
    assert events[0]["object"] == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": rv},
    }
    without = await api.watch(
        f"{CM}?watch=true&resourceVersion={rv}&timeoutSeconds=1", max_events=5, timeout=3
    )
    assert without == []


async def test_concurrent_patches_all_land(api: Api) -> None:
    await api.post(CM, {"metadata": {"name": "race"}, "data": {}})
    results = await asyncio.gather(*[api.patch(f"{CM}/race", {"data": {f"k{i}": str(i)}}) for i in range(20)])
    assert [r.status for r in results] == [200] * 20
    data = (await api.get(f"{CM}/race")).body["data"]
    assert data == {f"k{i}": str(i) for i in range(20)}
