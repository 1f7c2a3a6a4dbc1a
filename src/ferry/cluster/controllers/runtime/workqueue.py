"""The work queue every controller drains: client-go's ``workqueue`` semantics, on asyncio.

Event handlers only enqueue *keys* (``namespace/name``); workers take a key, run ``sync(key)``, and call
``done(key)``. The queue guarantees, as client-go's does:

* **dedupe** — a key waiting in the queue is there once, however often it is added (the *dirty* set);
* **never twice at once** — a key being processed is not handed out again; if it is added meanwhile
  it is marked dirty and goes back in the queue at ``done``, so the change is not lost and the next
  sync sees it (this is what makes N concurrent workers per controller safe);
* **delayed adds** — ``add_after(key, s)``; a second ``add_after`` for a waiting key keeps the earlier
  time (timers for minReadySeconds and progress deadlines);
* **rate-limited requeues** — ``add_rate_limited(key)`` waits ``when(key)`` of the rate limiter:
  per key 5 ms * 2^failures capped at 1000 s, and overall a token bucket of 10/s with a burst of 100
  (client-go's ``DefaultControllerRateLimiter``); ``forget(key)`` resets a key's failures after a
  successful sync; ``num_requeues(key)`` counts them (controllers drop a key after 15);
* **shutdown** — no new keys are accepted; ``get`` keeps handing out what is queued, then returns None.

Time is injected (``clock`` in monotonic seconds, ``sleep``) so tests run on virtual time; waiting
for a delayed key happens inside ``get`` — there is no background task to leak.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol


class RateLimiter(Protocol):
    def when(self, key: str) -> float:
        """Seconds to wait before re-adding ``key``; records one more failure for it."""
        ...

    def forget(self, key: str) -> None: ...

    def num_requeues(self, key: str) -> int: ...


class ItemExponentialFailureRateLimiter:
    """``base * 2^failures(key)`` seconds, capped at ``max_delay``."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        exp = self._failures.get(key, 0)
        self._failures[key] = exp + 1
        return min(self.base_delay * 2.0 ** min(exp, 256), self.max_delay)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)


class BucketRateLimiter:
    """A token bucket shared by all keys (golang.org/x/time/rate semantics: reservations may drive
    the bucket negative; the delay is the time until the reservation's token exists)."""

    def __init__(self, qps: float = 10.0, burst: int = 100, *, clock: Callable[[], float] = time.monotonic):
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def when(self, key: str) -> float:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, key: str) -> None:
        pass

    def num_requeues(self, key: str) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay of several limiters; requeues are counted by the first one that counts."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, key: str) -> float:
        return max(limiter.when(key) for limiter in self.limiters)

    def forget(self, key: str) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key: str) -> int:
        return max(limiter.num_requeues(key) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Callable[[], float] = time.monotonic) -> RateLimiter:
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.005, 1000.0), BucketRateLimiter(clock=clock))


class WorkQueue:
    """A deduplicating, delaying, rate-limited queue of keys (see the module docstring)."""

    def __init__(
        self,
        *,
        rate_limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        name: str = "",
    ) -> None:
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(clock)
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._waiting: dict[str, float] = {}  # key -> ready time, for add_after
        self._heap: list[tuple[float, int, str]] = []  # may hold stale entries; _waiting is the truth
        self._seq = itertools.count()
        self._getters: list[asyncio.Future[None]] = []
        self._shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: str) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # comes back at done(key)
        self._queue.append(key)
        self._wake()

    def add_after(self, key: str, seconds: float) -> None:
        if self._shutting_down:
            return
        if seconds <= 0:
            self.add(key)
            return
        ready = self._clock() + seconds
        current = self._waiting.get(key)
        if current is not None and current <= ready:
            return
        self._waiting[key] = ready
        heapq.heappush(self._heap, (ready, next(self._seq), key))
        self._wake()  # a getter may be sleeping until a later time

    def add_rate_limited(self, key: str) -> None:
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: str) -> None:
        self.rate_limiter.forget(key)

    def num_requeues(self, key: str) -> int:
        return self.rate_limiter.num_requeues(key)

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake()

    def shutdown(self) -> None:
        self._shutting_down = True
        self._waiting.clear()
        self._heap.clear()
        self._wake()

    def get_nowait(self) -> str | None:
        """A ready key (now marked processing), or None if none is ready."""
        self._release_due()
        if not self._queue:
            return None
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    async def get(self) -> str | None:
        """Wait for a key; None once the queue is shut down and drained."""
        loop = asyncio.get_running_loop()
        while True:
            key = self.get_nowait()
            if key is not None:
                return key
            if self._shutting_down:
                return None
            delay = self._next_delay()
            waiter: asyncio.Future[None] = loop.create_future()
            self._getters.append(waiter)
            try:
                if delay is None:
                    await waiter
                else:
                    sleeper = asyncio.ensure_future(self._sleep(delay))
                    try:
                        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        sleeper.cancel()
            finally:
                if waiter in self._getters:
                    self._getters.remove(waiter)
                waiter.cancel()

    # -- internals -------------------------------------------------------------------------------------
    def _wake(self) -> None:
        getters, self._getters = self._getters, []
        for g in getters:
            if not g.done():
                g.set_result(None)

    def _release_due(self) -> None:
        now = self._clock()
        while self._heap and self._heap[0][0] <= now:
            ready, _, key = heapq.heappop(self._heap)
            if self._waiting.get(key) == ready:
                del self._waiting[key]
                self.add(key)

    def _next_delay(self) -> float | None:
        while self._heap and self._waiting.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # stale entry (superseded by an earlier add_after)
        if not self._heap:
            return None
        return max(0.0, self._heap[0][0] - self._clock())
