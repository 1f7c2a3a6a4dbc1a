"""Group commit: many writes per transaction, per-op outcomes, storage failures."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import ferry.cluster.store.sqlite as sqlite_module
from ferry.cluster.store import (
    Entry,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    Store,
    StoreClosed,
    StoreError,
)

NS = "/core/configmaps/default/"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(tmp_path / "store.db", compaction_interval_seconds=0)
    await s.open()
    yield s
    await s.close()


def paused(store: Store) -> contextlib.AbstractContextManager[None]:
    assert store._writer is not None
    return store._writer.paused()


async def test_200_concurrent_creates_share_transactions(store: Store) -> None:
    acks: list[Entry] = []

    async def create(i: int) -> None:
        acks.append(await store.create(NS + f"k{i:03}", {"i": i}))

    await asyncio.gather(*(create(i) for i in range(200)))
    assert len(acks) == 200
    assert sorted(e.rev for e in acks) == list(range(1, 201))
    assert sorted(e.key for e in acks) == [NS + f"k{i:03}" for i in range(200)]
    assert all(store.get(e.key) == e for e in acks)
    assert store.writes == 200
    assert 1 <= store.transactions < 200
    events = await store.watch(NS, after_rev=0).next_batch(timeout=0)
    assert [e.rev for e in events] == list(range(1, 201))


async def test_failed_preconditions_in_a_batch_only_fail_their_own_op(store: Store) -> None:
    await store.create(NS + "x", {})
    tx = store.transactions
    with paused(store):
        batch = asyncio.gather(
            *(store.create(NS + "dup", {"n": n}) for n in range(10)),
            store.update(NS + "missing", {}),
            store.update(NS + "x", {}, expected_rev=99),
            store.update(NS + "x", {"ok": True}, expected_rev=1),
            return_exceptions=True,
        )
        await asyncio.sleep(0)  # every op is queued; the writer waits at the gate
    results = await batch
    created = [r for r in results[:10] if isinstance(r, Entry)]
    assert len(created) == 1 and created[0].obj()["n"] == 0  # queue order is call order
    assert all(isinstance(r, KeyExists) for r in results[1:10])
    assert isinstance(results[10], KeyNotFound)
    assert isinstance(results[11], RevisionConflict)
    assert isinstance(results[12], Entry) and results[12].rev == 3
    assert store.revision == 3  # failed ops took no revision: no holes
    assert store.transactions == tx + 1


async def test_ops_on_one_key_in_one_batch_see_each_other(store: Store) -> None:
    key = NS + "k"
    with paused(store):
        batch = asyncio.gather(
            store.create(key, {"v": 1}),
            store.update(key, {"v": 2}, expected_rev=1),
            store.delete(key, expected_rev=2),
            store.create(key, {"v": 4}),
        )
        await asyncio.sleep(0)
    created, updated, deleted, recreated = await batch
    assert [created.rev, updated.rev, deleted.rev, recreated.rev] == [1, 2, 3, 4]
    assert store.transactions == 1
    assert store.get(key) == recreated
    events = await store.watch(NS, after_rev=0).next_batch(timeout=0)
    assert [e.type for e in events] == ["ADDED", "MODIFIED", "DELETED", "ADDED"]


async def test_a_batch_of_only_failures_writes_no_transaction(store: Store) -> None:
    with pytest.raises(KeyNotFound):
        await store.delete(NS + "nope")
    assert (store.transactions, store.writes, store.revision) == (0, 0, 0)


def failing_write(code: int) -> Any:
    def write_batch(conn: sqlite3.Connection, rows: sqlite_module.BatchRows) -> None:
        exc = sqlite3.OperationalError("database or disk is full" if code == 13 else "disk I/O error")
        exc.sqlite_errorcode = code
        raise exc

    return write_batch


async def test_disk_full_fails_the_batch_and_the_store_recovers(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.create(NS + "a", {})
    monkeypatch.setattr(sqlite_module, "write_batch", failing_write(13))
    results = await asyncio.gather(
        store.update(NS + "a", {"v": 2}), store.create(NS + "a", {}), return_exceptions=True
    )
    assert isinstance(results[0], StoreError)
    assert str(results[0]) == "write failed: database or disk is full"
    assert isinstance(results[1], KeyExists)  # its own precondition error is kept
    assert store.revision == 1
    assert store.get(NS + "a") == Entry(NS + "a", 1, b'{"metadata":{"resourceVersion":"1"}}')
    monkeypatch.undo()
    assert (await store.update(NS + "a", {"v": 3})).rev == 2


async def test_io_error_stops_the_writer_until_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    async with Store(path, compaction_interval_seconds=0) as s:
        await s.create(NS + "a", {})
        monkeypatch.setattr(sqlite_module, "write_batch", failing_write(10))
        with pytest.raises(StoreError, match="write failed: disk I/O error"):
            await s.create(NS + "b", {})
        monkeypatch.undo()
        with pytest.raises(
            StoreClosed, match=r"stopped after a storage error \(disk I/O error\); restart it"
        ):
            await s.create(NS + "c", {})
    async with Store(path, compaction_interval_seconds=0) as s:
        assert [e.key for e in s.list(NS)[0]] == [NS + "a"]
        assert (await s.create(NS + "c", {})).rev == 2
