"""Compaction: forced and by time window, 410-style ``Compacted`` at watch start and mid-stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import ferry.cluster.store.store as store_module
from ferry.cluster.store import Compacted, Store

NS = "/core/configmaps/default/"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(tmp_path / "store.db", compaction_interval_seconds=0)
    await s.open()
    yield s
    await s.close()


async def write(store: Store, n: int) -> None:
    for _ in range(n):
        await store.create(NS + f"k{store.revision + 1}", {})


async def test_forced_compaction_and_watch_start(store: Store) -> None:
    await write(store, 8)
    assert await store.compact(up_to_rev=5) == 5
    assert store.compacted_revision == 5
    with pytest.raises(Compacted) as info:
        store.watch(NS, after_rev=2)
    assert (info.value.requested, info.value.compacted) == (2, 5)
    assert str(info.value) == "too old resource version: 2 (5)"
    events = await store.watch(NS, after_rev=5).next_batch(timeout=0)
    assert [e.rev for e in events] == [6, 7, 8]
    assert store.count(NS) == 8  # compaction drops history, never objects


async def test_compaction_never_goes_backwards_or_past_the_head(store: Store) -> None:
    await write(store, 4)
    assert await store.compact(up_to_rev=3) == 3
    assert await store.compact(up_to_rev=2) == 3
    assert await store.compact(up_to_rev=99) == 4
    assert store.compacted_revision == 4
    await write(store, 1)
    assert [e.rev for e in await store.watch(NS, after_rev=4).next_batch(timeout=0)] == [5]


async def test_lagging_watcher_gets_compacted_mid_stream(store: Store) -> None:
    watcher = store.watch(NS, after_rev=0)
    await write(store, 3)
    assert [e.rev for e in await watcher.next_batch(timeout=0)] == [1, 2, 3]
    await write(store, 3)  # the watcher has not read 4..6 yet
    await store.compact(up_to_rev=5)
    with pytest.raises(Compacted) as info:
        await watcher.next_batch(timeout=0)
    assert str(info.value) == "too old resource version: 3 (5)"


async def test_compaction_spares_a_parked_watcher_but_fails_a_stale_one(store: Store) -> None:
    await write(store, 2)
    lagging = store.watch("/apps/deployments/", after_rev=0)
    waiting = asyncio.create_task(lagging.next_batch())
    await asyncio.sleep(0)  # scans 1..2 (nothing matches), parks at cursor 2
    await write(store, 2)
    await asyncio.sleep(0)
    assert not waiting.done()
    # Cursor has moved to 4 on the wake-up, so compacting to 4 does not hurt it ...
    await store.compact(up_to_rev=4)
    assert not waiting.done()
    waiting.cancel()
    # ... but a watcher that never ran is behind and fails.
    stale = store.watch(NS, after_rev=4)
    await write(store, 1)
    await store.compact(up_to_rev=5)
    with pytest.raises(Compacted):
        await stale.next_batch()


async def test_caught_up_watcher_survives_full_compaction(store: Store) -> None:
    watcher = store.watch(NS, after_rev=0)
    await write(store, 3)
    assert len(await watcher.next_batch(timeout=0)) == 3
    await store.compact(up_to_rev=store.revision)
    await write(store, 1)
    assert [e.rev for e in await watcher.next_batch(timeout=1)] == [4]


async def test_time_window_compaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await write(store, 3)
    assert await store.compact() == 0  # everything is younger than 300 s

    class Later:
        @staticmethod
        def time() -> float:
            return time.time() + 301.0

    monkeypatch.setattr(store_module, "time", Later)
    assert await store.compact() == 3
    with pytest.raises(Compacted):
        store.watch(NS, after_rev=2)


async def test_compaction_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with Store(path, compaction_interval_seconds=0) as s:
        await write(s, 6)
        await s.compact(up_to_rev=4)
    async with Store(path, compaction_interval_seconds=0) as s:
        assert (s.compacted_revision, s.revision) == (4, 6)
        with pytest.raises(Compacted):
            s.watch(NS, after_rev=3)
        assert [e.rev for e in await s.watch(NS, after_rev=4).next_batch(timeout=0)] == [5, 6]


async def test_open_drops_events_older_than_the_window(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with Store(path, compaction_interval_seconds=0) as s:
        await write(s, 3)
    async with Store(path, compaction_window_seconds=0, compaction_interval_seconds=0) as s:
        assert s.compacted_revision == 3
        assert s.count(NS) == 3
        with pytest.raises(Compacted):
            s.watch(NS, after_rev=0)
        await write(s, 1)
        assert [e.rev for e in await s.watch(NS, after_rev=3).next_batch(timeout=0)] == [4]


async def test_periodic_compaction_runs_on_its_interval(tmp_path: Path) -> None:
    async with Store(tmp_path / "s.db", compaction_window_seconds=0, compaction_interval_seconds=0.01) as s:
        await write(s, 3)
        for _ in range(50):
            if s.compacted_revision == 3:
                break
            await asyncio.sleep(0.01)
        assert s.compacted_revision == 3
