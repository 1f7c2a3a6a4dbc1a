"""Field sets: who owns which fields (``managedFields[*].fieldsV1``), after structured-merge-diff.

A *path* is a tuple of path elements, each a small tuple:

* ``("f", "spec")``                         a field           FieldsV1 ``f:spec``
* ``("k", (("name", '"c"'),))``             a list-map item   ``k:{"name":"c"}`` (key fields sorted by name)
* ``("v", '"example.com/x"')``              a set item        ``v:"example.com/x"``
* ``("i", 0)``                              an index          ``i:0`` (never produced here; parsed only)

Values inside ``k``/``v`` are kept as their canonical JSON text (Go's encoder: compact, HTML-escaped,
integral floats as integers), so ``1`` and ``1.0`` are the same key and ``true`` never equals ``1``; the
text is also exactly what FieldsV1 prints.

A :class:`FieldSet` is SMD's ``Set``: ``members`` (paths owned as such, printed ``{}`` or ``.``) plus
``children`` (sub-sets). Invariant: no child is ever empty. Set algebra is structural, level by level
(SMD ``Union``/``Intersection``/``Difference``), not "remove the subtree below a member".

The walks over typed values live here too, because they define what a field *is*:

* :func:`to_field_set` — the fields a configuration sets (SMD ``ToFieldSet``): leaves, list items
  (``.``), nulls and empty objects, and every key of a map (not of a struct).
* :func:`compare` — added / modified / removed paths between two objects (SMD ``Compare``).
* :func:`remove_items` — drop members (whole subtrees) from a value; containers emptied this way go too.
* :func:`ensure_named_members` — also count struct fields that have owned children as members, which
  is how pruning decides that ``.spec`` survives while ``.spec.replicas`` goes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cmp_to_key
from typing import Any

import msgspec

from ferry.cluster.apiserver.patch.errors import PatchError
from ferry.cluster.apiserver.patch.meta import LIST, STRUCT, TypeNode

PathElement = tuple[str, Any]
Path = tuple[PathElement, ...]
ABSENT: Any = object()  # a missing value, distinct from JSON null
_encode = msgspec.json.encode
_KIND_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def canonical(value: Any) -> str:
    """Go-style compact JSON (sorted keys, ``<>&`` escaped, integral floats printed as integers)."""

    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
            return int(v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    text = json.dumps(norm(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _value_rank(v: Any) -> int:
    if isinstance(v, bool):
        return 2
    if isinstance(v, (int, float)):
        return 0
    if isinstance(v, str):
        return 1
    if isinstance(v, list):
        return 3
    return 4 if isinstance(v, dict) else 5


def compare_values(a: Any, b: Any) -> int:
    """SMD's total order on values: numbers < strings < booleans < lists < maps < null."""
    ra, rb = _value_rank(a), _value_rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 3:
        for x, y in zip(a, b, strict=False):
            if c := compare_values(x, y):
                return c
        return int(len(a) > len(b)) - int(len(a) < len(b))
    if ra == 4:
        return compare_values([[k, a[k]] for k in sorted(a)], [[k, b[k]] for k in sorted(b)])
    if ra == 5:
        return 0
    return int(a > b) - int(a < b)


def _compare_pe(a: PathElement, b: PathElement) -> int:
    if a[0] != b[0]:
        return -1 if _KIND_RANK[a[0]] < _KIND_RANK[b[0]] else 1
    if a[0] == "k":
        left = [[n, json.loads(t)] for n, t in a[1]]
        right = [[n, json.loads(t)] for n, t in b[1]]
        return compare_values(left, right)
    if a[0] == "v":
        return compare_values(json.loads(a[1]), json.loads(b[1]))
    return int(a[1] > b[1]) - int(a[1] < b[1])


_PE_KEY = cmp_to_key(_compare_pe)


def serialize_pe(pe: PathElement) -> str:
    if pe[0] == "k":
        return "k:{" + ",".join(f"{canonical(n)}:{t}" for n, t in pe[1]) + "}"
    return f"{pe[0]}:{pe[1]}"


