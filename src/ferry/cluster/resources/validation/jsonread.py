"""Typed reads of untrusted JSON for validators and defaulters of non-workload kinds.

Objects reach the validators exactly as the client sent them (after defaulting): any field may be
missing, ``null``, or of the wrong JSON type. Go's decoder would have rejected a wrong type before
validation ran; here the validator must do it, and must never raise. Every reader therefore takes
the parent path and an error list: a wrong type appends one ``FieldValueTypeInvalid`` error
(``spec.ports: Invalid value: "x": must be of type array``) and returns the zero value, so the
caller can carry on with the same "absent means zero" logic Go code uses (``len(x) == 0``).

Invariants:

* Readers never mutate their input and never raise on any JSON value.
* ``bool`` is not an ``int`` here (Python says it is; JSON and Go say it is not).
* Paths are rendered the way ``field.Path.String()`` renders them: ``a.b[0].c`` for children and
  indexes, ``data[key]`` for map keys (the key is not quoted).
"""

from __future__ import annotations

import json
from typing import Any

from ferry.cluster.apiserver.errors import FieldError
from ferry.cluster.resources.validation.common import wrong_type

Errs = list[FieldError]


def child(path: str, name: str) -> str:
    """``path.Child(name)``: ``spec`` + ``ports`` -> ``spec.ports``."""
    return f"{path}.{name}" if path else name


def index(path: str, i: int) -> str:
    """``path.Index(i)``: ``spec.ports[0]``."""
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    """``path.Key(k)``: ``data[config.yaml]``."""
    return f"{path}[{k}]"


def is_int(value: Any) -> bool:
    """A JSON integer (``true`` is not one; ``3.0`` is, as Go's decoder accepts it for int32)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def as_str(value: Any) -> str:
    """``value`` if it is a string, else ``""`` (no error: for values already reported elsewhere)."""
    return value if isinstance(value, str) else ""


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int | None:
    return int(value) if is_int(value) else None


def dict_at(obj: Any, name: str, path: str, errs: Errs) -> dict[str, Any]:
    """``obj[name]`` as an object; ``{}`` when absent or null, ``{}`` plus an error when mistyped."""
    if not isinstance(obj, dict):
        return {}
    value = obj.get(name)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    errs.append(wrong_type(child(path, name), value, "object"))
    return {}


def list_at(obj: Any, name: str, path: str, errs: Errs) -> list[Any]:
    """``obj[name]`` as an array; ``[]`` when absent or null."""
    if not isinstance(obj, dict):
        return []
    value = obj.get(name)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    errs.append(wrong_type(child(path, name), value, "array"))
    return []


def str_at(obj: Any, name: str, path: str, errs: Errs) -> str:
    """``obj[name]`` as a string; ``""`` when absent or null."""
    if not isinstance(obj, dict):
        return ""
    value = obj.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    errs.append(wrong_type(child(path, name), value, "string"))
    return ""


def opt_str_at(obj: Any, name: str, path: str, errs: Errs) -> str | None:
    """A pointer-to-string field: ``None`` when absent or null (Go's nil), else the string."""
    if not isinstance(obj, dict) or obj.get(name) is None:
        return None
    return str_at(obj, name, path, errs)


def int_at(obj: Any, name: str, path: str, errs: Errs) -> int | None:
    """``obj[name]`` as an integer; ``None`` when absent or null (or mistyped, with an error)."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(name)
    if value is None:
        return None
    if is_int(value):
        return int(value)
    errs.append(wrong_type(child(path, name), value, "integer"))
    return None


def bool_at(obj: Any, name: str, path: str, errs: Errs) -> bool | None:
    """``obj[name]`` as a boolean; ``None`` when absent or null."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    errs.append(wrong_type(child(path, name), value, "boolean"))
    return None


def str_list_at(obj: Any, name: str, path: str, errs: Errs) -> list[str]:
    """An array of strings; mistyped items are reported at their index and skipped."""
    out: list[str] = []
    base = child(path, name)
    for i, item in enumerate(list_at(obj, name, path, errs)):
        if isinstance(item, str):
            out.append(item)
        else:
            errs.append(wrong_type(index(base, i), item, "string"))
    return out


def str_map_at(obj: Any, name: str, path: str, errs: Errs) -> dict[str, str]:
    """A ``map[string]string``; non-string values are reported at ``path[key]`` and skipped."""
    out: dict[str, str] = {}
    base = child(path, name)
    for k, v in dict_at(obj, name, path, errs).items():
        if isinstance(v, str):
            out[str(k)] = v
        else:
            errs.append(wrong_type(key(base, str(k)), v, "string"))
    return out


class GoDuplicateError(FieldError):
    """``field.Duplicate`` whose value prints as Go's ``%#v`` of a struct (``value`` is that text)."""

    def summary(self) -> str:
        base = f"Duplicate value: {self.value}"
        return f"{base}: {self.detail}" if self.detail else base


def duplicate_go(path: str, go_repr: str, detail: str = "") -> FieldError:
    return GoDuplicateError("FieldValueDuplicate", path, detail, go_repr, True)


def go_strings(values: Any, type_name: str = "[]string") -> str:
    """``%#v`` of a string slice: ``[]string{"a", "b"}``; ``[]string(nil)`` when absent."""
    if not isinstance(values, list) or not values:
        return f"{type_name}(nil)" if not isinstance(values, list) else f"{type_name}{{}}"
    return type_name + "{" + ", ".join(json.dumps(str(v), ensure_ascii=False) for v in values) + "}"


def ensure_dict(obj: dict[str, Any], name: str) -> dict[str, Any] | None:
    """For defaulters: ``obj[name]``, created as ``{}`` when absent or null; ``None`` if mistyped."""
    value = obj.get(name)
    if value is None:
        value = obj[name] = {}
    return value if isinstance(value, dict) else None


def dicts(value: Any) -> list[dict[str, Any]]:
    """For defaulters: the object items of ``value`` when it is an array (others are skipped)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


__all__ = [
    "Errs",
    "GoDuplicateError",
    "as_dict",
    "as_int",
    "as_list",
    "as_str",
    "bool_at",
    "child",
    "dict_at",
    "dicts",
    "duplicate_go",
    "ensure_dict",
    "go_strings",
    "index",
    "int_at",
    "is_int",
    "key",
    "list_at",
    "opt_str_at",
    "str_at",
    "str_list_at",
    "str_map_at",
]
