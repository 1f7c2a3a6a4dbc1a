"""The event ring and its watchers: one shared, revision-ordered log; a cursor per watcher.

Why no per-watcher queues: with 1,000 watchers and a 1,000-write burst, fanning every event
into every queue costs a million appends on the event loop before anyone writes a byte. Instead
the ring appends each committed event once, and a watcher keeps only a *cursor* (the last
revision it has looked at). ``next_batch`` bisects the ring for ``rev > cursor``, filters by key
prefix, moves the cursor to the ring's head, and returns everything at once, so under load the
HTTP layer writes one chunk per wake-up instead of one per event.

Invariants (all state is touched only on the event-loop thread, so no locks):

- The ring holds exactly the events with ``compacted < rev <= revision``, in rev order, with
  their commit times (non-decreasing: the writer never lets the clock go backwards).
- A watcher's cursor only moves forward, to a revision it has fully scanned; so no event is
  delivered twice, and none is skipped, as long as ``cursor >= compacted``.
- ``cursor < compacted`` means events the watcher still needed are gone: ``next_batch``
  raises :class:`Compacted` (the API server turns it into a 410 ``ERROR`` event). A watcher
  that has caught up is never compacted out, because compaction never goes past ``revision``.

Memory: the ring keeps every event of the compaction window in memory (each event shares its
``raw`` bytes with the view while the object is current). At a sustained 1,000 writes/s of
~1 KB objects and the default 300 s window that is ~300 MB; the periodic compaction bounds it.
A count-based cap (compact early when the ring exceeds N events, as kube-apiserver's watch
cache does) would be the next step if that ever matters.

Wake-ups: each waiting ``next_batch`` parks on its own future in ``_waiters``; the commit
callback resolves them all after appending a batch. Per-waiter futures (rather than one
shared future) mean cancelling one watching task can never cancel another's wait, and
:meth:`Watcher.close` can wake exactly one waiter.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, bisect_right

from .errors import Compacted, StoreClosed
from .records import Event


class EventRing:
    """Committed events within the compaction window, plus the revision counters."""

    def __init__(self, *, revision: int, compacted: int) -> None:
        self.revision = revision
        self.compacted = compacted
        self.revs: list[int] = []
        self.events: list[Event] = []
        self.times: list[float] = []
        self.closed = False
        self._waiters: set[asyncio.Future[None]] = set()

    def __len__(self) -> int:
        return len(self.events)

    def append(self, events: list[Event], *, ts: float, revision: int) -> None:
        """Add one committed batch (already in rev order) and advance ``revision``."""
        for event in events:
            self.revs.append(event.rev)
            self.events.append(event)
            self.times.append(ts)
        self.revision = revision

    def trim(self, up_to_rev: int) -> None:
        """Drop events with ``rev <= up_to_rev`` and record ``up_to_rev`` as compacted."""
        cut = bisect_right(self.revs, up_to_rev)
        del self.revs[:cut]
        del self.events[:cut]
        del self.times[:cut]
        self.compacted = max(self.compacted, up_to_rev)

    def last_rev_before(self, ts: float) -> int:
        """The highest revision committed strictly before ``ts`` (``compacted`` if none is left)."""
        cut = bisect_left(self.times, ts)
        return self.revs[cut - 1] if cut else self.compacted

    def notify(self) -> None:
        """Wake every parked watcher (called once per committed batch)."""
        waiters, self._waiters = self._waiters, set()
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def close(self) -> None:
        """End all watches: parked and future ``next_batch`` calls raise :class:`StoreClosed`."""
        self.closed = True
        self.notify()

    def watch(self, prefix: str, *, after_rev: int) -> Watcher:
        """A watcher for keys under ``prefix`` that will see events with ``rev > after_rev``."""
        if after_rev < 0:
            raise ValueError(f"after_rev must not be negative, not {after_rev}")
        if self.closed:
            raise StoreClosed()
        if after_rev < self.compacted:
            raise Compacted(requested=after_rev, compacted=self.compacted)
        return Watcher(self, prefix, after_rev)

    def _since(self, cursor: int, prefix: str) -> list[Event]:
        start = bisect_right(self.revs, cursor)
        return [e for e in self.events[start:] if e.key.startswith(prefix)]


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Watcher:
    """A cursor into the :class:`EventRing`, filtered by key prefix. Loop-thread only."""

    __slots__ = ("_closed", "_cursor", "_prefix", "_ring", "_waiter")

    def __init__(self, ring: EventRing, prefix: str, cursor: int) -> None:
        self._ring = ring
        self._prefix = prefix
        self._cursor = cursor
        self._closed = False
        self._waiter: asyncio.Future[None] | None = None

    @property
    def cursor(self) -> int:
        """The last revision this watcher has scanned (resume a watch from here)."""
        return self._cursor

    @property
    def prefix(self) -> str:
        return self._prefix

    async def next_batch(self, timeout: float | None = None) -> list[Event]:
        """All pending matching events (non-empty), or ``[]`` on timeout or after :meth:`close`.

        Raises :class:`Compacted` when events this watcher still needed were compacted, and
        :class:`StoreClosed` once the store is closed.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        ring = self._ring
        while True:
            if self._closed:
                return []
            if ring.closed:
                raise StoreClosed()
            if self._cursor < ring.compacted:
                raise Compacted(requested=self._cursor, compacted=ring.compacted)
            if ring.revision > self._cursor:
                batch = ring._since(self._cursor, self._prefix)
                self._cursor = ring.revision
                if batch:
                    return batch
            handle = None
            if deadline is not None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
            fut: asyncio.Future[None] = loop.create_future()
            if deadline is not None:
                handle = loop.call_at(deadline, _wake, fut)
            ring._waiters.add(fut)
            self._waiter = fut
            try:
                await fut
            finally:
                ring._waiters.discard(fut)
                self._waiter = None
                if handle is not None:
                    handle.cancel()

    def close(self) -> None:
        """Stop watching; a parked ``next_batch`` returns ``[]``. Idempotent."""
        self._closed = True
        if self._waiter is not None:
            _wake(self._waiter)
