"""Listing: prefix scans in key order, paging with ``start_after``/``limit``, ``count``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.store import Store
from ferry.cluster.store.records import Entry
from ferry.cluster.store.view import View

KEYS = [
    "/apps/deployments/default/web",
    "/apps/deployments/default/api",
    "/apps/deployments/prod/web",
    "/apps/replicasets/default/web-1",
    "/core/namespaces/default",
    "/core/namespaces/prod",
    "/core/pods/default/a",
    "/core/pods/default/b",
    "/core/pods/default0/x",
    "/core/pods/prod/a",
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(tmp_path / "store.db", compaction_interval_seconds=0)
    await s.open()
    for key in KEYS:
        await s.create(key, {"metadata": {"name": key.rsplit("/", 1)[1]}})
    yield s
    await s.close()


def keys(entries: list[Entry]) -> list[str]:
    return [e.key for e in entries]


async def test_list_resource_prefix_sorted_by_key(store: Store) -> None:
    entries, cont = store.list("/apps/deployments/")
    assert keys(entries) == [
        "/apps/deployments/default/api",
        "/apps/deployments/default/web",
        "/apps/deployments/prod/web",
    ]
    assert cont is None
    assert entries[0].raw == b'{"metadata":{"name":"api","resourceVersion":"2"}}'


async def test_list_namespace_prefix_excludes_lookalike_namespaces(store: Store) -> None:
    entries, _ = store.list("/core/pods/default/")
    assert keys(entries) == ["/core/pods/default/a", "/core/pods/default/b"]
    assert store.count("/core/pods/default/") == 2
    assert store.count("/core/pods/default0/") == 1


async def test_cluster_scoped_and_cross_resource_prefixes(store: Store) -> None:
    assert keys(store.list("/core/namespaces/")[0]) == ["/core/namespaces/default", "/core/namespaces/prod"]
    assert keys(store.list("/apps/")[0]) == sorted(k for k in KEYS if k.startswith("/apps/"))
    assert keys(store.list("/")[0]) == sorted(KEYS)
    assert store.count("/") == len(KEYS)
    assert store.count("/apps/") == 4
    assert store.list("/batch/jobs/") == ([], None)
    assert store.count("/batch/jobs/") == 0


async def test_paging_returns_continue_key_until_the_last_page(store: Store) -> None:
    page1, cont1 = store.list("/core/", limit=3)
    assert keys(page1) == ["/core/namespaces/default", "/core/namespaces/prod", "/core/pods/default/a"]
    assert cont1 == "/core/pods/default/a"
    page2, cont2 = store.list("/core/", start_after=cont1, limit=3)
    assert keys(page2) == ["/core/pods/default/b", "/core/pods/default0/x", "/core/pods/prod/a"]
    assert cont2 is None  # exactly the last three: no empty trailing page


async def test_limit_equal_to_the_size_has_no_continue(store: Store) -> None:
    entries, cont = store.list("/apps/deployments/", limit=3)
    assert len(entries) == 3 and cont is None
    entries, cont = store.list("/apps/deployments/", limit=2)
    assert cont == "/apps/deployments/default/web"


async def test_deleted_keys_leave_the_index(store: Store) -> None:
    await store.delete("/apps/replicasets/default/web-1")
    assert store.list("/apps/replicasets/") == ([], None)
    assert keys(store.list("/apps/")[0]) == sorted(k for k in KEYS if k.startswith("/apps/deployments/"))
    await store.update("/core/pods/prod/a", {"metadata": {}})
    assert store.count("/core/pods/") == 4


async def test_invalid_prefix_and_limit_are_rejected(store: Store) -> None:
    with pytest.raises(ValueError, match="must start and end with '/'"):
        store.list("/core/pods")
    with pytest.raises(ValueError, match="limit must be positive"):
        store.list("/core/pods/", limit=0)


# "-" and "0" sort just before and just after "/": the edge cases of prefix ranges.
segment = st.text(alphabet="ab-0", min_size=1, max_size=3)
key_strategy = st.builds(
    lambda g, r, n, m: f"/{g}/{r}/{n}/{m}", segment, segment, segment, segment
) | st.builds(lambda g, r, n: f"/{g}/{r}/{n}", segment, segment, segment)


@settings(max_examples=200, deadline=None)
@given(
    present=st.sets(key_strategy, max_size=40),
    removed=st.sets(key_strategy, max_size=10),
    prefix_of=st.integers(0, 100),
    depth=st.integers(1, 4),
    limit=st.integers(1, 7),
)
def test_view_scans_match_a_sorted_filter_model(
    present: set[str], removed: set[str], prefix_of: int, depth: int, limit: int
) -> None:
    view = View()
    for key in sorted(present | removed, reverse=True):
        view.put(Entry(key, 1, b"{}"))
    for key in removed:
        view.pop(key)
    model = sorted(present - removed)
    basis = model[prefix_of % len(model)] if model else "/g/r/n"
    prefix = "/".join(basis.split("/")[:depth]) + "/"
    expected = [k for k in model if k.startswith(prefix)]

    assert keys(view.list(prefix)[0]) == expected
    assert view.count(prefix) == len(expected)
    pages: list[str] = []
    cont: str | None = None
    while True:
        page, cont = view.list(prefix, start_after=cont, limit=limit)
        pages.extend(keys(page))
        assert len(page) <= limit
        if cont is None:
            break
        assert cont == page[-1].key
    assert pages == expected
