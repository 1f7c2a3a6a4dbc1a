"""Watching: ordered, unique, resumable, prefix-filtered; snapshot_and_watch is atomic."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.cluster.store import Event, KeyExists, KeyNotFound, Store, StoreClosed, Watcher

NS = "/core/configmaps/default/"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(tmp_path / "store.db", compaction_interval_seconds=0)
    await s.open()
    yield s
    await s.close()


async def drain(watcher: Watcher, until_rev: int) -> list[Event]:
    """Every event the watcher delivers until its cursor reaches ``until_rev``."""
    events: list[Event] = []
    while watcher.cursor < until_rev:
        events.extend(await watcher.next_batch(timeout=1.0))
    return events


async def history(store: Store) -> None:
    """rev 1 ADDED a, 2 ADDED b, 3 MODIFIED a, 4 DELETED b, 5 ADDED other-ns c."""
    await store.create(NS + "a", {"metadata": {"name": "a"}})
    await store.create(NS + "b", {"metadata": {"name": "b"}})
    await store.update(NS + "a", {"metadata": {"name": "a"}, "data": {"x": "1"}})
    await store.delete(NS + "b")
    await store.create("/core/configmaps/prod/c", {"metadata": {"name": "c"}})


async def test_watch_from_zero_replays_every_event_in_order(store: Store) -> None:
    await history(store)
    events = await store.watch("/core/configmaps/", after_rev=0).next_batch(timeout=0)
    assert [(e.rev, e.type, e.key) for e in events] == [
        (1, "ADDED", NS + "a"),
        (2, "ADDED", NS + "b"),
        (3, "MODIFIED", NS + "a"),
        (4, "DELETED", NS + "b"),
        (5, "ADDED", "/core/configmaps/prod/c"),
    ]
    assert events[0].prev_raw is None
    assert events[2].raw == b'{"metadata":{"name":"a","resourceVersion":"3"},"data":{"x":"1"}}'
    assert events[2].prev_raw == b'{"metadata":{"name":"a","resourceVersion":"1"}}'
    assert events[3].raw == b'{"metadata":{"name":"b","resourceVersion":"4"}}'
    assert events[3].prev_raw == b'{"metadata":{"name":"b","resourceVersion":"2"}}'
    assert events[2].prev_obj() == {"metadata": {"name": "a", "resourceVersion": "1"}}


async def test_watch_resumes_from_every_revision(store: Store) -> None:
    await history(store)
    for after in range(0, 6):
        watcher = store.watch("/core/configmaps/", after_rev=after)
        events = await watcher.next_batch(timeout=0)
        assert [e.rev for e in events] == list(range(after + 1, 6))
        assert watcher.cursor == 5


async def test_watch_filters_by_namespace_prefix(store: Store) -> None:
    await history(store)
    events = await store.watch(NS, after_rev=0).next_batch(timeout=0)
    assert [e.rev for e in events] == [1, 2, 3, 4]
    assert await store.watch("/apps/deployments/", after_rev=0).next_batch(timeout=0) == []


async def test_cursor_moves_past_unrelated_events(store: Store) -> None:
    watcher = store.watch("/apps/deployments/", after_rev=0)
    await history(store)
    assert await watcher.next_batch(timeout=0) == []
    assert watcher.cursor == 5


async def test_next_batch_waits_then_returns_all_pending_at_once(store: Store) -> None:
    watcher = store.watch(NS, after_rev=0)
    waiting = asyncio.create_task(watcher.next_batch())
    await asyncio.sleep(0)
    assert not waiting.done()
    await asyncio.gather(*(store.create(NS + f"k{i}", {}) for i in range(20)))
    first = await waiting
    rest = await drain(watcher, 20)
    revs = [e.rev for e in first + rest]
    assert revs == list(range(1, 21))
    assert len(first) > 1  # group commit: one wake-up delivers a whole batch


async def test_timeout_returns_empty_list(store: Store) -> None:
    watcher = store.watch(NS, after_rev=0)
    assert await watcher.next_batch(timeout=0.01) == []
    assert await watcher.next_batch(timeout=0) == []


async def test_close_wakes_a_parked_watcher(store: Store) -> None:
    watcher = store.watch(NS, after_rev=0)
    waiting = asyncio.create_task(watcher.next_batch())
    await asyncio.sleep(0)
    watcher.close()
    assert await waiting == []
    await store.create(NS + "a", {})
    assert await watcher.next_batch() == []


async def test_cancelling_one_watch_does_not_disturb_another(store: Store) -> None:
    w1, w2 = store.watch(NS, after_rev=0), store.watch(NS, after_rev=0)
    t1 = asyncio.create_task(w1.next_batch())
    t2 = asyncio.create_task(w2.next_batch())
    await asyncio.sleep(0)
    t1.cancel()
    await store.create(NS + "a", {})
    assert [e.rev for e in await t2] == [1]
    assert t1.cancelled()


async def test_closing_the_store_ends_watches(tmp_path: Path) -> None:
    s = Store(tmp_path / "s.db", compaction_interval_seconds=0)
    await s.open()
    watcher = s.watch(NS, after_rev=0)
    waiting = asyncio.create_task(watcher.next_batch())
    await asyncio.sleep(0)
    await s.close()
    with pytest.raises(StoreClosed):
        await waiting
    with pytest.raises(StoreClosed):
        s.watch(NS, after_rev=0)


async def test_watch_from_the_future_waits_for_that_revision(store: Store) -> None:
    watcher = store.watch(NS, after_rev=2)
    for i in range(3):
        await store.create(NS + f"k{i}", {})
    assert [e.rev for e in await watcher.next_batch(timeout=0)] == [3]


async def test_many_watchers_each_see_a_burst_once_and_in_order(store: Store) -> None:
    watchers = [store.watch(NS, after_rev=0) for _ in range(200)]
    received: list[list[int]] = [[] for _ in watchers]

    async def consume(i: int) -> None:
        while len(received[i]) < 100:
            received[i].extend(e.rev for e in await watchers[i].next_batch(timeout=2.0))

    consumers = [asyncio.create_task(consume(i)) for i in range(len(watchers))]
    await asyncio.gather(*(store.create(NS + f"k{i:03}", {}) for i in range(100)))
    await asyncio.wait_for(asyncio.gather(*consumers), timeout=5)
    assert all(revs == list(range(1, 101)) for revs in received)


async def test_snapshot_and_watch_is_atomic_under_concurrent_writes(store: Store) -> None:
    rng = random.Random(7)
    snapshots: list[tuple[dict[str, bytes], int, Watcher]] = []

    async def writer(w: int) -> None:
        for i in range(40):
            key = NS + f"k{rng.randrange(12)}"
            try:
                if store.get(key) is None:
                    await store.create(key, {"w": w, "i": i})
                elif rng.random() < 0.3:
                    await store.delete(key)
                else:
                    await store.update(key, {"w": w, "i": i})
            except (KeyExists, KeyNotFound):  # racing writers: lost races are expected
                pass

    async def snapshotter(writers: asyncio.Future[list[None]]) -> None:
        while not writers.done():
            if not snapshots or snapshots[-1][1] != store.revision:
                entries, rev, watcher = store.snapshot_and_watch(NS)
                assert all(e.rev <= rev for e in entries)
                snapshots.append(({e.key: e.raw for e in entries}, rev, watcher))
            await asyncio.sleep(0)

    writers = asyncio.gather(*(writer(w) for w in range(6)))
    await asyncio.gather(writers, snapshotter(writers))
    final = {e.key: e.raw for e in store.list(NS)[0]}
    assert len(snapshots) > 20  # snapshots really interleaved with writes
    for state, rev, watcher in snapshots:
        events = await drain(watcher, store.revision)
        assert [e.rev for e in events] == sorted({e.rev for e in events})
        assert all(e.rev > rev for e in events)
        for event in events:
            if event.type == "ADDED":
                assert event.key not in state
                state[event.key] = event.raw
            elif event.type == "MODIFIED":
                assert state[event.key] == event.prev_raw
                state[event.key] = event.raw
            else:
                assert state.pop(event.key) == event.prev_raw
        assert state == final
