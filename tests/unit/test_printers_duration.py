"""Human durations and timestamps exactly as apimachinery's ``duration.HumanDuration`` prints them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.resources.printers import human_duration
from ferry.cluster.resources.printers.duration import between, is_rfc3339, parse_time, rfc3339, since

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

MINUTE, HOUR, DAY, YEAR = 60, 3600, 86400, 365 * 86400


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),  # seconds up to 2 minutes
        (120, "2m"),
        (330, "5m30s"),
        (300, "5m"),
        (599, "9m59s"),
        (600, "10m"),  # no seconds from 10 minutes
        (3 * HOUR - 1, "179m"),
        (3 * HOUR, "3h"),
        (7 * HOUR + 59 * MINUTE, "7h59m"),
        (8 * HOUR, "8h"),
        (47 * HOUR, "47h"),
        (2 * DAY, "2d"),
        (2 * DAY + 3 * HOUR, "2d3h"),
        (8 * DAY - 1, "7d23h"),
        (8 * DAY, "8d"),
        (2 * YEAR - 1, "729d"),
        (2 * YEAR, "2y"),
        (3 * YEAR + 45 * DAY, "3y45d"),
        (8 * YEAR - 1, "7y364d"),
        (8 * YEAR, "8y"),
        (20 * YEAR + 100 * DAY, "20y"),
        (59.999, "59s"),  # truncation, not rounding
        (-1, "0s"),  # clock skew of up to a second is "now"
        (-1.9, "0s"),
        (-2, "<invalid>"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_since_missing_or_zero_timestamp_is_unknown() -> None:
    assert since(None, NOW) == "<unknown>"
    assert since("", NOW) == "<unknown>"
    assert since("0001-01-01T00:00:00Z", NOW) == "<unknown>"


def test_since_future_timestamp() -> None:
    assert since("2024-05-01T12:00:01Z", NOW) == "0s"
    assert since("2024-05-01T12:00:05Z", NOW) == "<invalid>"


def test_since_parses_offsets_and_fractions() -> None:
    assert since("2024-05-01T13:55:00+02:00", NOW) == "5m"
    assert since("2024-05-01T11:59:30.123456Z", NOW) == "29s"
    assert since(NOW - timedelta(hours=50), NOW) == "2d2h"


def test_parse_time_rejects_non_rfc3339() -> None:
    assert parse_time("2024-05-01 12:00:00") is None
    assert parse_time("2024-13-01T00:00:00Z") is None
    assert parse_time(12) is None
    assert parse_time("2024-05-01T12:00:00.5Z") == datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)


def test_is_rfc3339() -> None:
    assert is_rfc3339("2024-05-01T12:00:00Z")
    assert is_rfc3339("0001-01-01T00:00:00Z")
    assert not is_rfc3339("yesterday")
    assert not is_rfc3339("2024-02-30T00:00:00Z")


def test_rfc3339_created_at() -> None:
    assert rfc3339("2024-05-01T14:00:00+02:00") == "2024-05-01T12:00:00Z"
    assert rfc3339("2024-05-01T12:00:00.999Z") == "2024-05-01T12:00:00Z"
    assert rfc3339(None) == "0001-01-01T00:00:00Z"


def test_between_uses_exact_microseconds() -> None:
    start = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert between(start, start + timedelta(seconds=119, microseconds=999999)) == "119s"
    assert between(start, start + timedelta(seconds=120)) == "2m"


@given(st.integers(min_value=0, max_value=50 * YEAR))
def test_human_duration_is_monotonic_in_units(seconds: int) -> None:
    """Every output is a number followed by a unit, optionally a second (smaller) pair."""
    text = human_duration(seconds)
    units = "".join(c for c in text if not c.isdigit())
    assert units in {"s", "m", "ms", "h", "hm", "d", "dh", "y", "yd"}
