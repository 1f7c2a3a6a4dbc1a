"""JSON merge patch (RFC 7386) and the JSON-value helpers every patch engine shares.

``application/merge-patch+json`` is the simplest patch kube accepts (``kubectl scale`` sends
``{"spec":{"replicas":3}}`` to ``/scale``; ``kubectl patch --type merge``): objects merge recursively,
``null`` deletes a key, and anything else (arrays included) replaces the target wholesale. There are no
merge keys and no directives, so the same engine serves built-in and custom kinds alike.

Invariants:

* Pure: inputs are never mutated; results share no mutable structure with them.
* JSON equality is not Python equality: ``True == 1`` and ``1 == 1.0`` hold in Python, but JSON keeps
  booleans and numbers apart while ``1`` and ``1.0`` are the same number. :func:`json_equal` is the one
  comparison the patch engines use (``test`` ops, merge keys, field-level diffs).
* ``create_merge_patch(a, b)`` is the inverse: applying it to ``a`` yields ``b`` whenever ``b`` holds no
  ``null`` values (RFC 7386 cannot express "set to null").
"""

from __future__ import annotations

from typing import Any


def deep_copy(value: Any) -> Any:
    """Copy a JSON value (dicts, lists, scalars) without ``copy.deepcopy``'s memo overhead."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def json_equal(a: Any, b: Any) -> bool:
    """Structural JSON equality: booleans never equal numbers; ``1 == 1.0``; key order is irrelevant."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict):
        if not isinstance(b, dict) or len(a) != len(b):
            return False
        return all(k in b and json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) and bool(a == b)


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 ``MergePatch(target, patch)``; returns a new value."""
    if not isinstance(patch, dict):
        return deep_copy(patch)
    result: dict[str, Any] = deep_copy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def create_merge_patch(original: Any, modified: Any) -> Any:
    """The RFC 7386 patch that turns ``original`` into ``modified`` (keys removed become ``null``)."""
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return deep_copy(modified)
    patch: dict[str, Any] = {}
    for key in original:
        if key not in modified:
            patch[key] = None
    for key, value in modified.items():
        if key not in original:
            patch[key] = deep_copy(value)
            continue
        old = original[key]
        if json_equal(old, value):
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            sub = create_merge_patch(old, value)
            if sub:
                patch[key] = sub
        else:
            patch[key] = deep_copy(value)
    return patch
