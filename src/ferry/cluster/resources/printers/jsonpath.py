"""The JSONPath subset CRD ``additionalPrinterColumns`` use, and Go's way of printing what it finds.

Supported paths (what CRD validation lets through in practice): ``.a.b``, ``.a[0].b`` (negative
indexes count from the end), ``.a[*].b``, ``['key.with.dots']``, optionally wrapped in ``{...}`` or
led by ``$``. Anything else does not compile and its column prints null cells.

Evaluation follows client-go's ``jsonpath`` with ``AllowMissingKeys(true)``: a missing key, an index
out of range or a field applied to a non-object yields no result instead of an error, and the
column's cell is then null. Only the first result is used (``results[0][0]``), so ``.a[*].b`` shows
the first element's ``b``.

Printing a ``string`` column goes through ``JSONPath.PrintResults``: strings verbatim, booleans
``true``/``false``, numbers as Go's ``fmt.Fprint`` (``%v`` = ``strconv.FormatFloat(f, 'g', -1, 64)``: shortest
digits, exponent form from 1e6 up and below 1e-4, so ``1.5`` but ``1e+06``), objects and arrays as compact
Go JSON (sorted keys, ``<>&`` escaped), and an explicit ``null`` as ``<no value>``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

Step = tuple[str, Any]  # ("field", name) | ("index", i) | ("all", None)

_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(-?\d+)\]|\[\*\]|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")


def compile_path(expr: str) -> list[Step] | None:
    """Parse a column ``jsonPath``; None if it is outside the supported subset."""
    text = expr.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    text = text.removeprefix("$")
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            return None
        field, index, quoted1, quoted2 = m.groups()
        if field is not None:
            steps.append(("field", field))
        elif index is not None:
            steps.append(("index", int(index)))
        elif quoted1 is not None or quoted2 is not None:
            steps.append(("field", quoted1 if quoted1 is not None else quoted2))
        else:
            steps.append(("all", None))
        pos = m.end()
    return steps


def find(obj: Any, steps: list[Step]) -> list[Any]:
    """All values the path reaches, in document order."""
    values = [obj]
    for kind, arg in steps:
        found: list[Any] = []
        for v in values:
            if kind == "field" and isinstance(v, dict) and arg in v:
                found.append(v[arg])
            elif kind == "index" and isinstance(v, list):
                i = arg + len(v) if arg < 0 else arg
                if 0 <= i < len(v):
                    found.append(v[i])
            elif kind == "all" and isinstance(v, list):
                found.extend(v)
        values = found
    return values


def _digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of ``abs(f)`` and the decimal point position (``0.d1d2.. x 10^dp``)."""
    _, digits, exponent = Decimal(repr(abs(f))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    stripped = len("".join(map(str, digits))) - len(text)
    assert isinstance(exponent, int)
    return text, len(text) + exponent + stripped


def go_float(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)``, which is what ``fmt.Fprint`` prints for a float64."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    sign = "-" if f < 0 else ""
    digits, dp = _digits(f)
    exp = dp - 1
    if exp < -4 or exp >= 6:  # 'g' with the shortest precision decides as if the precision were 6
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def _go_json_float(f: float) -> str:
    """``encoding/json`` floats: plain decimals in [1e-6, 1e21), else ``1e-7`` / ``1e+21`` style."""
    if f == 0 or 1e-6 <= abs(f) < 1e21:
        sign = "-" if f < 0 else ""
        digits, dp = _digits(f) if f else ("0", 1)
        if dp <= 0:
            return f"{sign}0.{'0' * -dp}{digits}"
        if dp >= len(digits):
            return sign + digits + "0" * (dp - len(digits))
        return f"{sign}{digits[:dp]}.{digits[dp:]}"
    text = go_float(f)
    return re.sub(r"e([+-])0(\d)$", r"e\1\2", text)


def go_json(value: Any) -> str:
    """``json.Marshal`` of a decoded JSON value: compact, map keys sorted, HTML-safe escapes."""
    if isinstance(value, dict):
        items = (f"{go_json(str(k))}:{go_json(value[k])}" for k in sorted(value, key=str))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, float):
        return _go_json_float(value)
    text = json.dumps(value, ensure_ascii=False)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def go_text(value: Any) -> str:
    """``PrintResults`` of one value (a ``string`` column's cell)."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, int):
        return str(value)
    return go_json(value)
