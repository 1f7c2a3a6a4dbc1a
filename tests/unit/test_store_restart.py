"""Restart: close + reopen keeps objects, revisions, and resumable events; one process per file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import ferry.cluster.store.sqlite as sqlite_module
from ferry.cluster.store import Store, StoreError

NS = "/core/configmaps/default/"


def open_store(path: Path) -> Store:
    return Store(path, compaction_interval_seconds=0)


async def test_reopen_keeps_objects_revision_and_events(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with open_store(path) as s:
        for i in range(10):
            await s.create(NS + f"k{i}", {"i": i})
        await s.update(NS + "k3", {"i": 33}, expected_rev=4)
        await s.delete(NS + "k5")
        await s.delete(NS + "k6", last_state={"i": 6, "metadata": {"deletionTimestamp": "t"}})
        before_list = s.list("/")
        before_events = await s.watch("/", after_rev=0).next_batch(timeout=0)
        before_rev = s.revision
    async with open_store(path) as s:
        assert s.revision == before_rev == 13
        assert s.list("/") == before_list
        assert await s.watch("/", after_rev=0).next_batch(timeout=0) == before_events
        resumed = await s.watch(NS, after_rev=10).next_batch(timeout=0)
        assert [(e.rev, e.type) for e in resumed] == [(11, "MODIFIED"), (12, "DELETED"), (13, "DELETED")]
        assert resumed[2].raw == b'{"i":6,"metadata":{"deletionTimestamp":"t","resourceVersion":"13"}}'
        assert (await s.create(NS + "new", {})).rev == 14


async def test_revision_never_goes_back_even_when_history_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with open_store(path) as s:
        await s.create(NS + "a", {})
        await s.delete(NS + "a")
        await s.compact(up_to_rev=2)
    async with open_store(path) as s:
        assert (s.revision, s.compacted_revision, s.count("/")) == (2, 2, 0)
        assert (await s.create(NS + "a", {})).rev == 3


async def test_close_finishes_writes_already_queued(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    s = open_store(path)
    await s.open()
    writes = [asyncio.create_task(s.create(NS + f"k{i}", {})) for i in range(50)]
    await asyncio.sleep(0)  # all 50 are queued
    await s.close()
    assert all(w.done() for w in writes)
    assert sorted(w.result().rev for w in writes) == list(range(1, 51))
    async with open_store(path) as s:
        assert s.count(NS) == 50


async def test_a_second_store_on_the_same_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "LOCK_TIMEOUT_SECONDS", 0.05)
    path = tmp_path / "s.db"
    async with open_store(path) as s:
        other = open_store(path)
        with pytest.raises(StoreError, match="is in use by another process"):
            await other.open()
        await s.create(NS + "a", {})
    async with open_store(path) as s:
        assert s.revision == 1


async def test_open_twice_and_close_twice(tmp_path: Path) -> None:
    s = open_store(tmp_path / "s.db")
    await s.open()
    with pytest.raises(StoreError, match="already open"):
        await s.open()
    await s.close()
    await s.close()
    await s.open()  # a closed store can be reopened
    assert s.revision == 0
    await s.close()


async def test_unopenable_path_raises_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open store"):
        await open_store(tmp_path / "missing-dir" / "s.db").open()
