"""The takeover rule: a lease is stale after 30 s without renewal, or at once when its local holder is dead."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from ferry.delivery.releases import STALE_SECONDS, holder_id, stale

RENEWED = "2026-11-27T05:00:00Z"
T0 = datetime(2026, 11, 27, 5, 0, 0, tzinfo=UTC)
HERE = socket.gethostname()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_fresh_lease_of_a_live_holder_is_not_stale() -> None:
    holder = f"{HERE}:123:abcd"
    assert stale(holder, RENEWED, clock=lambda: at(STALE_SECONDS), pid_alive=lambda pid: True) == ""


def test_a_lease_not_renewed_for_more_than_30_seconds_is_stale_whoever_holds_it() -> None:
    why = stale(
        "elsewhere:123:abcd", RENEWED, clock=lambda: at(STALE_SECONDS + 1), pid_alive=lambda pid: True
    )
    assert why == "lease held by elsewhere:123:abcd not renewed for 31 s"


def test_a_dead_local_holder_is_taken_over_at_once() -> None:
    seen: list[int] = []

    def alive(pid: int) -> bool:
        seen.append(pid)
        return False

    why = stale(f"{HERE}:4242:abcd", RENEWED, clock=lambda: at(1), pid_alive=alive)
    assert why == f"lease holder {HERE}:4242:abcd is no longer running" and seen == [4242]


def test_a_remote_holder_is_never_judged_by_a_local_pid() -> None:
    assert stale("other-host:4242:abcd", RENEWED, clock=lambda: at(1), pid_alive=lambda pid: False) == ""


def test_no_lease_at_all_is_stale_and_this_process_is_alive() -> None:
    assert stale("", "", clock=lambda: at(0)) == "no lease recorded"
    mine = holder_id()
    assert mine.startswith(f"{HERE}:{os.getpid()}:")
    assert stale(mine, RENEWED, clock=lambda: at(1)) == ""  # the real pid check: we are running
