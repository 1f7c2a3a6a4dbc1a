"""Label and field selectors: ``?labelSelector=`` / ``?fieldSelector=`` and ``metav1.LabelSelector``.

Reproduces ``k8s.io/apimachinery/pkg/labels`` (``Parse``, ``Requirement.Matches``, ``String``),
``metav1.LabelSelectorAsSelector`` and ``k8s.io/apimachinery/pkg/fields.ParseSelector``, including
their error texts, because the API server answers a bad selector with a 400 whose message is the
parser's error verbatim (``unable to parse requirement: found 'b', expected: ',' or 'end of string'``)
and clients surface it unchanged.

Exception tree::

    ValueError
     └── SelectorError   str(err) is kube's message; the caller answers 400 BadRequest with it

Label grammar (kube's lexer works on bytes; every special character is ASCII so characters do):
``key``, ``!key``, ``key=v``, ``key==v``, ``key!=v``, ``key in (a,b)``, ``key notin (a)``,
``key>3``, ``key<3``, comma-joined, blanks ignored. Keys must be qualified names, values valid label
values; the key error names its field ``<nil>`` because the parser validates keys with a nil field
path (a quirk every real server shows). Requirements are kept sorted by key (stable, like Go's
insertion sort on the short lists selectors are), which fixes :meth:`LabelSelector.__str__`.

Field grammar: ``a=b``, ``a==b``, ``a!=b``, comma-joined; ``\\``, ``,`` and ``=`` in values are
escaped with a backslash. Terms are sorted as strings before parsing (so the first bad term in
sorted order is the one reported). Which fields a kind accepts is decided elsewhere
(``ferry.cluster.resources.fieldselectors``); a field an object lacks compares as ``""``.

Invariant: both selector types are immutable after parsing, so one parsed selector can be shared by
every watcher of a request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

BINARY_OPERATORS = ("in", "notin", "=", "==", "!=", "gt", "lt")
_EXACT = ("=", "==", "!=")
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_TOKENS = {")": "CLOSE", ",": "COMMA", "!": "NOT", "==": "EQ2", "=": "EQ", ">": "GT", "in": "IN", "<": "LT"}
_TOKENS |= {"!=": "NE", "notin": "NOTIN", "(": "OPEN"}
_OPERATOR_OF_TOKEN = {
    "IN": "in",
    "EQ": "=",
    "EQ2": "==",
    "GT": "gt",
    "LT": "lt",
    "NOTIN": "notin",
    "NE": "!=",
}
_NAME_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_DNS1123_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_RE = re.compile(_DNS1123_FMT)
_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_INT64 = re.compile(r"[+-]?[0-9]+")


class SelectorError(ValueError):
    """A selector that does not parse or validate; ``str()`` is kube's message."""


# -- Go-compatible text -------------------------------------------------------------------------------
def go_quote(s: str) -> str:
    """``strconv.Quote`` / ``%q``: double quotes, Go escapes, printable Unicode kept."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out) + '"'


def _go_value(value: Any) -> str:
    """How a field error shows its bad value: ``%q`` for strings, ``%#v`` for string slices."""
    if isinstance(value, str):
        return go_quote(value)
    if value is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"


def _invalid(path: str, value: Any, detail: str) -> str:
    return f"{path}: Invalid value: {_go_value(value)}: {detail}"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    return (
        msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"
    )


