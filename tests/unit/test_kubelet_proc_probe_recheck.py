"""The readiness prober's quiet re-checks in its first period (a server that listens a moment after its start)."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.test_kubelet_proc_probes import Script


async def test_a_first_failure_is_rechecked_quietly_and_a_success_comes_early() -> None:
    s = Script([False, False, False, True, True, False])
    with pytest.raises(asyncio.CancelledError):
        await s.prober("readiness", {"periodSeconds": 5}).run()
    # the attempt at 0 fails; quiet re-checks at +0.1, +0.3 fail, +0.7 succeeds; the regular attempt then runs
    # at once and makes the container ready; from then on the period (a failure then is an ordinary one)
    assert s.sleeps == [0, 0.1, 0.2, 0.4, 5, 5]
    assert s.results == [True]
    assert s.failures == 2  # the first attempt and the failure after Ready; never the quiet re-checks


async def test_rechecks_stop_after_the_first_period() -> None:
    s = Script([False] * 6 + [False, False])
    with pytest.raises(asyncio.CancelledError):
        await s.prober("readiness", {"periodSeconds": 1}).run()
    # re-checks at 0.1, 0.3, 0.7 (all fail), the rest of the first period, then plain periods
    assert s.sleeps[:5] == [0, 0.1, 0.2, 0.4, pytest.approx(0.3)]
    assert s.sleeps[5:] == [1, 1, 1, 1]
    assert s.results == [] and s.failures == 5  # the five regular attempts


async def test_liveness_and_a_ready_container_have_no_rechecks() -> None:
    s = Script([False, True, True])
    with pytest.raises(asyncio.CancelledError):
        await s.prober("liveness", {"periodSeconds": 2}).run()
    assert s.sleeps == [0, 2, 2, 2]
    s = Script([True, False, True])
    with pytest.raises(asyncio.CancelledError):
        await s.prober("readiness", {"periodSeconds": 2}).run()
    assert s.sleeps == [0, 2, 2, 2] and s.results == [True]
