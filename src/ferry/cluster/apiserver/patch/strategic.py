"""Strategic merge patch: kubectl's default patch type, built-in kinds only.

Semantics (apimachinery ``strategicpatch``, server side, ``MergeParallelList`` and
``IgnoreUnmatchedNulls`` on):

* Maps merge recursively; ``key: null`` deletes. A field whose strategy is ``replace`` (PDB
  ``spec.selector``) is replaced instead.
* Lists with strategy ``merge`` and a merge key merge item by item on that key; ``merge`` lists of
  scalars are a union; every other list is replaced.
* Directives: ``{"$patch": "replace"}`` / ``"delete"`` in a map (replace it with the other keys / make it
  empty); ``{"$patch": "delete", <key>: v}`` as a list item deletes that item; ``{"$patch": "replace"}``
  as a list item replaces the whole list with the other items; ``$retainKeys`` drops every key of the
  merged map not listed (``strategy`` RollingUpdate -> Recreate); ``$deleteFromPrimitiveList/<list>``
  removes values from a scalar merge list; ``$setElementOrder/<list>`` fixes the final order.
  ``$patch: merge`` is accepted as the explicit default (kube rejects it; nothing sends it).

Ordering (what ``kubectl apply`` relies on, from the ``preserve-order-in-strategic-merge-patch``
design): items named by the patch (or by ``$setElementOrder``) come in that order; items only the
server has keep their relative order and are slotted in front of the first patch item that follows them
in the live list. See :func:`_interleave`.

The engine works on a private deep copy of both documents and may edit them freely; callers get a new
object. Malformed patches raise :class:`PatchError` with kube's wording (``code`` 400 for the
directive-format errors kube answers as BadRequest).
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.patch.errors import PatchError
from ferry.cluster.apiserver.patch.mergepatch import deep_copy, json_equal
from ferry.cluster.apiserver.patch.meta import TypeNode

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder"
DELETE_FROM = "$deleteFromPrimitiveList"


def apply_strategic_merge_patch(
    original: dict[str, Any], patch: dict[str, Any], meta: TypeNode
) -> dict[str, Any]:
    """Apply ``patch`` to ``original`` using the merge keys and strategies of ``meta``."""
    if not isinstance(patch, dict):
        raise PatchError("invalid JSON document", code=400)
    base = deep_copy(original) if isinstance(original, dict) else {}
    return _merge_map(base, deep_copy(patch), meta)


def go_format(value: Any) -> str:
    """Go's ``%v`` rendering of a decoded JSON value (used in kube's error messages)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    return str(value)


def _go_type(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    return "float64" if isinstance(value, (int, float)) else "string"


def _bad_arg(expected: str, actual: Any) -> PatchError:
    return PatchError(f"expected a {expected}, but received a {_go_type(actual)}")


def _no_merge_key(item: Any, key: str) -> PatchError:
    return PatchError(f"map: {go_format(item)} does not contain declared merge key: {key}")


def _shape(value: Any) -> str:
    return "map" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"


def _merge_map(original: dict[str, Any], patch: dict[str, Any], node: TypeNode) -> dict[str, Any]:
    if DIRECTIVE in patch:
        directive = patch.pop(DIRECTIVE)
        if directive == "replace":
            return _fresh_map(patch, node)
        if directive == "delete":
            return {}
        if directive != "merge":
            raise PatchError(f"unknown patch type: {go_format(directive)} in map: {go_format(patch)}")
    _retain_keys(original, patch)
    _set_element_orders(original, patch, node)
    for key, value in list(patch.items()):
        is_delete = key.startswith(DELETE_FROM)
        if is_delete:
            key = _directive_target(key, DELETE_FROM, "invalid patch format of primitive list")
        if value is None:
            original.pop(key, None)
            continue
        if key not in original:
            if not is_delete:
                _put_fresh(original, key, value, node.field(key))
            continue
        current = original[key]
        if _shape(current) != _shape(value):
            if not is_delete:
                _put_fresh(original, key, value, node.field(key))
            continue
        child = node.field(key)
        if isinstance(value, dict):
            original[key] = (
                _fresh_map(value, child) if child.strategy == "replace" else _merge_map(current, value, child)
            )
        elif isinstance(value, list):
            original[key] = _merge_list(current, value, child, is_delete=is_delete)
        else:
            original[key] = value
    return original


def _directive_target(key: str, prefix: str, message: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise PatchError(message, code=400)
    return rest


def _put_fresh(original: dict[str, Any], key: str, value: Any, node: TypeNode) -> None:
    """A key the original lacks: take the patch value with nulls and directives resolved."""
    if isinstance(value, dict) and value.get(DIRECTIVE) == "delete":
        return
    original[key] = _fresh(value, node)


def _fresh(value: Any, node: TypeNode) -> Any:
    if isinstance(value, dict):
        return _fresh_map(value, node)
    if isinstance(value, list):
        if node.strategy == "merge":
            return _merge_list([], value, node, is_delete=False)
        return [_fresh(v, node.item()) for v in value if not (isinstance(v, dict) and DIRECTIVE in v)]
    return value


def _fresh_map(value: dict[str, Any], node: TypeNode) -> dict[str, Any]:
    return _merge_map({}, value, node)


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list):
        raise PatchError("invalid patch format of retainKeys", code=400)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM, SET_ORDER)):
            continue
        if key not in keep:
            raise PatchError("invalid patch format of retainKeys", code=400)
    for key in [k for k in original if k not in keep]:
        del original[key]


def _set_element_orders(original: dict[str, Any], patch: dict[str, Any], node: TypeNode) -> None:
    for key in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad_arg("[]interface {}", order)
        target = _directive_target(key, SET_ORDER, "invalid patch format of setElementOrder list")
        current, patched = original.get(target), patch.get(target)
        for value in (current, patched):
            if value is not None and not isinstance(value, list):
                raise _bad_arg("[]interface {}", value)
        child = node.field(target)
        merge_key = child.merge_key
        _validate_order(patched or [], order, merge_key)
        if current is not None and patched is not None:
            merged = _merge_list(current, patched, child, is_delete=False)
        elif current is not None:
            merged = current
        elif patched is not None:
            merged = _fresh(patched, child)
        else:
            continue
        named = [v for v in merged if _find(order, v, merge_key) >= 0]
        server_only = [v for v in merged if _find(order, v, merge_key) < 0]
        original[target] = _interleave(named, server_only, order, current or [], merge_key)
        patch.pop(target, None)


def _validate_order(patched: list[Any], order: list[Any], merge_key: str) -> None:
    """Every item of the patch list must appear in ``$setElementOrder``, in the same relative order."""
    if not patched or not order:
        return
    items = [v for v in patched if not (merge_key and isinstance(v, dict) and v.get(DIRECTIVE) == "delete")]
    i = j = 0
    while i < len(items) and j < len(order):
        item = items[i]
        if isinstance(item, dict) and DIRECTIVE in item:
            i += 1
            continue
        if _same_key(item, order[j], merge_key):
            i += 1
        j += 1
    if i < len(items) and j >= len(order):
        raise PatchError(
            f"The order in patch list:\n{go_format(patched)}\n doesn't match {SET_ORDER} list:\n{go_format(order)}\n"
        )


def _same_key(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return json_equal(left, right)
    for side in (left, right):
        if not isinstance(side, dict):
            raise _bad_arg("map[string]interface {}", side)
        if merge_key not in side:
            raise _no_merge_key(side, merge_key)
    return json_equal(left[merge_key], right[merge_key])


def _ident(item: Any, merge_key: str) -> Any:
    return item.get(merge_key) if merge_key and isinstance(item, dict) else item


def _find(items: list[Any], item: Any, merge_key: str) -> int:
    """Index of ``item`` in ``items`` by merge key (maps) or value (scalars); -1 when absent."""
    want = _ident(item, merge_key)
    for i, candidate in enumerate(items):
        got = _ident(candidate, merge_key)
        if got is not None and json_equal(got, want):
            return i
    return -1


def _merge_list(original: list[Any], patch: list[Any], node: TypeNode, *, is_delete: bool) -> list[Any]:
    if node.strategy != "merge" and not is_delete:
        return [_fresh(v, node.item()) for v in patch if not (isinstance(v, dict) and DIRECTIVE in v)]
    if not original and not patch:
        return original
    shapes = {_shape(v) for v in original + patch}
    if "list" in shapes:
        raise PatchError("lists of lists are not supported")
    if len(shapes) > 1:
        raise PatchError(f"list element types are not identical: {go_format([original, patch])}")
    merge_key = node.merge_key if shapes == {"map"} else ""
    if shapes != {"map"}:
        if is_delete:
            return [v for v in original if not any(json_equal(v, d) for d in patch)]
        merged: list[Any] = []
        for value in original + patch:
            if not any(json_equal(value, seen) for seen in merged):
                merged.append(value)
    else:
        if not merge_key:
            raise PatchError("cannot merge lists without merge key")
        original, patch, replace = _special_items(original, patch, merge_key)
        if replace:
            return [_fresh_map(v, node.item()) for v in patch]
        merged = _merge_items(original, patch, merge_key, node.item())
    named = [v for v in merged if _find(patch, v, merge_key) >= 0]
    server_only = [v for v in merged if _find(patch, v, merge_key) < 0]
    return _interleave(named, server_only, patch, original, merge_key)


def _special_items(
    original: list[Any], patch: list[Any], merge_key: str
) -> tuple[list[Any], list[Any], bool]:
    """Apply ``$patch`` list items: deletions edit ``original``; a replace makes the rest the new list."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            original = [v for v in original if not json_equal(_ident(v, merge_key), item[merge_key])]
        elif directive == "replace":
            replace = True
        elif directive != "merge":
            raise PatchError(f"unknown patch type: {go_format(directive)} in map: {go_format(item)}")
    return original, plain, replace


def _merge_items(original: list[Any], patch: list[Any], merge_key: str, elem: TypeNode) -> list[Any]:
    merged = list(original)
    for item in patch:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        for i, current in enumerate(merged):
            if not isinstance(current, dict):
                raise PatchError(f"value for key {i} is not a map")
            if merge_key in current and json_equal(current[merge_key], item[merge_key]):
                merged[i] = _merge_map(current, item, elem)
                break
        else:
            merged.append(_fresh_map(item, elem))
    return merged


def _interleave(
    named: list[Any], server_only: list[Any], order: list[Any], live: list[Any], key: str
) -> list[Any]:
    """Merge patch-named items (in ``order``) with server-only items (in ``live`` order).

    Walking both sorted lists, a server-only item goes first only when both it and the next named item
    are in the live list and it comes before that item there; a named item new to the server goes first.
    """
    named = sorted(named, key=lambda v: _rank(order, v, key))
    server_only = sorted(server_only, key=lambda v: _rank(live, v, key))
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(named):
        if j >= len(named):
            out.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            out.append(named[j])
            j += 1
        else:
            left, right = _find(live, server_only[i], key), _find(live, named[j], key)
            if left >= 0 and right >= 0 and left < right:
                out.append(server_only[i])
                i += 1
            else:
                out.append(named[j])
                j += 1
    return out


def _rank(order: list[Any], item: Any, key: str) -> int:
    found = _find(order, item, key)
    return found if found >= 0 else len(order)