def _aggregate(errors: list[str]) -> str:
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def qualified_name_errors(value: str) -> list[str]:
    """``validation.IsQualifiedName``: what is wrong with a label key (empty when valid)."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix.encode()) > 253:
                errs.append("prefix part must be no more than 253 characters")
            if not _DNS1123_RE.fullmatch(prefix):
                errs.append("prefix part " + _regex_error(_DNS1123_MSG, _DNS1123_FMT, "example.com"))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _NAME_RE.fullmatch(name):
        errs.append("name part " + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value_errors(value: str) -> list[str]:
    """``validation.IsValidLabelValue``."""
    errs: list[str] = []
    if len(value.encode()) > 63:
        errs.append("must be no more than 63 characters")
    if value and not _NAME_RE.fullmatch(value):
        errs.append(_regex_error(_VALUE_MSG, f"({_NAME_FMT})?", "MyValue", "my_value", "12345"))
    return errs


def _is_int64(text: str) -> bool:
    return bool(_INT64.fullmatch(text)) and -(2**63) <= int(text) < 2**63


# -- label selectors ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Requirement:
    """One term; ``operator`` is kube's ``selection.Operator`` (``in``, ``=``, ``exists``, ``!``, ``gt``...)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def new(cls, key: str, operator: str, values: list[str] | None) -> Requirement:
        """``labels.NewRequirement``: validate, then build (raises :class:`SelectorError`)."""
        vals = list(values or [])
        errs: list[str] = []
        if problems := qualified_name_errors(key):
            errs.append(_invalid("key", key, "; ".join(problems)))
        if operator in ("in", "notin") and not vals:
            errs.append(_invalid("values", values, "for 'in', 'notin' operators, values set can't be empty"))
        elif operator in _EXACT and len(vals) != 1:
            errs.append(_invalid("values", values, "exact-match compatibility requires one single value"))
        elif operator in ("exists", "!") and vals:
            errs.append(_invalid("values", values, "values set must be empty for exists and does not exist"))
        elif operator in ("gt", "lt"):
            if len(vals) != 1:
                errs.append(
                    _invalid("values", values, "for 'Gt', 'Lt' operators, exactly one value is required")
                )
            for i, v in enumerate(vals):
                if not _is_int64(v):
                    errs.append(
                        _invalid(f"values[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer")
                    )
        for i, v in enumerate(vals):
            if problems := label_value_errors(v):
                errs.append(_invalid(f"values[{i}][{key}]", v, "; ".join(problems)))
        if errs:
            raise SelectorError(_aggregate(errs))
        return cls(key, operator, tuple(vals))

    def matches(self, labels: Mapping[str, str]) -> bool:
        op, present = self.operator, self.key in labels
        if op in ("in", "=", "=="):
            return present and labels[self.key] in self.values
        if op in ("notin", "!="):
            return not present or labels[self.key] not in self.values
        if op == "exists":
            return present
        if op == "!":
            return not present
        if op in ("gt", "lt") and present and len(self.values) == 1:
            have, want = labels[self.key], self.values[0]
            if not (_is_int64(have) and _is_int64(want)):
                return False
            return int(have) > int(want) if op == "gt" else int(have) < int(want)
        return False

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return "!" + self.key
        sym = {"in": " in ", "notin": " notin ", "gt": ">", "lt": "<"}.get(self.operator, self.operator)
        vals = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        return f"{self.key}{sym}({vals})" if self.operator in ("in", "notin") else f"{self.key}{sym}{vals}"


class LabelSelector:
    """A parsed label selector; ``nothing`` selects no object (a nil ``metav1.LabelSelector``)."""

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False) -> None:
        self.requirements: tuple[Requirement, ...] = tuple(sorted(requirements, key=lambda r: r.key))
        self.nothing = nothing

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def empty(self) -> bool:
        """True when it selects everything (kube's ``Selector.Empty``; the nothing-selector is not empty)."""
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return "" if self.nothing else ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "LabelSelector(<nothing>)" if self.nothing else f"LabelSelector({str(self)!r})"


