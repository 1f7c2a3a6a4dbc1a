"""The lease on an active release: who is working on it, and when a dead worker's release may be taken over.

A release in ``pending``, ``deploying`` or ``rolling-back`` is *held* by the process that moved it there. The
record carries two annotations: ``ferry.dev/lease-holder`` (``<host>:<pid>:<random>``) and
``ferry.dev/lease-renewed`` (RFC 3339, UTC). The holder renews the lease every ``RENEW_SECONDS`` (a write with
the resourceVersion precondition, like every other write), so a live ``ferry deploy`` blocked in a long wait
keeps its claim, and any other process can tell a live holder from a dead one without talking to it.

The takeover rule (``stale``), checked by every ``deploy``, ``rollback`` and ``history`` before it does
anything else:

1. the lease was not renewed for more than ``STALE_SECONDS`` (30 s): the holder is gone or partitioned
   away for longer than it may go without renewing — taken over;
2. the holder runs on *this* host and its pid is not alive: taken over at once (the common case of a
   ``ferry deploy`` killed by Ctrl-C or ``kill -9`` on a laptop or a CI runner, without a 30 s wait). A pid
   reused by an unrelated process only delays the takeover to rule 1.

Otherwise the release is busy, and the caller stops with one line naming the holder and the lease's age.
Compared with Helm's ``another operation (install/upgrade/rollback) is in progress``, which stays until a
human runs ``helm rollback`` or edits the release Secret, nothing here needs a human: the lease expires.

Races: two processes taking over the same stale release both write with the resourceVersion they read; one
write wins, the other gets ``ReleaseConflict`` and re-reads. A holder that was only slow (not dead) loses its
lease the same way: its next renew or state write is refused, and it stops without touching the record.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["RENEW_SECONDS", "STALE_SECONDS", "Clock", "holder_id", "now", "parse_time", "stale", "utc_now"]

STALE_SECONDS = 30.0
RENEW_SECONDS = 10.0

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def now(clock: Clock = utc_now) -> str:
    """``clock()`` as RFC 3339 with seconds precision and a ``Z``."""
    return clock().strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def holder_id() -> str:
    """This process as a lease holder: ``<host>:<pid>:<8 hex>`` (the suffix tells two lives of a pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def stale(
    holder: str, renewed: str, *, clock: Clock = utc_now, pid_alive: Callable[[int], bool] = _alive
) -> str:
    """Why the lease may be taken over (``""``: it may not) — see the module docstring for the rules."""
    when = parse_time(renewed)
    if not holder or when is None:
        return "no lease recorded"
    age = (clock() - when).total_seconds()
    if age > STALE_SECONDS:
        return f"lease held by {holder} not renewed for {age:.0f} s"
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid)):
        return f"lease holder {holder} is no longer running"
    return ""
