"""Kubernetes resource quantities (``100m``, ``1Gi``, ``1e3``, ``0.5``): parse, compare, print.

A quantity is an exact rational number plus the *format* its suffix implied (``DecimalSI`` for
``m``/``k``/``M``..., ``BinarySI`` for ``Ki``/``Mi``..., ``DecimalExponent`` for ``e3``). Python's
``Fraction`` holds the value, so nothing is ever a float: ``0.1 + 0.2`` CPUs is exactly ``300m``.

This mirrors ``k8s.io/apimachinery/pkg/api/resource`` (v0.32) where clients can see it:

* **Canonical form** (what ``kubectl get -o yaml`` shows after a round trip through the API
  server): the largest suffix that keeps the mantissa an integer, in the quantity's own format
  family: ``1.5`` → ``1500m``, ``1.5Gi`` → ``1536Mi``, ``1000`` → ``1k``, ``0.5Gi`` → ``512Mi``.
  A BinarySI value below 1024 in magnitude, or one that is not a whole number, prints as
  DecimalSI (``0.5Ki`` → ``512``).
* **Original spelling kept** when the parser's fast path judges it already canonical (an
  integer mantissa without trailing ``000`` and an exponent that is a multiple of 3): ``+1``
  stays ``+1``, ``100m`` stays ``100m``. This is Go's cached string; we keep it in ``text``.
* **Rounding**: a parsed value finer than 1n is rounded *up* (away from zero) to 1n, and the
  API defaulter rounds container resource lists up to 1m (:meth:`Quantity.round_up`).

Invariant: ``parse_quantity(q.canonical()) == q`` (same value) for every parsed ``q``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

SPLIT_RE = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
FORMAT_ERROR = f"quantities must match the regular expression '{SPLIT_RE}'"
NUMERIC_ERROR = "unable to parse numeric part of quantity"
SUFFIX_ERROR = "unable to parse quantity's suffix"

_DEC_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_BY_EXP = {v: k for k, v in _DEC_SUFFIX.items()}
_BIN_SUFFIX = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BIN_BY_EXP = {v // 10: k for k, v in _BIN_SUFFIX.items()}
_NUMBER_RE = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?")
_SUFFIX_RE = re.compile(r"[eEinumkKMGTP]*[-+]?\d*")
_MAX_INT64 = 2**63 - 1
_NANO = Fraction(1, 10**9)


class QuantityError(ValueError):
    """A string that is not a quantity; ``str(err)`` is apimachinery's message."""


@dataclass(frozen=True)
class Quantity:
    """An exact quantity. ``text`` is the spelling kube keeps verbatim, or None."""

    value: Fraction
    format: str = DECIMAL_SI
    text: str | None = None

    # ---- comparison ---------------------------------------------------------------------------
    def cmp(self, other: Quantity) -> int:
        return (self.value > other.value) - (self.value < other.value)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __le__(self, other: Quantity) -> bool:
        return self.value <= other.value

    def __gt__(self, other: Quantity) -> bool:
        return self.value > other.value

    def __ge__(self, other: Quantity) -> bool:
        return self.value >= other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def is_zero(self) -> bool:
        return self.value == 0

    # ---- arithmetic (the scheduler sums requests) ---------------------------------------------
    def __add__(self, other: Quantity) -> Quantity:
        fmt = other.format if self.value == 0 else self.format
        return Quantity(self.value + other.value, fmt)

    def __sub__(self, other: Quantity) -> Quantity:
        fmt = other.format if self.value == 0 else self.format
        return Quantity(self.value - other.value, fmt)

    def value_int(self) -> int:
        """``Value()``: the integer value, rounded up (away from zero)."""
        return _round_away(self.value)

    def milli_value(self) -> int:
        """``MilliValue()``: the value in thousandths, rounded up (away from zero)."""
        return _round_away(self.value * 1000)

    def round_up(self, scale: int) -> Quantity:
        """``RoundUp(scale)``: round away from zero to a multiple of 10^scale (-3 = milli).

        A value already on that grid is returned unchanged, spelling included (Go keeps its
        cached string when no rounding happens).
        """
        step = Fraction(10) ** scale
        units = self.value / step
        if units.denominator == 1:
            return self
        return Quantity(_round_away(units) * step, self.format)

    # ---- printing -----------------------------------------------------------------------------
    def canonical(self) -> str:
        """The string kube-apiserver serializes this quantity as."""
        if self.text is not None:
            return self.text
        return _canonicalize(self.value, self.format)

    def __str__(self) -> str:
        return self.canonical()

    def __repr__(self) -> str:
        return f"Quantity({self.canonical()!r})"


def _round_away(x: Fraction) -> int:
    return math.ceil(x) if x >= 0 else math.floor(x)


