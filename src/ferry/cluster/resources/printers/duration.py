"""Ages and durations as kube prints them (``apimachinery/pkg/util/duration.HumanDuration``).

Every ``AGE`` cell, the Job ``DURATION``, the ``RESTARTS`` "(5m ago)" suffix and CRD ``date`` columns
go through :func:`human_duration`. Its rules give ~2-3 significant figures:

* under 2 minutes: seconds (``"0s"``, ``"59s"``, ``"119s"``);
* under 10 minutes: minutes and seconds (``"5m"``, ``"5m30s"``); under 3 hours: minutes (``"179m"``);
* under 8 hours: hours and minutes (``"3h"``, ``"7h59m"``); under 2 days: hours (``"47h"``);
* under 8 days: days and hours (``"2d3h"``); under 2 years: days (``"400d"``);
* under 8 years: years and days (``"3y45d"``); beyond: years.

Clock skew: a timestamp up to 1s in the future prints ``"0s"``, further in the future ``"<invalid>"``
(Go truncates ``d.Seconds()`` toward zero before comparing with -1). A missing or zero timestamp
prints ``"<unknown>"``.

Invariant: nothing here reads the clock. Callers pass ``now`` (timezone-aware), so rows are
deterministic and tests use fixed instants. Arithmetic is done in whole microseconds, the finest
unit both ``datetime`` and kube's RFC 3339 timestamps carry, so no float rounding can move a
boundary (``"119s"`` vs ``"2m"``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

_US = 1_000_000
_MINUTE = 60 * _US
_HOUR = 60 * _MINUTE

# time.RFC3339 as Go parses it: fractional seconds allowed, "Z" or a numeric offset, upper-case T/Z.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})",
)
_ZERO = datetime(1, 1, 1, tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration`` for a duration given in seconds (may be negative)."""
    return human_duration_us(round(seconds * _US))


def human_duration_us(us: int) -> str:
    """:func:`human_duration` on an exact count of microseconds."""
    whole_seconds = -((-us) // _US) if us < 0 else us // _US  # truncation toward zero, as Go's int()
    if whole_seconds < -1:
        return "<invalid>"
    if whole_seconds < 0:
        return "0s"
    if whole_seconds < 120:
        return f"{whole_seconds}s"
    minutes = us // _MINUTE
    if minutes < 10:
        s = whole_seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = us // _HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime | None:
    """A ``metav1.Time``/``MicroTime`` JSON value as an aware UTC datetime; None for null, "" or zero.

    Unparseable text also gives None: a stored object always went through the decoder, so this only
    guards against hand-made objects in tests.
    """
    if isinstance(value, datetime):
        parsed = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return None if parsed == _ZERO else parsed.astimezone(UTC)
    if not isinstance(value, str) or not value:
        return None
    m = _RFC3339.fullmatch(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    if frac:
        parsed += timedelta(microseconds=int(frac[:6].ljust(6, "0")))
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        parsed -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return None if parsed == _ZERO else parsed


def is_rfc3339(value: str) -> bool:
    """Whether ``time.Parse(time.RFC3339, value)`` would accept ``value``."""
    m = _RFC3339.fullmatch(value)
    if m is None:
        return False
    try:
        datetime(
            int(m.group(1)),
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            int(m.group(6)),
        )
    except ValueError:
        return False
    return True


def between(start: datetime, end: datetime) -> str:
    """``HumanDuration(end.Sub(start))``."""
    return human_duration_us((end - start) // timedelta(microseconds=1))


def since(value: Any, now: datetime) -> str:
    """``translateTimestampSince``: the age of a timestamp, ``"<unknown>"`` when unset."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return between(t, now)


def rfc3339(value: Any) -> str:
    """A timestamp in UTC, second precision (``Time.UTC().Format(time.RFC3339)``); zero when unset."""
    t = parse_time(value)
    if t is None:
        return "0001-01-01T00:00:00Z"
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"
