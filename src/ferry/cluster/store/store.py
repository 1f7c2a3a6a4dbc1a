"""``Store``: the revisioned object store the API server and controllers build on.

Two views of the data, on two threads:

- the **writer view** (writer thread, ``writer.py``): what is *queued or committed*, used only
  to check preconditions and to hand out revisions;
- the **committed view** (event-loop thread, this module): what is *durable*. ``get``,
  ``list`` and ``count`` read it synchronously, with no SQLite on the hot path.

After each group commit, the writer posts ONE callback (:meth:`Store._commit`) to the loop. That
callback, without awaiting, applies the batch to the committed view, appends its events to the
ring, advances ``revision``, wakes the watchers and resolves the callers' futures. Because it
is one uninterrupted step on the loop thread, any synchronous sequence run on the loop (for
example :meth:`snapshot_and_watch`: list, read ``revision``, start a watcher there) sees either
all of a batch or none of it: no event is ever delivered twice or missed.

Read-your-writes: ``await store.update(...)`` returns after the callback ran, so a ``get``
right after it sees the new state. A write is acknowledged only after COMMIT (see
``writer.py``); cancelling the awaiting task does not un-write it.

Compaction: :meth:`compact` picks the highest revision older than the window from the ring's
commit times (or takes ``up_to_rev``) and sends it through the writer queue, so it is ordered
with writes and lands in the same kind of transaction; the commit callback then trims the
ring. A periodic task calls it every ``compaction_interval_seconds``.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import StoreClosed, StoreError
from .records import DELETED, Entry, encode_template
from .view import View, check_key, check_prefix
from .watch import EventRing, Watcher
from .writer import COMPACT, CREATE, DELETE, UPDATE, Committed, Op, Writer

log = logging.getLogger(__name__)


class Store:
    """A revisioned key/value store of JSON objects; see the module docstring."""

    def __init__(
        self,
        path: str | Path,
        *,
        compaction_window_seconds: float = 300.0,
        compaction_interval_seconds: float = 60.0,
    ) -> None:
        self._path = Path(path)
        self._window = compaction_window_seconds
        self._interval = compaction_interval_seconds
        self._view = View()
        self._ring = EventRing(revision=0, compacted=0)
        self._writer: Writer | None = None
        self._compactor: asyncio.Task[None] | None = None
        self._accepting = False
        self._transactions = 0
        self._writes = 0

    async def open(self) -> None:
        """Open the database, load every object and the retained events. Call on the loop."""
        if self._writer is not None:
            raise StoreError("the store is already open")
        loop = asyncio.get_running_loop()
        writer = Writer(self._path, loop=loop, on_commit=self._commit, compaction_window_seconds=self._window)
        loaded = await writer.start()
        self._writer = writer
        view = View()
        for entry in loaded.entries:
            view.put(entry)
        ring = EventRing(revision=loaded.revision, compacted=loaded.compacted)
        ring.revs = [e.rev for e in loaded.events]
        ring.events = loaded.events
        ring.times = loaded.times
        self._view, self._ring = view, ring
        self._accepting = True
        if self._interval > 0:
            self._compactor = loop.create_task(self._compact_periodically(), name="ferry-store-compactor")

    async def close(self) -> None:
        """Finish queued writes, stop the writer thread, close SQLite, and end all watches."""
        if self._writer is None:
            return
        self._accepting = False
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
            self._compactor = None
        await self._writer.stop()
        self._writer = None
        self._ring.close()

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def revision(self) -> int:
        """The last committed revision (as seen on the loop)."""
        return self._ring.revision

    @property
    def compacted_revision(self) -> int:
        """Events with ``rev <= compacted_revision`` are gone; watches must start after it."""
        return self._ring.compacted

    @property
    def transactions(self) -> int:
        """SQLite write transactions committed since open (group commit: <= ``writes``)."""
        return self._transactions

    @property
    def writes(self) -> int:
        """Successful mutations (revisions) committed since open."""
        return self._writes

    def get(self, key: str) -> Entry | None:
        return self._view.get(key)

    def list(
        self, prefix: str, *, start_after: str | None = None, limit: int | None = None
    ) -> tuple[list[Entry], str | None]:
        """Entries under ``prefix`` sorted by key; the second value is the continue key or None."""
        return self._view.list(prefix, start_after=start_after, limit=limit)

    def count(self, prefix: str) -> int:
        return self._view.count(prefix)

    async def create(self, key: str, obj: dict[str, Any]) -> Entry:
        """Store a new object. Raises :class:`KeyExists`."""
        check_key(key)
        return await self._submit(CREATE, key, encode_template(obj), None)

    async def update(self, key: str, obj: dict[str, Any], *, expected_rev: int | None = None) -> Entry:
        """Replace an object. Raises :class:`KeyNotFound`, :class:`RevisionConflict`."""
        check_key(key)
        return await self._submit(UPDATE, key, encode_template(obj), expected_rev)

    async def delete(
        self, key: str, *, expected_rev: int | None = None, last_state: dict[str, Any] | None = None
    ) -> Entry:
        """Remove an object; returns the DELETED entry (``last_state`` or the stored object,
        stamped with the delete's revision). Raises :class:`KeyNotFound`, :class:`RevisionConflict`.
        """
        check_key(key)
        template = None if last_state is None else encode_template(last_state)
        return await self._submit(DELETE, key, template, expected_rev)

    async def _submit(self, kind: str, key: str, template: bytes | None, expected_rev: int | None) -> Entry:
        if not self._accepting or self._writer is None:
            raise StoreClosed()
        fut: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._writer.submit(Op(kind, fut, key, template, expected_rev))
        return await fut

    def watch(self, prefix: str, *, after_rev: int) -> Watcher:
        """Watch keys under ``prefix`` from ``after_rev``. Raises :class:`Compacted`."""
        check_prefix(prefix)
        return self._ring.watch(prefix, after_rev=after_rev)

    def snapshot_and_watch(self, prefix: str) -> tuple[builtins.list[Entry], int, Watcher]:
        """Atomically: every entry under ``prefix``, the revision they are at, a watcher from it."""
        entries, _ = self._view.list(prefix)
        revision = self._ring.revision
        return entries, revision, self._ring.watch(prefix, after_rev=revision)

    async def compact(self, *, up_to_rev: int | None = None) -> int:
        """Drop events older than the window (or up to ``up_to_rev``); return compacted_revision."""
        if up_to_rev is None:
            up_to_rev = self._ring.last_rev_before(time.time() - self._window)
        if up_to_rev <= self._ring.compacted:
            return self._ring.compacted
        if not self._accepting or self._writer is None:
            raise StoreClosed()
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._writer.submit(Op(COMPACT, fut, up_to_rev=up_to_rev))
        return await fut

    async def _compact_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.compact()
            except StoreClosed:
                return
            except StoreError as exc:
                log.warning("periodic store compaction failed: %s", exc)

    def _commit(self, batch: Committed) -> None:
        """Apply one committed batch on the loop (see the module docstring: one atomic step)."""
        view = self._view
        for event, entry in batch.changes:
            if event.type == DELETED:
                view.pop(event.key)
            else:
                view.put(entry)
        ring = self._ring
        if batch.changes:
            ring.append([event for event, _ in batch.changes], ts=batch.ts, revision=batch.revision)
        if batch.compacted > ring.compacted:
            ring.trim(batch.compacted)
        if batch.transaction:
            self._transactions += 1
            self._writes += len(batch.changes)
        ring.notify()
        for fut, result in batch.results:
            if fut.done():
                continue
            if isinstance(result, BaseException):
                fut.set_exception(result)
            else:
                fut.set_result(result)
