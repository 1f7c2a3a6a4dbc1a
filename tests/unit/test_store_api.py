"""The public surface of ``ferry.cluster.store``: a curated ``__all__`` that really exports."""

from __future__ import annotations

import ferry.cluster.store as store_pkg


def test_all_is_the_curated_public_api() -> None:
    assert store_pkg.__all__ == [
        "Compacted",
        "Entry",
        "Event",
        "EventType",
        "KeyExists",
        "KeyNotFound",
        "RevisionConflict",
        "Store",
        "StoreClosed",
        "StoreError",
        "Watcher",
    ]
    for name in store_pkg.__all__:
        assert getattr(store_pkg, name) is not None


def test_error_tree() -> None:
    errors = [store_pkg.KeyExists, store_pkg.KeyNotFound, store_pkg.RevisionConflict]
    errors += [store_pkg.Compacted, store_pkg.StoreClosed]
    assert all(issubclass(e, store_pkg.StoreError) for e in errors)
    assert issubclass(store_pkg.StoreError, Exception)
