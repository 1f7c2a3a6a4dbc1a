"""Store CRUD: exact stored bytes, preconditions and their errors, revision numbering."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ferry.cluster.store import (
    Entry,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    Store,
    StoreClosed,
    StoreError,
)

KEY = "/core/configmaps/default/a"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(tmp_path / "store.db", compaction_interval_seconds=0)
    await s.open()
    yield s
    await s.close()


def stored(store: Store, key: str) -> Entry:
    entry = store.get(key)
    assert entry is not None
    return entry


def cm(name: str = "a", **data: str) -> dict[str, Any]:
    return {"kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


async def test_create_stamps_revision_into_compact_json(store: Store) -> None:
    entry = await store.create(KEY, cm(k="v"))
    assert entry == Entry(
        KEY, 1, b'{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"1"},"data":{"k":"v"}}'
    )
    assert store.get(KEY) == entry
    assert store.revision == 1


async def test_create_overwrites_a_client_resource_version_in_place(store: Store) -> None:
    obj = {"metadata": {"resourceVersion": "999", "name": "a"}, "kind": "ConfigMap"}
    entry = await store.create(KEY, obj)
    assert entry.raw == b'{"metadata":{"resourceVersion":"1","name":"a"},"kind":"ConfigMap"}'


async def test_create_without_metadata_adds_it(store: Store) -> None:
    entry = await store.create(KEY, {"kind": "ConfigMap"})
    assert entry.obj() == {"kind": "ConfigMap", "metadata": {"resourceVersion": "1"}}


async def test_callers_dict_is_not_mutated(store: Store) -> None:
    obj = cm(k="v")
    metadata = obj["metadata"]
    await store.create(KEY, obj)
    assert obj == cm(k="v")
    assert obj["metadata"] is metadata
    assert "resourceVersion" not in metadata


async def test_object_is_snapshotted_when_the_call_starts(store: Store) -> None:
    obj = cm(k="before")
    task = asyncio.create_task(store.create(KEY, obj))
    await asyncio.sleep(0)  # the coroutine runs up to its first suspension: the object is encoded
    obj["data"]["k"] = "after"
    entry = await task
    assert entry.obj()["data"] == {"k": "before"}


async def test_obj_returns_a_fresh_dict_each_time(store: Store) -> None:
    entry = await store.create(KEY, cm(k="v"))
    first = entry.obj()
    first["data"]["k"] = "changed"
    assert entry.obj()["data"] == {"k": "v"}


async def test_create_existing_key_raises_key_exists_and_takes_no_revision(store: Store) -> None:
    await store.create(KEY, cm())
    with pytest.raises(KeyExists) as info:
        await store.create(KEY, cm(k="other"))
    assert info.value.key == KEY
    assert str(info.value) == "key '/core/configmaps/default/a' already exists"
    assert store.revision == 1
    assert stored(store, KEY).obj()["data"] == {}


async def test_update_replaces_the_object(store: Store) -> None:
    await store.create(KEY, cm(k="1"))
    entry = await store.update(KEY, cm(k="2"))
    assert entry.rev == 2
    assert entry.obj() == {
        "kind": "ConfigMap",
        "metadata": {"name": "a", "resourceVersion": "2"},
        "data": {"k": "2"},
    }
    assert store.get(KEY) == entry


async def test_update_missing_key_raises_key_not_found(store: Store) -> None:
    with pytest.raises(KeyNotFound) as info:
        await store.update(KEY, cm())
    assert info.value.key == KEY
    assert str(info.value) == "key '/core/configmaps/default/a' not found"
    assert store.revision == 0


async def test_update_with_matching_expected_rev_succeeds(store: Store) -> None:
    created = await store.create(KEY, cm(k="1"))
    entry = await store.update(KEY, cm(k="2"), expected_rev=created.rev)
    assert entry.rev == 2


async def test_update_with_stale_expected_rev_raises_conflict(store: Store) -> None:
    await store.create(KEY, cm(k="1"))
    await store.update(KEY, cm(k="2"))
    with pytest.raises(RevisionConflict) as info:
        await store.update(KEY, cm(k="3"), expected_rev=1)
    err = info.value
    assert (err.key, err.expected, err.actual) == (KEY, 1, 2)
    assert str(err) == "key '/core/configmaps/default/a' is at revision 2, not the expected 1"
    assert stored(store, KEY).obj()["data"] == {"k": "2"}
    assert store.revision == 2


async def test_delete_returns_last_state_stamped_with_the_delete_revision(store: Store) -> None:
    await store.create(KEY, cm(k="v"))
    deleted = await store.delete(KEY)
    assert deleted == Entry(
        KEY, 2, b'{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"2"},"data":{"k":"v"}}'
    )
    assert store.get(KEY) is None
    assert store.revision == 2


async def test_delete_with_last_state_uses_it(store: Store) -> None:
    await store.create(KEY, cm(k="v"))
    last = cm(k="v")
    last["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    deleted = await store.delete(KEY, last_state=last)
    assert json.loads(deleted.raw)["metadata"] == {
        "name": "a",
        "deletionTimestamp": "2026-01-01T00:00:00Z",
        "resourceVersion": "2",
    }
    assert "resourceVersion" not in last["metadata"]


async def test_delete_preconditions(store: Store) -> None:
    with pytest.raises(KeyNotFound):
        await store.delete(KEY)
    await store.create(KEY, cm())
    with pytest.raises(RevisionConflict) as info:
        await store.delete(KEY, expected_rev=7)
    assert (info.value.expected, info.value.actual) == (7, 1)
    deleted = await store.delete(KEY, expected_rev=1)
    assert deleted.rev == 2
    with pytest.raises(KeyNotFound):
        await store.delete(KEY)


async def test_create_after_delete_gets_a_new_revision(store: Store) -> None:
    await store.create(KEY, cm())
    await store.delete(KEY)
    again = await store.create(KEY, cm())
    assert again.rev == 3


async def test_revisions_strictly_increase_across_kinds_of_write(store: Store) -> None:
    revs = []
    for i in range(5):
        key = f"/core/configmaps/default/c{i}"
        revs.append((await store.create(key, cm(f"c{i}"))).rev)
        revs.append((await store.update(key, cm(f"c{i}", k="x"))).rev)
        if i % 2:
            revs.append((await store.delete(key)).rev)
        with pytest.raises(KeyExists if i % 2 == 0 else KeyNotFound):
            if i % 2 == 0:
                await store.create(key, cm())
            else:
                await store.update(key, cm())
    assert revs == list(range(1, len(revs) + 1))
    assert store.revision == len(revs)


@pytest.mark.parametrize(
    "key", ["core/configmaps/ns/a", "/core/configmaps", "/core//ns/a", "/core/configmaps/a/"]
)
async def test_malformed_keys_are_rejected(store: Store, key: str) -> None:
    with pytest.raises(ValueError, match="invalid store key"):
        await store.create(key, cm())
    assert store.revision == 0


async def test_unserializable_object_raises_in_the_caller_and_writes_nothing(store: Store) -> None:
    with pytest.raises(TypeError):
        await store.create(KEY, {"metadata": {}, "bad": {1, 2}})
    with pytest.raises(TypeError, match="metadata must be a JSON object"):
        await store.create(KEY, {"metadata": "x"})
    assert store.get(KEY) is None
    assert store.revision == 0


async def test_writes_after_close_raise_store_closed(tmp_path: Path) -> None:
    s = Store(tmp_path / "s.db", compaction_interval_seconds=0)
    await s.open()
    await s.close()
    with pytest.raises(StoreClosed, match="the store is closed"):
        await s.create(KEY, cm())
    assert issubclass(StoreClosed, StoreError)


async def test_store_works_as_async_context_manager(tmp_path: Path) -> None:
    async with Store(tmp_path / "s.db", compaction_interval_seconds=0) as s:
        entry = await s.create(KEY, cm())
    assert entry.rev == 1
    with pytest.raises(StoreClosed):
        await s.update(KEY, cm())
