"""The store's exception tree.

The store speaks in keys and revisions, not in Kubernetes ``Status`` objects: the API server
maps these to ``ApiError`` (``KeyExists`` -> 409 AlreadyExists, ``KeyNotFound`` -> 404,
``RevisionConflict`` -> 409 Conflict, ``Compacted`` -> 410 Expired). Keeping the store free of
HTTP vocabulary lets controllers and tests use it directly.

Exception tree::

    StoreError                 anything the store refuses or fails to do
     ├── KeyExists             create of a key that is present
     ├── KeyNotFound           update/delete of a key that is absent
     ├── RevisionConflict      update/delete whose expected_rev is not the key's mod revision
     ├── Compacted             watch from (or lagging behind) a compacted revision -> 410
     └── StoreClosed           the store is closed (or was never opened)

Precondition errors are created on the writer thread and handed to the event loop as plain
objects (``future.set_exception``); nothing here is ever pickled.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class KeyExists(StoreError):
    """``create`` found the key already present."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} already exists")
        self.key = key


class KeyNotFound(StoreError):
    """``update`` or ``delete`` found no object at the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} not found")
        self.key = key


class RevisionConflict(StoreError):
    """The caller's precondition (``expected_rev``) is not the object's current mod revision."""

    def __init__(self, key: str, *, expected: int, actual: int) -> None:
        super().__init__(f"key {key!r} is at revision {actual}, not the expected {expected}")
        self.key = key
        self.expected = expected
        self.actual = actual


class Compacted(StoreError):
    """The events needed (everything after ``requested``) were compacted up to ``compacted``.

    The message is the one kube-apiserver puts in its 410 ``Expired`` Status, so the API server
    can use ``str(exc)`` verbatim.
    """

    def __init__(self, *, requested: int, compacted: int) -> None:
        super().__init__(f"too old resource version: {requested} ({compacted})")
        self.requested = requested
        self.compacted = compacted


class StoreClosed(StoreError):
    """The store is not open: writes are refused and watchers end."""

    def __init__(self, message: str = "the store is closed") -> None:
        super().__init__(message)