def _split(value: str) -> tuple[bool, str, str, str]:
    """Return (positive, numerator digits, denominator digits, suffix), Go's scanner rules."""
    if not re.fullmatch(SPLIT_RE, value):
        raise QuantityError(FORMAT_ERROR)
    m = _NUMBER_RE.match(value)
    assert m is not None
    sign, num, denom = m.group(1), m.group(2), m.group(3) or ""
    suffix = value[m.end() :]
    if not _SUFFIX_RE.fullmatch(suffix):
        raise QuantityError(FORMAT_ERROR)
    num = num.lstrip("0") or "0"
    return sign != "-", num, denom, suffix


def _interpret(suffix: str) -> tuple[int, int, str]:
    """Suffix → (base, exponent, format)."""
    if suffix in _DEC_SUFFIX:
        return 10, _DEC_SUFFIX[suffix], DECIMAL_SI
    if suffix in _BIN_SUFFIX:
        return 2, _BIN_SUFFIX[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        try:
            return 10, int(suffix[1:]), DECIMAL_EXPONENT
        except ValueError:
            pass
    raise QuantityError(SUFFIX_ERROR)


def parse_quantity(raw: Any) -> Quantity:
    """Parse a JSON quantity (string, or a JSON number) the way ``ParseQuantity`` does."""
    if isinstance(raw, str):
        return _parse_text(raw)  # the common case, cached: the same few strings recur in every pod
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise QuantityError(FORMAT_ERROR)
    return _parse_uncached(str(raw) if isinstance(raw, int) else repr(raw))


@functools.lru_cache(maxsize=4096)
def _parse_text(raw: str) -> Quantity:
    return _parse_uncached(raw.strip())


def _parse_uncached(text: str) -> Quantity:
    if not text:
        raise QuantityError(FORMAT_ERROR)
    if text == "0":
        return Quantity(Fraction(0), DECIMAL_SI, "0")
    positive, num, denom, suffix = _split(text)
    base, exponent, fmt = _interpret(suffix)
    digits = int(num + denom) if (num + denom) else 0
    magnitude = Fraction(digits, 10 ** len(denom))
    magnitude *= Fraction(10) ** exponent if base == 10 else Fraction(2) ** exponent
    keep = _fast_path_keeps(num, denom, exponent, fmt, digits)
    if magnitude != 0 and (magnitude / _NANO).denominator != 1:
        magnitude = Fraction(math.ceil(magnitude / _NANO)) * _NANO
        keep = False
    if fmt == BINARY_SI and magnitude > _MAX_INT64:
        magnitude, keep = Fraction(_MAX_INT64), False
    if fmt == BINARY_SI and 0 < magnitude < 1:
        fmt = DECIMAL_SI
    value = magnitude if positive else -magnitude
    return Quantity(value, fmt, text if keep else None)


def _fast_path_keeps(num: str, denom: str, exponent: int, fmt: str, digits: int) -> bool:
    """Whether Go's int64 fast path caches the input string as already canonical."""
    if fmt == BINARY_SI:
        if denom or exponent < 0:
            return False
        precision = 15 - len(num) - int(exponent * 3 / 10) - 1
        if precision < 0 or digits << exponent > _MAX_INT64:
            return False
        return exponent % 10 == 0 and digits & 0x07 != 0
    if 18 - len(num) - len(denom) < 0:
        return False
    scale = exponent - len(denom)
    shifted = num + denom
    if scale < -9 or digits > _MAX_INT64:
        return False
    return scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"


def _canonicalize(value: Fraction, fmt: str) -> str:
    if value == 0:
        return "0"
    if fmt == BINARY_SI:
        if -1024 < value < 1024 or value.denominator != 1:
            fmt = DECIMAL_SI
        else:
            whole, exp = int(value), 0
            while whole % 1024 == 0 and exp < 6:
                whole //= 1024
                exp += 1
            return f"{whole}{_BIN_BY_EXP.get(exp, '')}"
    # Decimal: mantissa * 10^exp with an integer mantissa, exp a multiple of 3, as large as possible.
    exp = 0
    mantissa = value
    while mantissa.denominator != 1:
        mantissa *= 10
        exp -= 1
    m = int(mantissa)
    while m % 10 == 0:
        m //= 10
        exp += 1
    while exp % 3 != 0:
        m *= 10
        exp -= 1
    if fmt == DECIMAL_EXPONENT:
        return f"{m}e{exp}" if exp else str(m)
    suffix = _DEC_BY_EXP.get(exp)
    return f"{m}{suffix}" if suffix is not None else f"{m}e{exp}"


def canonical_quantity(raw: Any) -> str:
    """The canonical string for a raw JSON quantity (raises :class:`QuantityError`)."""
    return parse_quantity(raw).canonical()


def is_quantity(raw: Any) -> bool:
    try:
        parse_quantity(raw)
    except QuantityError:
        return False
    return True
