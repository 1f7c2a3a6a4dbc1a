"""Contract: watch order, uniqueness, resume, initial events, selectors, 410 Expired."""

from __future__ import annotations

import asyncio
import json

from tests.integration.conftest import Api, Cluster

CM = "/api/v1/namespaces/default/configmaps"


async def _make(api: Api, n: int, prefix: str = "w") -> list[int]:
    revs = []
    for i in range(n):
        r = await api.post(CM, {"metadata": {"name": f"{prefix}{i}", "labels": {"i": str(i % 2)}}})
        assert r.status == 201
        revs.append(int(r.body["metadata"]["resourceVersion"]))
    return revs


async def test_events_are_ordered_unique_and_resumable_from_any_revision(api: Api) -> None:
    start = int((await api.get(CM)).body["metadata"]["resourceVersion"])
    revs = await _make(api, 10)
    for i, rv in enumerate([start, *revs[:-1]]):
        events = await api.watch(f"{CM}?watch=true&resourceVersion={rv}", max_events=10 - i, timeout=3)
        got = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert got == revs[i:], (rv, got)
        assert all(e["type"] == "ADDED" for e in events)


async def test_watch_from_zero_sends_current_state_then_changes(api: Api) -> None:
    await _make(api, 3)
    task = asyncio.create_task(api.watch(f"{CM}?watch=true", max_events=4, timeout=5))
    await asyncio.sleep(0.3)
    await api.patch(f"{CM}/w1", {"data": {"k": "v"}})
    events = await task
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "ADDED", "MODIFIED"]
    assert events[-1]["object"]["data"] == {"k": "v"}


async def test_send_initial_events_ends_with_the_annotated_bookmark(api: Api) -> None:
    await _make(api, 2)
    q = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    events = await api.watch(f"{CM}?{q}", max_events=3, timeout=3)
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    bookmark = events[-1]["object"]
    assert bookmark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(
        events[1]["object"]["metadata"]["resourceVersion"]
    )
    bad = await api.get(f"{CM}?watch=true&sendInitialEvents=true")
    assert bad.status == 422


async def test_label_selector_transitions(api: Api) -> None:
    await api.post(CM, {"metadata": {"name": "sel", "labels": {"tier": "web"}}})
    rv = (await api.get(CM)).body["metadata"]["resourceVersion"]
    task = asyncio.create_task(
        api.watch(f"{CM}?watch=true&labelSelector=tier%3Dweb&resourceVersion={rv}", max_events=2, timeout=5)
    )
    await asyncio.sleep(0.2)
    await api.patch(f"{CM}/sel", {"metadata": {"labels": {"tier": "db"}}})
    await api.patch(f"{CM}/sel", {"metadata": {"labels": {"tier": "web"}}})
    events = await task
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]


async def test_timeout_seconds_ends_the_stream(api: Api) -> None:
    events = await api.watch(
        f"{CM}?watch=true&timeoutSeconds=1&resourceVersion=1", max_events=1000, timeout=5
    )
    assert isinstance(events, list)  # returned because the server ended the body, well before 5 s


async def test_compacted_revision_is_410_at_watch_start(cluster: Cluster) -> None:
    api = cluster.api
    await _make(api, 3)
    old = 2
    await cluster.ctx.store.compact(up_to_rev=cluster.ctx.store.revision)
    events = await api.watch(f"{CM}?watch=true&resourceVersion={old}", max_events=5, timeout=3)
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["code"] == 410 and status["reason"] == "Expired"
    assert status["message"].startswith(f"too old resource version: {old} (")


async def test_compaction_mid_stream_sends_410_to_a_lagging_watcher(cluster: Cluster) -> None:
    api = cluster.api
    rv = (await api.get(CM)).body["metadata"]["resourceVersion"]
    headers = {"Authorization": f"Bearer {api.token}"}
    async with api.session.get(
        f"{api.server}{CM}?watch=true&resourceVersion={rv}", headers=headers, ssl=api.ssl
    ) as resp:
        # Do not read: the big events fill the socket buffers and the server-side watcher stalls behind them.
        big = "x" * 900_000
        for i in range(40):
            r = await api.post(CM, {"metadata": {"name": f"big{i}"}, "data": {"v": big}})
            assert r.status == 201
        await cluster.ctx.store.compact(up_to_rev=cluster.ctx.store.revision)
        types = []
        buffer = b""
        async for chunk in resp.content.iter_any():
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                event = json.loads(line)
                types.append(event["type"])
                if event["type"] == "ERROR":
                    assert event["object"]["code"] == 410
            if types and types[-1] == "ERROR":
                break
    assert types[-1] == "ERROR"
    assert 0 < len(types) - 1 < 40