class _Parser:
    """kube's label lexer + recursive-descent parser; errors are raised with kube's wording."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0
        self.items: list[tuple[str, str]] = []
        while not self.items or self.items[-1][0] != "EOS":
            self.items.append(self._lex())
        self.at = 0

    def _read(self) -> str:
        """Go's ``read``: the next character, or NUL at the end (a NUL in the text reads the same)."""
        if self.pos < len(self.text):
            self.pos += 1
            return self.text[self.pos - 1]
        return "\x00"

    def _lex(self) -> tuple[str, str]:
        ch = self._read()
        while ch in _WHITESPACE:
            ch = self._read()
        if ch == "\x00":
            return "EOS", ""
        self.pos -= 1
        buf = ""
        if ch in _SPECIAL:
            last = ("", "")
            while (c := self._read()) != "\x00":
                if c not in _SPECIAL:
                    self.pos -= 1
                    break
                buf += c
                if buf in _TOKENS:
                    last = (_TOKENS[buf], buf)
                elif last[0]:
                    self.pos -= 1
                    break
            return last if last[0] else ("ERROR", f"error expected: keyword found '{buf}'")
        while (c := self._read()) != "\x00":
            if c in _SPECIAL or c in _WHITESPACE:
                self.pos -= 1
                break
            buf += c
        return _TOKENS.get(buf, "ID"), buf

    def _peek(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.items[self.at]
        return ("ID" if values and tok in ("IN", "NOTIN") else tok), lit

    def _next(self, values: bool = True) -> tuple[str, str]:
        self.at += 1
        tok, lit = self.items[self.at - 1]
        return ("ID" if values and tok in ("IN", "NOTIN") else tok), lit

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self._peek()
            if tok == "EOS":
                return reqs
            if tok not in ("ID", "NOT"):
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self._requirement())
            except SelectorError as e:
                raise SelectorError(f"unable to parse requirement: {e}") from None
            tok, lit = self._next()
            if tok == "EOS":
                return reqs
            if tok != "COMMA":
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            tok2, lit2 = self._peek()
            if tok2 not in ("ID", "NOT"):
                raise SelectorError(f"found '{lit2}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        operator = ""
        tok, key = self._next()
        if tok == "NOT":
            operator = "!"
            tok, key = self._next()
        if tok != "ID":
            raise SelectorError(f"found '{key}', expected: identifier")
        if problems := qualified_name_errors(key):
            raise SelectorError(_invalid("<nil>", key, "; ".join(problems)))
        if self._peek()[0] in ("EOS", "COMMA") and operator != "!":
            operator = "exists"
        if operator in ("exists", "!"):
            return Requirement.new(key, operator, [])
        tok, lit = self._next(values=False)
        if tok not in _OPERATOR_OF_TOKEN:
            raise SelectorError(f"found '{lit}', expected: {', '.join(BINARY_OPERATORS)}")
        operator = _OPERATOR_OF_TOKEN[tok]
        values = self._values() if operator in ("in", "notin") else self._exact_value()
        return Requirement.new(key, operator, sorted(values))

    def _values(self) -> set[str]:
        tok, lit = self._next()
        if tok != "OPEN":
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self._peek()
        if tok == "CLOSE":
            self._next()
            return {""}
        if tok not in ("ID", "COMMA"):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values: set[str] = set()
        while True:
            t, item = self._next()
            if t == "ID":
                values.add(item)
                t2, lit2 = self._peek()
                if t2 == "CLOSE":
                    break
                if t2 != "COMMA":
                    raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            elif t == "COMMA":
                if not values:
                    values.add("")
                t2, _ = self._peek()
                if t2 in ("CLOSE", "COMMA"):
                    values.add("")
                if t2 == "CLOSE":
                    break
            else:
                raise SelectorError(f"found '{item}', expected: ',', or identifier")
        if self._next()[0] != "CLOSE":
            raise SelectorError(f"found '{lit}', expected: ')'")
        return values

    def _exact_value(self) -> set[str]:
        if self._peek()[0] in ("EOS", "COMMA"):
            return {""}
        tok, lit = self._next()
        if tok == "ID":
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse_label_selector(text: str) -> LabelSelector:
    """``labels.Parse``: the ``?labelSelector=`` syntax; ``""`` selects everything."""
    return LabelSelector(_Parser(text).parse())


_OBJECT_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def label_selector_from_object(sel: Mapping[str, Any] | None) -> LabelSelector:
    """``metav1.LabelSelectorAsSelector``: None selects nothing, ``{}`` everything."""
    if sel is None:
        return LabelSelector(nothing=True)
    match_labels = sel.get("matchLabels") or {}
    expressions = sel.get("matchExpressions") or []
    reqs = [Requirement.new(str(k), "=", [str(v)]) for k, v in match_labels.items()]
    for expr in expressions:
        if not isinstance(expr, Mapping):
            continue
        op = _OBJECT_OPERATORS.get(str(expr.get("operator", "")))
        if op is None:
            raise SelectorError(
                f"{go_quote(str(expr.get('operator', '')))} is not a valid label selector operator"
            )
        values = expr.get("values")
        reqs.append(Requirement.new(str(expr.get("key", "")), op, None if values is None else list(values)))
    return LabelSelector(reqs)


def format_label_selector(sel: Mapping[str, Any] | None) -> str:
    """The selector as kube serialises it (``Scale.status.selector``): ``""`` for nil or empty."""
    return str(label_selector_from_object(sel))


# -- field selectors ----------------------------------------------------------------------------------
def escape_field_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out, slash = [], False
    for c in value:
        if slash:
            if c not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            slash = False
        elif c == "\\":
            slash = True
        elif c in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    if not text:
        return []
    terms, start, slash = [], 0, False
    for i, c in enumerate(text):
        if slash:
            slash = False
        elif c == "\\":
            slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


@dataclass(frozen=True)
class FieldSelector:
    """Parsed ``?fieldSelector=``: ``(field, op, value)`` with ``op`` ``"="`` (``==`` folds into it) or ``"!="``."""

    requirements: tuple[tuple[str, str, str], ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all((fields.get(f, "") == v) == (op == "=") for f, op, v in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(f"{f}{op}{escape_field_value(v)}" for f, op, v in self.requirements)


def parse_field_selector(text: str) -> FieldSelector:
    """``fields.ParseSelector``."""
    reqs: list[tuple[str, str, str]] = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        for i in range(len(part)):
            op = next((o for o in ("!=", "==", "=") if part.startswith(o, i)), None)
            if op is not None:
                reqs.append((part[:i], "!=" if op == "!=" else "=", _unescape(part[i + len(op) :])))
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
    return FieldSelector(tuple(reqs))