def parse_pe(text: str) -> PathElement | None:
    """A FieldsV1 key back into a path element; ``None`` for kinds this version does not know."""
    kind, sep, body = text.partition(":")
    if not sep or kind not in _KIND_RANK:
        return None
    if kind == "f":
        return ("f", body)
    if kind == "i":
        return ("i", int(body))
    value = json.loads(body)
    if kind == "v":
        return ("v", canonical(value))
    return ("k", tuple(sorted((str(n), canonical(v)) for n, v in value.items())))


def _to_string(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(_to_string(x) for x in v) + "]"
    if isinstance(v, dict):
        return "".join(f"{k}={_to_string(x)}" for k, x in v.items())
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def path_string(path: Path) -> str:
    """SMD's human form: ``.spec.template.spec.containers[name="c"].image``."""
    parts = []
    for kind, body in path:
        if kind == "f":
            parts.append("." + body)
        elif kind == "k":
            parts.append("[" + ",".join(f"{n}={_to_string(json.loads(t))}" for n, t in body) + "]")
        elif kind == "v":
            parts.append(f"[={_to_string(json.loads(body))}]")
        else:
            parts.append(f"[{body}]")
    return "".join(parts)


class FieldSet:
    """A set of paths, stored as a trie of members and non-empty children."""

    __slots__ = ("children", "members")

    def __init__(self) -> None:
        self.members: set[PathElement] = set()
        self.children: dict[PathElement, FieldSet] = {}

    def empty(self) -> bool:
        return not self.members and not self.children

    def insert(self, path: Path) -> None:
        if not path:
            return
        node = self
        for pe in path[:-1]:
            node = node.children.setdefault(pe, FieldSet())
        node.members.add(path[-1])

    def has(self, path: Path) -> bool:
        node: FieldSet | None = self
        for pe in path[:-1]:
            node = node.children.get(pe) if node else None
        return bool(path) and node is not None and path[-1] in node.members

    def union(self, other: FieldSet) -> FieldSet:
        out = FieldSet()
        out.members = self.members | other.members
        for pe in self.children.keys() | other.children.keys():
            a, b = self.children.get(pe), other.children.get(pe)
            out.children[pe] = a.union(b) if a and b else (a or b or FieldSet()).copy()
        return out

    def intersection(self, other: FieldSet) -> FieldSet:
        out = FieldSet()
        out.members = self.members & other.members
        for pe in self.children.keys() & other.children.keys():
            sub = self.children[pe].intersection(other.children[pe])
            if not sub.empty():
                out.children[pe] = sub
        return out

    def difference(self, other: FieldSet) -> FieldSet:
        out = FieldSet()
        out.members = self.members - other.members
        for pe, child in self.children.items():
            sub = child.difference(other.children[pe]) if pe in other.children else child.copy()
            if not sub.empty():
                out.children[pe] = sub
        return out

    def copy(self) -> FieldSet:
        out = FieldSet()
        out.members = set(self.members)
        out.children = {pe: c.copy() for pe, c in self.children.items()}
        return out

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Member paths in SMD iteration order: this level's members, then each child subtree."""
        for pe in sorted(self.members, key=_PE_KEY):
            yield (*prefix, pe)
        for pe in sorted(self.children, key=_PE_KEY):
            yield from self.children[pe].paths((*prefix, pe))

    def to_fields_v1(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for pe in sorted(self.members | self.children.keys(), key=_PE_KEY):
            child = self.children.get(pe)
            body = child.to_fields_v1() if child else {}
            if child and pe in self.members:
                body = {".": {}, **body}
            out[serialize_pe(pe)] = body
        return out

    @classmethod
    def from_fields_v1(cls, data: Any) -> FieldSet:
        out = cls()
        if not isinstance(data, dict):
            return out
        for key, body in data.items():
            pe = parse_pe(key) if key != "." else None
            if pe is None:
                continue
            if not isinstance(body, dict) or not body or "." in body:
                out.members.add(pe)
            child = cls.from_fields_v1(body)
            if not child.empty():
                out.children[pe] = child
        return out


def item_element(node: TypeNode, item: Any, path: Path = ()) -> PathElement:
    """The path element of one item of a ``set`` or ``map`` list (key defaults fill missing keys)."""
    where = path_string(path) + ": " if path else ""
    if node.list_type == "map":
        if item is None:
            raise PatchError(f"{where}associative list with keys may not have a null element")
        if not isinstance(item, dict):
            raise PatchError(f"{where}associative list with keys may not have non-map elements")
        fields = [
            (k, item[k] if k in item else node.key_defaults[k])
            for k in node.keys
            if k in item or k in node.key_defaults
        ]
        if not fields:
            keys = "[" + " ".join(json.dumps(k) for k in node.keys) + "]"
            raise PatchError(
                f"{where}associative list with keys has an element that omits all key fields {keys} "
                "(and doesn't have default values for any key fields)"
            )
        return ("k", tuple(sorted((k, canonical(v)) for k, v in fields)))
    if isinstance(item, dict):
        raise PatchError(f"{where}associative list without keys has an element that's a map type")
    if isinstance(item, list):
        raise PatchError(f"{where}not supported: associative list with lists as elements")
    if item is None:
        raise PatchError(f"{where}associative list without keys has an element that's an explicit null")
    return ("v", canonical(item))


def _granular_map(node: TypeNode, value: Any) -> bool:
    return isinstance(value, dict) and node.kind != LIST and node.granular()


def _granular_list(node: TypeNode, value: Any) -> bool:
    return isinstance(value, list) and node.kind == LIST and node.granular()


def to_field_set(value: Any, node: TypeNode) -> FieldSet:
    out = FieldSet()
    _collect(value, node, (), out)
    return out


def _collect(value: Any, node: TypeNode, path: Path, out: FieldSet) -> None:
    if _granular_map(node, value):
        for key, sub in value.items():
            child_path = (*path, ("f", key))
            _collect(sub, node.field(key), child_path, out)
            if sub is None or sub == {} or not node.names_field(key):
                out.insert(child_path)
    elif _granular_list(node, value):
        elements = [item_element(node, item, path) for item in value]
        dups = {pe for i, pe in enumerate(elements) if pe in elements[:i]}
        for pe in dups:
            out.insert((*path, pe))
        for item, pe in zip(value, elements, strict=True):
            if pe not in dups:
                _collect(item, node.item(), (*path, pe), out)
                out.insert((*path, pe))
    else:
        out.insert(path)


def _present(side: Any, key: str, child: TypeNode) -> Any:
    if isinstance(side, dict) and key in side:
        return side[key]
    if child.always and isinstance(side, dict):
        return [] if child.kind == LIST else {}
    return ABSENT


def compare(lhs: Any, rhs: Any, node: TypeNode) -> tuple[FieldSet, FieldSet, FieldSet]:
    """``(added, modified, removed)`` going from ``lhs`` to ``rhs`` (either may be :data:`ABSENT`)."""
    added, modified, removed = FieldSet(), FieldSet(), FieldSet()
    _diff(lhs, rhs, node, (), (added, modified, removed))
    return added, modified, removed


def _is_empty(v: Any) -> bool:
    return v is ABSENT or v == {} or v == []


# -- the create fast path ------------------------------------------------------------------------------
# On create, every field of the new object is "changed" and there are no other managers, so the Update
# entry's FieldsV1 can be built straight from the object. This mirrors compare({}, obj) followed by
# to_fields_v1 exactly (a test checks the two agree), without building and copying FieldSets: the general
# path costs about half of a Pod create's CPU.
_Tree = dict[PathElement, tuple[bool, "_Tree"]]  # path element -> (is a member, children)


def _new_entry(value: Any, node: TypeNode, path: Path) -> tuple[bool, _Tree]:
    """A value with nothing on the left (``_diff``'s ABSENT case): it and everything below are added."""
    if not (_granular_map(node, value) or _granular_list(node, value)) or _is_empty(value):
        return True, {}
    return True, _children_from(None, value, node, path)


def _children_from(lhs: Any, rhs: Any, node: TypeNode, path: Path) -> _Tree:
    tree: _Tree = {}
    if isinstance(rhs, dict):
        for key, sub in rhs.items():
            child = node.field(key)
            pe = ("f", key)
            left = _present(lhs, key, child) if lhs is not None else ABSENT
            entry = (
                _new_entry(sub, child, (*path, pe))
                if left is ABSENT
                else _from_empty(left, sub, child, (*path, pe))
            )
            if entry is not None:
                tree[pe] = entry
    else:
        item = node.item()
        for pe, value in _index_items(rhs, node, path).items():
            tree[pe] = _new_entry(value, item, (*path, pe))
    return tree


def _from_empty(lhs: Any, rhs: Any, node: TypeNode, path: Path) -> tuple[bool, _Tree] | None:
    """``_diff`` of an empty-but-present left side (``{}``, or a field that is always present)."""
    sides = [lhs, rhs]
    as_map = all(_granular_map(node, v) for v in sides)
    as_list = all(_granular_list(node, v) for v in sides)
    if not (as_map or as_list) or all(_is_empty(v) for v in sides):
        return None if _json_equal(lhs, rhs) else (True, {})
    tree = _children_from(lhs, rhs, node, path)
    return (False, tree) if tree else None


def created_fields_v1(
    obj: dict[str, Any],
    node: TypeNode,
    *,
    remove: tuple[str, ...],
    unmember: tuple[str, ...],
    meta_unmember: tuple[str, ...],
) -> dict[str, Any]:
    """FieldsV1 of everything in a newly created ``obj``: top-level ``remove`` keys dropped with all
    below them, ``unmember`` keys (and ``meta_unmember`` keys under ``metadata``) no longer members."""
    entry = _from_empty({}, obj, node, ())
    tree = dict(entry[1]) if entry else {}
    for key in remove:
        tree.pop(("f", key), None)
    meta_pe = ("f", "metadata")
    if meta_pe in tree:
        member, children = tree[meta_pe]
        tree[meta_pe] = (
            member,
            {pe: v for pe, v in children.items() if not _unmembered(pe, v, meta_unmember)},
        )
    for key in unmember:
        pe = ("f", key)
        if pe in tree:
            tree[pe] = (False, tree[pe][1])
            if not tree[pe][1]:
                del tree[pe]
    return _tree_v1(tree)


def _unmembered(pe: PathElement, value: tuple[bool, _Tree], names: tuple[str, ...]) -> bool:
    """True when dropping ``pe`` as a member leaves nothing of it."""
    return pe[0] == "f" and pe[1] in names and not value[1]


def _tree_v1(tree: _Tree) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pe in sorted(tree, key=_PE_KEY):
        member, children = tree[pe]
        body = _tree_v1(children) if children else {}
        if children and member:
            body = {".": {}, **body}
        out[serialize_pe(pe)] = body
    return out


def _all_added(rhs: Any, node: TypeNode, path: Path, added: FieldSet) -> None:
    """``_diff`` specialised to an absent left side (every create takes this path): same result, less work."""
    as_map = _granular_map(node, rhs)
    if not (as_map or _granular_list(node, rhs)) or _is_empty(rhs):
        added.insert(path)
        return
    if as_map:
        for key in rhs:
            child = node.field(key)
            _all_added(rhs[key], child, (*path, ("f", key)), added)
    else:
        item = node.item()
        for pe, value in _index_items(rhs, node, path).items():
            _all_added(value, item, (*path, pe), added)
    added.insert(path)


def _certainly_same(a: Any, b: Any) -> bool:
    """A cheap, one-sided test: True only when ``a`` and ``b`` are the same JSON value.

    Python's ``==`` (in C) decides almost every case; it also says ``True == 1``, so the JSON bytes
    confirm (msgspec, in C). Equal values with keys in another order get False, and the caller then
    compares them field by field, which is always right. On a status update this skips ``spec`` and
    ``metadata`` whole instead of comparing every leaf through canonical JSON.
    """
    try:
        return bool(a == b) and _encode(a) == _encode(b)
    except (TypeError, ValueError, msgspec.EncodeError):
        return False


def _diff(lhs: Any, rhs: Any, node: TypeNode, path: Path, out: tuple[FieldSet, FieldSet, FieldSet]) -> None:
    added, modified, removed = out
    if lhs is ABSENT:
        _all_added(rhs, node, path, added)
        return
    if rhs is not ABSENT and _certainly_same(lhs, rhs):
        return  # nothing below differs, so nothing is added, modified or removed
    sides = [v for v in (lhs, rhs) if v is not ABSENT]
    as_map = all(_granular_map(node, v) for v in sides)
    as_list = all(_granular_list(node, v) for v in sides)
    if not (as_map or as_list) or all(_is_empty(v) for v in (lhs, rhs)):
        if lhs is ABSENT:
            added.insert(path)
        elif rhs is ABSENT:
            removed.insert(path)
        elif not _json_equal(lhs, rhs):
            modified.insert(path)
        return
    if as_map:
        keys = list(lhs if lhs is not ABSENT else {}) + [
            k for k in (rhs if rhs is not ABSENT else {}) if k not in (lhs if lhs is not ABSENT else {})
        ]
        for key in keys:
            child = node.field(key)
            _diff(_present(lhs, key, child), _present(rhs, key, child), child, (*path, ("f", key)), out)
    else:
        left, right = _index_items(lhs, node, path), _index_items(rhs, node, path)
        for pe in list(left) + [pe for pe in right if pe not in left]:
            _diff(left.get(pe, ABSENT), right.get(pe, ABSENT), node.item(), (*path, pe), out)
    if lhs is ABSENT:
        added.insert(path)
    elif rhs is ABSENT:
        removed.insert(path)


def _index_items(value: Any, node: TypeNode, path: Path) -> dict[PathElement, Any]:
    """Items by path element; a duplicated key compares as one atomic value (the list of duplicates)."""
    if value is ABSENT:
        return {}
    grouped: dict[PathElement, list[Any]] = {}
    for item in value:
        grouped.setdefault(item_element(node, item, path), []).append(item)
    return {pe: items[0] if len(items) == 1 else items for pe, items in grouped.items()}


def _json_equal(a: Any, b: Any) -> bool:
    return canonical(a) == canonical(b)


def remove_items(value: Any, to_remove: FieldSet, node: TypeNode) -> Any:
    """``value`` without the members of ``to_remove``; returns :data:`ABSENT` if nothing is left."""
    if _granular_map(node, value):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            pe = ("f", key)
            if pe in to_remove.members:
                continue
            if pe in to_remove.children:
                sub = remove_items(sub, to_remove.children[pe], node.field(key))
                if sub is ABSENT:
                    continue
            out[key] = sub
        return out if out else ABSENT
    if _granular_list(node, value):
        items: list[Any] = []
        for item in value:
            pe = item_element(node, item)
            if pe in to_remove.members:
                continue
            if pe in to_remove.children:
                item = remove_items(item, to_remove.children[pe], node.item())
                if item is ABSENT:
                    continue
            items.append(item)
        return items if items else ABSENT
    return value


def ensure_named_members(fs: FieldSet, node: TypeNode) -> FieldSet:
    """``fs`` plus, at every level, each struct field that has children in ``fs`` as a member."""
    out = FieldSet()
    out.members = set(fs.members)
    for pe, child in fs.children.items():
        if pe[0] == "f":
            if node.kind == STRUCT and node.names_field(pe[1]):
                out.members.add(pe)
            sub = node.field(pe[1])
        else:
            sub = node.item()
        out.children[pe] = ensure_named_members(child, sub)
    return out
