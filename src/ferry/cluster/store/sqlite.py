"""The durable half of the store: the SQLite schema, opening, loading, and one batch write.

Everything here runs on the writer thread, on the one connection it owns; no function here
knows about asyncio. The writer (``writer.py``) decides *what* a batch writes; this module
decides *how* it reaches the disk.

Durability settings, and why:

- ``journal_mode=WAL``: a commit is one sequential append to the ``-wal`` file (no rollback
  journal dance), and readers never block the writer.
- ``synchronous=FULL``: the WAL is fsynced at every COMMIT, so a committed transaction survives
  ``kill -9`` *and* power loss. Group commit (many operations per transaction) pays for it.
- ``locking_mode=EXCLUSIVE``: the store assumes it is the only writer (the writer thread keeps
  its own ``key -> (rev, raw)`` view to check preconditions, and hands out revisions from a
  counter). A second process opening the same file would silently fork revisions, so it must
  fail instead: the first write lock is taken at open and held until close. The OS drops the
  lock when a process dies, so restarting after ``kill -9`` works at once.

Tables::

    meta(k TEXT PRIMARY KEY, v INTEGER)      'revision' (last assigned), 'compacted'
    objects(key TEXT PRIMARY KEY, rev, raw)  current objects (WITHOUT ROWID: clustered by key)
    events(rev INTEGER PRIMARY KEY, key, type, raw, prev_raw, ts)

``events.prev_raw`` is an addition to the original design: a watcher's ``Event`` carries the
previous state (the API server needs it to turn a MODIFIED that leaves a label selector into
DELETED), and after a restart the previous state of the oldest retained event of a key may
already be compacted away, so it is stored rather than reconstructed.

Invariants: ``meta.revision`` is written in the same transaction as the events it covers, so
revisions never go backwards across restarts, even if the newest events are compacted. The
events table holds exactly the revisions ``compacted < rev <= revision``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .errors import StoreError
from .records import Entry, Event, EventType

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, rev INTEGER NOT NULL, raw BLOB NOT NULL)"
    " WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS events (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, type TEXT NOT NULL,"
    " raw BLOB NOT NULL, prev_raw BLOB, ts REAL NOT NULL)",
)

_SET_META = "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
_INSERT_EVENT = "INSERT INTO events (rev, key, type, raw, prev_raw, ts) VALUES (?, ?, ?, ?, ?, ?)"
_UPSERT_OBJECT = (
    "INSERT INTO objects (key, rev, raw) VALUES (?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET rev = excluded.rev, raw = excluded.raw"
)
_DELETE_OBJECT = "DELETE FROM objects WHERE key = ?"

LOCK_TIMEOUT_SECONDS = 1.0
"""How long open waits for another holder of the file lock before giving up."""

SQLITE_FULL = 13
"""``sqlite3`` error code for a full disk or database: the transaction was rolled back cleanly."""


@dataclass
class Loaded:
    """What open found on disk: the counters, every object, and the retained events."""

    revision: int = 0
    compacted: int = 0
    entries: list[Entry] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


@dataclass
class BatchRows:
    """The rows one group-commit transaction writes."""

    revision: int
    events: list[tuple[int, str, str, bytes, bytes | None, float]] = field(default_factory=list)
    upserts: list[tuple[str, int, bytes]] = field(default_factory=list)
    deletes: list[tuple[str]] = field(default_factory=list)
    compact_to: int | None = None


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the store database, take its lock, and ensure the schema."""
    try:
        conn = sqlite3.connect(path, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open store {str(path)!r}: {exc}") from exc
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"store {str(path)!r}: SQLite refused WAL mode (got {mode!r})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreError(f"store {str(path)!r} is in use by another process") from exc
        raise StoreError(f"cannot open store {str(path)!r}: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _meta(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


def compact_before(conn: sqlite3.Connection, ts: float) -> int:
    """Drop events committed before ``ts`` (by revision, so no hole opens); return compacted."""
    compacted = _meta(conn, "compacted")
    row = conn.execute("SELECT max(rev) FROM events WHERE ts < ?", (ts,)).fetchone()
    cut = row[0] if row and row[0] is not None else 0
    if cut > compacted:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM events WHERE rev <= ?", (cut,))
            conn.execute(_SET_META, ("compacted", cut))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        compacted = cut
    return compacted


def load(conn: sqlite3.Connection) -> Loaded:
    """Read the counters, all objects, and the events after the compacted revision."""
    loaded = Loaded(compacted=_meta(conn, "compacted"))
    revision = _meta(conn, "revision")
    for key, rev, raw in conn.execute("SELECT key, rev, raw FROM objects"):
        loaded.entries.append(Entry(key, rev, bytes(raw)))
        revision = max(revision, rev)
    query = "SELECT rev, type, key, raw, prev_raw, ts FROM events WHERE rev > ? ORDER BY rev"
    for rev, type_, key, raw, prev_raw, ts in conn.execute(query, (loaded.compacted,)):
        event_type: EventType = type_
        prev = None if prev_raw is None else bytes(prev_raw)
        loaded.events.append(Event(rev, event_type, key, bytes(raw), prev))
        loaded.times.append(ts)
        revision = max(revision, rev)
    loaded.revision = max(revision, loaded.compacted)
    return loaded


def write_batch(conn: sqlite3.Connection, rows: BatchRows) -> None:
    """Write one batch in one transaction; on any error roll back and re-raise.

    Returns only after COMMIT returned, i.e. after the WAL was fsynced (``synchronous=FULL``):
    the caller may acknowledge the batch's writes once this returns and not before.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        if rows.compact_to is not None:
            conn.execute("DELETE FROM events WHERE rev <= ?", (rows.compact_to,))
            conn.execute(_SET_META, ("compacted", rows.compact_to))
        if rows.events:
            conn.executemany(_INSERT_EVENT, rows.events)
        if rows.upserts:
            conn.executemany(_UPSERT_OBJECT, rows.upserts)
        if rows.deletes:
            conn.executemany(_DELETE_OBJECT, rows.deletes)
        conn.execute(_SET_META, ("revision", rows.revision))
        conn.execute("COMMIT")
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise
