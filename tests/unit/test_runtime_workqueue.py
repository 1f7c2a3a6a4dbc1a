"""The work queue: client-go semantics (dedupe, never twice at once, delays, back-off, shutdown) on
virtual time."""

from __future__ import annotations

import asyncio

import pytest

from ferry.cluster.controllers.runtime.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    WorkQueue,
    default_controller_rate_limiter,
)


class VirtualTime:
    """A monotonic clock that only moves when told to, and a sleep that moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def queue(vt: VirtualTime) -> WorkQueue:
    return WorkQueue(clock=vt.clock, sleep=vt.sleep)


def drain(q: WorkQueue) -> list[str]:
    out = []
    while (key := q.get_nowait()) is not None:
        out.append(key)
    return out


def test_add_dedupes_and_keeps_fifo_order(queue: WorkQueue) -> None:
    for key in ["a", "b", "a", "c", "b"]:
        queue.add(key)
    assert len(queue) == 3
    assert drain(queue) == ["a", "b", "c"]


def test_a_key_in_processing_is_not_handed_out_again_until_done(queue: WorkQueue) -> None:
    queue.add("a")
    assert queue.get_nowait() == "a"
    queue.add("a")  # changed while a worker syncs it: marked dirty, not queued
    queue.add("a")
    assert queue.get_nowait() is None
    assert len(queue) == 0
    queue.done("a")
    assert queue.get_nowait() == "a"  # comes back exactly once
    queue.done("a")
    assert queue.get_nowait() is None


def test_done_without_readd_does_not_requeue(queue: WorkQueue) -> None:
    queue.add("a")
    assert queue.get_nowait() == "a"
    queue.done("a")
    assert queue.get_nowait() is None


async def test_concurrent_workers_never_hold_the_same_key(queue: WorkQueue) -> None:
    holding: set[str] = set()
    overlaps: list[str] = []
    processed: list[str] = []

    async def worker() -> None:
        while (key := await queue.get()) is not None:
            if key in holding:
                overlaps.append(key)
            holding.add(key)
            await asyncio.sleep(0)
            if len(processed) < 20:
                queue.add(key)  # re-added while processing
            await asyncio.sleep(0)
            processed.append(key)
            holding.discard(key)
            queue.done(key)

    for key in ["a", "b", "a"]:
        queue.add(key)
    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for _ in range(50):
        await asyncio.sleep(0)
    queue.shutdown()
    await asyncio.gather(*workers)
    assert overlaps == []
    assert len(processed) > 20
    assert set(processed) == {"a", "b"}


def test_add_after_releases_at_its_time_and_earliest_wins(queue: WorkQueue, vt: VirtualTime) -> None:
    queue.add_after("late", 10)
    queue.add_after("x", 5)
    queue.add_after("x", 8)  # later than the pending 5 s: ignored
    queue.add_after("y", 3)
    queue.add_after("y", 1)  # earlier: wins
    assert drain(queue) == []
    vt.now += 1
    assert drain(queue) == ["y"]
    vt.now += 4
    assert drain(queue) == ["x"]
    vt.now += 3
    assert drain(queue) == []  # x's superseded 8 s entry does not fire again
    vt.now += 2
    assert drain(queue) == ["late"]


def test_add_after_zero_or_negative_is_an_add(queue: WorkQueue) -> None:
    queue.add_after("a", 0)
    queue.add_after("b", -1)
    assert drain(queue) == ["a", "b"]


def test_a_delayed_key_already_queued_is_deduped(queue: WorkQueue, vt: VirtualTime) -> None:
    queue.add("a")
    queue.add_after("a", 2)
    vt.now += 2
    assert drain(queue) == ["a"]


async def test_get_sleeps_until_the_next_delayed_key(queue: WorkQueue, vt: VirtualTime) -> None:
    queue.add_after("a", 7.5)
    start = vt.now
    assert await queue.get() == "a"
    assert vt.now - start == pytest.approx(7.5)
    assert vt.slept == [pytest.approx(7.5)]


async def test_get_wakes_up_for_an_add(queue: WorkQueue) -> None:
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.add("k")
    assert await asyncio.wait_for(getter, 1) == "k"


def test_rate_limited_backoff_doubles_from_5ms_and_forget_resets(queue: WorkQueue, vt: VirtualTime) -> None:
    limiter = ItemExponentialFailureRateLimiter()
    assert [limiter.when("k") for _ in range(5)] == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08])
    assert limiter.num_requeues("k") == 5
    assert limiter.when("other") == pytest.approx(0.005)  # per key
    limiter.forget("k")
    assert limiter.num_requeues("k") == 0
    assert limiter.when("k") == pytest.approx(0.005)


def test_backoff_is_capped_at_1000_seconds() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("k") for _ in range(40)]
    assert delays[17] == pytest.approx(0.005 * 2**17)  # 655 s
    assert delays[18] == 1000.0
    assert delays[-1] == 1000.0
    for _ in range(2000):  # no overflow however long it fails
        limiter.when("k")
    assert limiter.when("k") == 1000.0


def test_add_rate_limited_requeues_after_the_backoff(queue: WorkQueue, vt: VirtualTime) -> None:
    queue.add_rate_limited("k")
    assert queue.num_requeues("k") == 1
    assert drain(queue) == []
    vt.now += 0.005
    assert drain(queue) == ["k"]
    queue.done("k")
    queue.add_rate_limited("k")
    vt.now += 0.009
    assert drain(queue) == []
    vt.now += 0.001
    assert drain(queue) == ["k"]
    queue.forget("k")
    assert queue.num_requeues("k") == 0


def test_bucket_limiter_allows_a_burst_then_paces(vt: VirtualTime) -> None:
    bucket = BucketRateLimiter(qps=10, burst=100, clock=vt.clock)
    assert [bucket.when(str(i)) for i in range(100)] == [0.0] * 100
    assert bucket.when("x") == pytest.approx(0.1)
    assert bucket.when("y") == pytest.approx(0.2)
    vt.now += 0.2
    assert bucket.when("z") == pytest.approx(0.1)


def test_default_limiter_is_the_max_of_both(vt: VirtualTime) -> None:
    limiter = default_controller_rate_limiter(vt.clock)
    assert isinstance(limiter, MaxOfRateLimiter)
    assert limiter.when("k") == pytest.approx(0.005)
    for i in range(200):
        limiter.when(f"other-{i}")
    # The bucket (10/s) now dominates a fresh key's 5 ms.
    assert limiter.when("fresh") > 1.0
    assert limiter.num_requeues("k") == 1


async def test_shutdown_drains_then_returns_none(queue: WorkQueue) -> None:
    queue.add("a")
    queue.add_after("later", 5)
    queue.shutdown()
    queue.add("b")  # refused once shutting down
    assert queue.shutting_down
    assert await queue.get() == "a"
    assert await queue.get() is None


async def test_shutdown_wakes_blocked_getters(queue: WorkQueue) -> None:
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await asyncio.sleep(0)
    queue.shutdown()
    assert await asyncio.wait_for(asyncio.gather(*getters), 1) == [None, None, None]
