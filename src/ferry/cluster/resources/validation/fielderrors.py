"""Reporting bad values: wrong JSON types, and values printed the way Go prints them.

Validators take *untrusted JSON* (whatever the client sent) and never raise: a value of the wrong
JSON type becomes a ``FieldValueTypeInvalid`` error (:func:`wrong_type`; :func:`str_dict_errors`
for ``map[string]string`` fields) instead.

kube prints some bad values with Go's ``%#v`` (``map[string]string{"app":"x"}``,
``v1.LabelSelector{...}``, ``intstr.IntOrString{...}``); :class:`GoValueError`,
:func:`invalid_go`, :func:`not_supported_go` and the ``go_*`` renderers reproduce those spellings
so the 422 text matches a real cluster's.
"""

from __future__ import annotations

import json
from typing import Any

from ferry.cluster.apiserver.errors import FieldError, type_invalid

_JSON_TYPES: dict[type, str] = {dict: "object", list: "array", str: "string", bool: "boolean"}


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def wrong_type(path: str, value: Any, expected: str) -> FieldError:
    """A value of the wrong JSON type (``must be of type object``)."""
    return type_invalid(path, value, f"must be of type {expected}")


class GoValueError(FieldError):
    """A FieldError whose bad value prints as Go's ``%#v`` (``map[string]string{"app":"x"}``).

    ``errors._quote`` renders dicts as JSON; kube prints Go syntax for struct and map values, so
    validators that must match such messages exactly pass the Go rendering as ``value``.
    """

    def summary(self) -> str:
        label = "Unsupported value" if self.type == "FieldValueNotSupported" else "Invalid value"
        base = f"{label}: {self.value}"
        return f"{base}: {self.detail}" if self.detail else base


def invalid_go(path: str, go_repr: str, detail: str) -> FieldError:
    """``field.Invalid`` with a value already rendered in Go syntax."""
    return GoValueError("FieldValueInvalid", path, detail, go_repr, True)


def not_supported_go(path: str, go_repr: str, supported: list[str]) -> FieldError:
    """``field.NotSupported`` with a value already rendered in Go syntax."""
    detail = "supported values: " + ", ".join(json.dumps(v) for v in supported)
    return GoValueError("FieldValueNotSupported", path, detail, go_repr, True)


def go_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def go_string_map(value: Any) -> str:
    """``%#v`` of a ``map[string]string`` (keys sorted, as fmt prints maps); None → ``(nil)``."""
    if not isinstance(value, dict):
        return "map[string]string(nil)"
    body = ", ".join(f"{go_string(str(k))}:{go_string(str(v))}" for k, v in sorted(value.items()))
    return "map[string]string{" + body + "}"


def go_label_selector(sel: Any) -> str:
    """``%#v`` of a ``metav1.LabelSelector`` (how kube prints ``spec.selector`` in errors)."""
    sel = sel if isinstance(sel, dict) else {}
    exprs = sel.get("matchExpressions")
    if isinstance(exprs, list):
        items = []
        for req in exprs:
            req = req if isinstance(req, dict) else {}
            values = req.get("values")
            shown = (
                "[]string{" + ", ".join(go_string(str(v)) for v in values) + "}"
                if isinstance(values, list)
                else "[]string(nil)"
            )
            items.append(
                f"v1.LabelSelectorRequirement{{Key:{go_string(str(req.get('key') or ''))}, "
                f"Operator:{go_string(str(req.get('operator') or ''))}, Values:{shown}}}"
            )
        expr_repr = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    else:
        expr_repr = "[]v1.LabelSelectorRequirement(nil)"
    labels = go_string_map(sel.get("matchLabels"))
    return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{expr_repr}}}"


def go_int_or_string(value: Any) -> str:
    """``%#v`` of an ``intstr.IntOrString`` (``intstr.IntOrString{Type:1, IntVal:0, StrVal:"25%"}``)."""
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_string(value)}}}"
    number = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return f'intstr.IntOrString{{Type:0, IntVal:{number}, StrVal:""}}'


def str_dict_errors(value: Any, path: str) -> tuple[dict[str, str], list[FieldError]]:
    """Coerce a JSON ``map[string]string``; report non-object maps and non-string values."""
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        return {}, [wrong_type(path, value, "object")]
    out: dict[str, str] = {}
    errs: list[FieldError] = []
    for k, v in value.items():
        if not isinstance(v, str):
            errs.append(wrong_type(f"{path}[{k}]", v, "string"))
        else:
            out[str(k)] = v
    return out, errs
