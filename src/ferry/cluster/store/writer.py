"""The writer thread: serial execution of queued writes, with group commit.

Why a thread: SQLite with ``synchronous=FULL`` spends most of a commit in ``fsync``, during
which the ``sqlite3`` module releases the GIL. A dedicated thread owning the one connection
lets the event loop keep serving reads and queueing writes while the disk syncs.

Group commit: the thread blocks for one operation, then drains everything else already queued
(up to ``MAX_BATCH``) and runs the lot in ONE transaction. While that COMMIT is syncing, new
operations pile up in the queue and form the next batch, so the number of fsyncs per second
stays near the disk's limit while throughput scales with concurrency.

Per-operation outcome inside a batch: preconditions (``KeyExists``, ``KeyNotFound``,
``RevisionConflict``) are checked against the writer's own ``key -> Entry`` view *as updated by
the earlier operations of the same batch* (an overlay), so a batch behaves exactly like the
same operations run one by one. A failed precondition writes nothing and takes no revision;
the other operations proceed. Each successful write takes ``rev = last + 1``, so revisions
are dense: every revision in ``(compacted, revision]`` has exactly one event.

Acknowledgement (the crash-safety rule): results go to the event loop only after COMMIT
returned, via ONE ``loop.call_soon_threadsafe`` per batch; the loop callback resolves the
callers' futures. The writer view and counters are advanced only after COMMIT too, so a failed
transaction leaves everything as if the batch never ran and its operations fail with
``StoreError``. SQLite errors other than "disk full" leave the file's state uncertain (e.g. an
fsync failure), so the writer then stops accepting writes (fail-stop) until a restart
reloads the truth from disk.

The writer never touches asyncio futures; it passes them through to the loop untouched.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from . import sqlite as db
from .errors import KeyExists, KeyNotFound, RevisionConflict, StoreClosed, StoreError
from .records import ADDED, DELETED, MODIFIED, Entry, Event, restamp, stamp

log = logging.getLogger(__name__)

MAX_BATCH: Final = 1024
"""Upper bound on operations per transaction (bounds one commit's latency)."""

CREATE: Final = "create"
UPDATE: Final = "update"
DELETE: Final = "delete"
COMPACT: Final = "compact"


@dataclass(slots=True)
class Op:
    """One queued operation. ``template`` comes from :func:`records.encode_template`."""

    kind: str
    future: asyncio.Future[Any]
    key: str = ""
    template: bytes | None = None
    expected_rev: int | None = None
    up_to_rev: int = 0


@dataclass(slots=True)
class Committed:
    """One batch's outcome, handed to the loop: changes in rev order and per-op results."""

    revision: int
    compacted: int
    ts: float
    transaction: bool
    changes: list[tuple[Event, Entry]] = field(default_factory=list)
    results: list[tuple[asyncio.Future[Any], Any]] = field(default_factory=list)


class Writer:
    """Owns the SQLite connection on its own thread; see the module docstring."""

    def __init__(
        self,
        path: str | Path,
        *,
        loop: asyncio.AbstractEventLoop,
        on_commit: Callable[[Committed], None],
        compaction_window_seconds: float,
    ) -> None:
        self._path = path
        self._loop = loop
        self._on_commit = on_commit
        self._window = compaction_window_seconds
        self._queue: queue.SimpleQueue[Op | None] = queue.SimpleQueue()
        self._ready: concurrent.futures.Future[db.Loaded] = concurrent.futures.Future()
        self._stopped: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, name="ferry-store-writer", daemon=True)
        self._view: dict[str, Entry] = {}
        self._rev = 0
        self._compacted = 0
        self._last_ts = 0.0
        self._broken: str | None = None
        self._gate = threading.Lock()

    async def start(self) -> db.Loaded:
        """Start the thread; it opens the database and returns what it loaded."""
        self._thread.start()
        return await asyncio.wrap_future(self._ready)

    def submit(self, op: Op) -> None:
        self._queue.put(op)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the writer between batches: ops queued meanwhile form one batch on release.

        The seam that makes group-commit tests deterministic (and a consistent point for a
        file-level backup). Do not await a write while holding it: it would wait forever.
        """
        with self._gate:
            yield

    async def stop(self) -> None:
        """Finish every queued operation, close the database, and end the thread."""
        self._queue.put(None)
        await asyncio.wrap_future(self._stopped)

    def _run(self) -> None:
        try:
            conn = db.connect(self._path)
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        try:
            try:
                db.compact_before(conn, time.time() - self._window)
                loaded = db.load(conn)
            except BaseException as exc:
                self._ready.set_exception(exc)
                return
            self._view = {e.key: e for e in loaded.entries}
            self._rev = loaded.revision
            self._compacted = loaded.compacted
            self._last_ts = loaded.times[-1] if loaded.times else 0.0
            self._ready.set_result(loaded)
            self._serve(conn)
        finally:
            conn.close()
            self._stopped.set_result(None)

    def _serve(self, conn: sqlite3.Connection) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            ops: list[Op] = []
            if first is None:
                stopping = True
            else:
                ops.append(first)
            with self._gate:
                while not stopping and len(ops) < MAX_BATCH:
                    try:
                        op = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if op is None:
                        stopping = True
                    else:
                        ops.append(op)
                if not ops:
                    continue
                try:
                    committed = self._run_batch(conn, ops)
                except Exception as exc:  # a bug, not a storage error: nothing was written
                    log.exception("store writer failed on a batch of %d operations", len(ops))
                    committed = self._failed(ops, StoreError(f"internal store error: {exc!r}"))
            try:
                self._loop.call_soon_threadsafe(self._on_commit, committed)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return

    def _run_batch(self, conn: sqlite3.Connection, ops: list[Op]) -> Committed:
        if self._broken is not None:
            err = StoreClosed(f"the store stopped after a storage error ({self._broken}); restart it")
            return self._failed(ops, err)
        ts = max(time.time(), self._last_ts)
        rev = self._rev
        overlay: dict[str, Entry | None] = {}
        rows = db.BatchRows(revision=rev)
        out = Committed(revision=rev, compacted=self._compacted, ts=ts, transaction=False)
        compacts: list[asyncio.Future[Any]] = []
        for op in ops:
            if op.kind == COMPACT:
                target = min(op.up_to_rev, self._rev)
                if target > max(self._compacted, rows.compact_to or 0):
                    rows.compact_to = target
                compacts.append(op.future)
                continue
            key = op.key
            current = overlay[key] if key in overlay else self._view.get(key)
            try:
                event, entry = self._apply(op, current, rev + 1)
            except StoreError as exc:
                out.results.append((op.future, exc))
                continue
            rev += 1
            overlay[key] = None if event.type == DELETED else entry
            rows.events.append((rev, key, event.type, event.raw, event.prev_raw, ts))
            out.changes.append((event, entry))
            out.results.append((op.future, entry))
        if not out.changes and rows.compact_to is None:
            out.results.extend((fut, self._compacted) for fut in compacts)
            return out
        for key, final in overlay.items():
            if final is None:
                rows.deletes.append((key,))
            else:
                rows.upserts.append((key, final.rev, final.raw))
        rows.revision = rev
        try:
            db.write_batch(conn, rows)
        except Exception as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if not (isinstance(exc, sqlite3.Error) and code == db.SQLITE_FULL):
                self._broken = str(exc)
            log.error("store batch of %d operations failed: %s", len(ops), exc)
            failure = StoreError(f"write failed: {exc}")
            failure.__cause__ = exc
            return self._failed(ops, failure, keep=out)
        for key, final in overlay.items():
            if final is None:
                self._view.pop(key, None)
            else:
                self._view[key] = final
        self._rev = rev
        self._last_ts = ts
        if rows.compact_to is not None:
            self._compacted = rows.compact_to
        out.revision = rev
        out.compacted = self._compacted
        out.transaction = True
        out.results.extend((fut, self._compacted) for fut in compacts)
        return out

    def _failed(self, ops: list[Op], err: StoreError, *, keep: Committed | None = None) -> Committed:
        """A batch in which nothing was written: every op fails with ``err`` (or its own error)."""
        out = Committed(revision=self._rev, compacted=self._compacted, ts=self._last_ts, transaction=False)
        own = {id(fut): res for fut, res in keep.results if isinstance(res, StoreError)} if keep else {}
        out.results = [(op.future, own.get(id(op.future), err)) for op in ops]
        return out

    @staticmethod
    def _apply(op: Op, current: Entry | None, rev: int) -> tuple[Event, Entry]:
        """Check the op's precondition against ``current``; build its event and entry."""
        key = op.key
        if op.kind == CREATE:
            if current is not None:
                raise KeyExists(key)
            assert op.template is not None
            raw = stamp(op.template, rev)
            entry = Entry(key, rev, raw)
            return Event(rev, ADDED, key, raw, None), entry
        if current is None:
            raise KeyNotFound(key)
        if op.expected_rev is not None and op.expected_rev != current.rev:
            raise RevisionConflict(key, expected=op.expected_rev, actual=current.rev)
        if op.kind == UPDATE:
            assert op.template is not None
            raw = stamp(op.template, rev)
            entry = Entry(key, rev, raw)
            return Event(rev, MODIFIED, key, raw, current.raw), entry
        raw = stamp(op.template, rev) if op.template is not None else restamp(current.raw, rev)
        entry = Entry(key, rev, raw)
        return Event(rev, DELETED, key, raw, current.raw), entry
