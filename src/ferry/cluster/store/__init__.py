"""Revisioned object store: SQLite (WAL, synchronous=FULL) behind an in-memory committed view.

One global, monotonic revision doubles as every object's ``metadata.resourceVersion``; an
event log, compacted after a configurable window, lets watches resume (or fail with
``Compacted`` -> 410 Expired). Writes go through one writer thread with group commit; reads
and watches are served from memory on the event loop.

Module map: ``store`` (the :class:`Store` facade and the commit callback), ``writer`` (thread,
group commit, preconditions, revisions), ``sqlite`` (schema, open, load, batch SQL), ``view``
(committed ``key -> Entry`` view with sorted per-resource key index), ``watch`` (event ring and
cursor-based :class:`Watcher`), ``records`` (:class:`Entry`, :class:`Event`, serialization),
``errors`` (the exception tree).
"""

from .errors import Compacted, KeyExists, KeyNotFound, RevisionConflict, StoreClosed, StoreError
from .records import Entry, Event, EventType
from .store import Store
from .watch import Watcher

__all__ = [
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
