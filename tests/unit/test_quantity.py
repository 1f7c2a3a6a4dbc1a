"""Resource quantities: parsing, canonical form (as kube prints it), rounding, comparison."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.resources.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    FORMAT_ERROR,
    SUFFIX_ERROR,
    QuantityError,
    canonical_quantity,
    is_quantity,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("100m", "100m"),
        ("1Gi", "1Gi"),
        ("1e3", "1e3"),
        ("0.5", "500m"),
        ("1.5", "1500m"),
        ("1.5Gi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("1024Mi", "1Gi"),
        ("2.5Mi", "2560Ki"),
        ("1000", "1k"),
        ("1000m", "1"),
        ("5e2", "500"),
        ("12e6", "12e6"),
        ("0.1m", "100u"),
        ("+1", "+1"),  # Go keeps an already-canonical spelling verbatim
        ("007", "007"),
        ("0", "0"),
        ("0Mi", "0"),
        ("-1.5", "-1500m"),
        ("512", "512"),
        ("0.5Ki", "512"),  # BinarySI below 1024 prints as DecimalSI
        (" 250m ", "250m"),
        (1, "1"),
        (0.25, "250m"),
    ],
)
def test_canonical_form_matches_kube(raw: object, canonical: str) -> None:
    assert canonical_quantity(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [
        ("1Ki", BINARY_SI),
        ("1k", DECIMAL_SI),
        ("1e3", DECIMAL_EXPONENT),
        ("0.5Ki", BINARY_SI),
        ("0.0001Ki", DECIMAL_SI),
    ],
)
def test_format_follows_suffix(raw: str, fmt: str) -> None:
    assert parse_quantity(raw).format == fmt


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", FORMAT_ERROR),
        ("", FORMAT_ERROR),
        ("1.2.3", FORMAT_ERROR),
        ("1Kb", FORMAT_ERROR),
        ("Gi", FORMAT_ERROR),
        ("1e-", SUFFIX_ERROR),
        ("1m5", SUFFIX_ERROR),
        (True, FORMAT_ERROR),
        (None, FORMAT_ERROR),
        ({"a": 1}, FORMAT_ERROR),
    ],
)
def test_invalid_quantities_report_apimachinery_message(raw: object, message: str) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(raw)
    assert str(info.value) == message
    assert is_quantity(raw) is False


def test_format_error_text() -> None:
    assert FORMAT_ERROR == (
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


def test_values_are_exact() -> None:
    assert parse_quantity("100m").value == Fraction(1, 10)
    assert parse_quantity("1Gi").value == 2**30
    assert parse_quantity("1.5Gi").value == 3 * 2**29
    assert parse_quantity("1n").value == Fraction(1, 10**9)


def test_sub_nano_values_round_up_to_nano() -> None:
    assert parse_quantity("0.1n").value == Fraction(1, 10**9)
    assert parse_quantity("0.1n").canonical() == "1n"
    assert parse_quantity("-0.1n").canonical() == "-1n"


def test_round_up_to_milli_like_the_resource_list_defaulter() -> None:
    assert parse_quantity("1n").round_up(-3).canonical() == "1m"
    assert parse_quantity("1500u").round_up(-3).canonical() == "2m"
    assert parse_quantity("-1500u").round_up(-3).canonical() == "-2m"
    kept = parse_quantity("+1")
    assert kept.round_up(-3) is kept


def test_comparison_and_arithmetic() -> None:
    assert parse_quantity("500m") < parse_quantity("1")
    assert parse_quantity("1Gi") > parse_quantity("1G")
    assert parse_quantity("1000m") == parse_quantity("1")
    assert parse_quantity("1").cmp(parse_quantity("1000m")) == 0
    assert (parse_quantity("100m") + parse_quantity("200m")).canonical() == "300m"
    assert (parse_quantity("1Gi") - parse_quantity("512Mi")).canonical() == "512Mi"
    assert (parse_quantity("0") + parse_quantity("1Ki")).format == BINARY_SI


def test_integer_views_round_up() -> None:
    assert parse_quantity("100m").value_int() == 1
    assert parse_quantity("1500m").milli_value() == 1500
    assert parse_quantity("1.5u").milli_value() == 1
    assert parse_quantity("-1.5").value_int() == -2


_suffixes = st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "e3", "e-3", "n", "u"])


@given(
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=0, max_value=999),
    st.booleans(),
    _suffixes,
)
def test_canonical_round_trips_to_the_same_value(whole: int, frac: int, neg: bool, suffix: str) -> None:
    text = f"{'-' if neg else ''}{whole}.{frac:03d}{suffix}"
    q = parse_quantity(text)
    again = parse_quantity(q.canonical())
    assert again.value == q.value
    assert parse_quantity(again.canonical()).canonical() == again.canonical()
