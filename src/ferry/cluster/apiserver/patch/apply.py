"""Server-side apply and ``managedFields`` bookkeeping (kube's fieldmanager + structured-merge-diff).

Every object carries ``metadata.managedFields``: one entry per *manager identity* — ``(manager,
operation, apiVersion if operation is Update, subresource)`` — holding the set of fields it owns.

**Apply** (:func:`server_side_apply`), in SMD's order:

1. merge the configuration into the live object (maps recursively, list-map items by key, sets as a
   union, atomic values replaced; item order per :func:`_merge_list`);
2. the applier now owns exactly the fields of its configuration;
3. *prune*: what the applier owned last time and no longer sends is removed from the object, unless some
   manager (including the applier's new config) still owns it — Helm upgrades rely on this;
4. compare live and result: a changed field owned by another manager is a conflict (409 unless
   ``force``, which moves ownership); fields that disappeared leave every set.

Applying a value equal to the live one changes nothing, so it cannot conflict: ownership is shared.

**Update** (:func:`update_managed_fields`, for create/update/patch): the writer gains every field it
added or changed, everyone else loses those, fields removed from the object leave every set, empty
entries go, and at most 10 Update entries survive (older ones fold into ``ancient-changes``).

Ownership never covers identity and system fields (``apiVersion``, ``kind``, ``metadata.name`` ...
``metadata.managedFields``) nor, for the main resource, ``status`` (kube's reset fields): those are
stripped from every set, exactly like kube's ``stripMetaManager``.

Deviation, on purpose: an apply that changes nothing keeps the entry's time (as kube does) but a new
applier that changed nothing still gets ``now`` instead of an entry without ``time``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ferry.cluster.apiserver.patch.errors import ApplyConflict, PatchError
from ferry.cluster.apiserver.patch.fieldsets import (
    ABSENT,
    FieldSet,
    Path,
    PathElement,
    compare,
    created_fields_v1,
    ensure_named_members,
    item_element,
    path_string,
    remove_items,
    to_field_set,
)
from ferry.cluster.apiserver.patch.mergepatch import deep_copy, json_equal
from ferry.cluster.apiserver.patch.meta import GENERIC_ROOT, TypeNode, patch_meta

MAX_UPDATE_MANAGERS = 10
_META = (
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
)


@dataclass
class Managed:
    manager: str
    operation: str
    api_version: str
    subresource: str
    time: str | None
    fields: FieldSet

    @property
    def ident(self) -> tuple[str, str, str, str]:
        version = self.api_version if self.operation == "Update" else ""
        return (self.manager, self.operation, version, self.subresource)

    def label(self) -> str:
        """How kube names this manager in conflict messages."""
        text = _quote(self.manager)
        if self.subresource:
            text += f" with subresource {_quote(self.subresource)}"
        return f"{text} using {self.api_version}" if self.operation == "Update" else text

    def entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time is not None:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = self.fields.to_fields_v1()
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _seconds(stamp: str | None) -> int:
    try:
        return int(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def decode_managed_fields(entries: Any) -> dict[tuple[str, str, str, str], Managed]:
    """Parse ``metadata.managedFields``; malformed entries are skipped, duplicates merged."""
    out: dict[tuple[str, str, str, str], Managed] = {}
    for raw in entries if isinstance(entries, list) else []:
        if not isinstance(raw, dict) or raw.get("operation") not in ("Apply", "Update"):
            continue
        if not raw.get("apiVersion") or raw.get("fieldsType") != "FieldsV1":
            continue
        try:
            fields = FieldSet.from_fields_v1(raw.get("fieldsV1") or {})
        except (ValueError, TypeError, AttributeError):
            continue
        time = raw.get("time") if isinstance(raw.get("time"), str) else None
        m = Managed(
            str(raw.get("manager", "")),
            raw["operation"],
            str(raw["apiVersion"]),
            str(raw.get("subresource") or ""),
            time,
            fields,
        )
        if m.ident in out:
            out[m.ident].fields = out[m.ident].fields.union(fields)
        else:
            out[m.ident] = m
    return out


def encode_managed_fields(managers: dict[tuple[str, str, str, str], Managed]) -> list[dict[str, Any]]:
    """Entries in kube's order: operation, time (seconds), manager, apiVersion, subresource."""
    ordered = sorted(
        (m for m in managers.values() if not m.fields.empty()),
        key=lambda m: (m.operation, _seconds(m.time), m.manager, m.api_version, m.subresource),
    )
    return [m.entry() for m in ordered]


def _without(fs: FieldSet, pe: PathElement) -> FieldSet:
    out = fs.copy()
    out.members.discard(pe)
    out.children.pop(pe, None)
    return out


def _reset(fs: FieldSet, *, subresource: str, ignore_status: bool) -> FieldSet:
    """Drop the fields a write through this endpoint may not own (kube's reset fields)."""
    return _without(fs, ("f", "status")) if ignore_status and not subresource else fs


def _strip(fs: FieldSet) -> FieldSet:
    out = fs.copy()
    out.members -= {("f", "apiVersion"), ("f", "kind"), ("f", "metadata")}
    meta = out.children.get(("f", "metadata"))
    if meta is not None:
        meta.members -= {("f", name) for name in ("name", "namespace", *_META)}
        if meta.empty():
            del out.children[("f", "metadata")]
    return out


def _split(obj: Any) -> tuple[dict[str, Any], Any]:
    """A deep copy of ``obj`` without ``metadata.managedFields``, and those managedFields."""
    copy = deep_copy(obj) if isinstance(obj, dict) else {}
    meta = copy.get("metadata")
    fields = meta.pop("managedFields", None) if isinstance(meta, dict) else None
    return copy, fields


def _shallow_split(obj: Any) -> tuple[dict[str, Any], Any]:
    """Like ``_split`` but sharing everything except the top level and metadata: for reading only."""
    if not isinstance(obj, dict):
        return {}, None
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return dict(obj), None
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}, meta.get(
        "managedFields"
    )


def _store(obj: dict[str, Any], managers: dict[tuple[str, str, str, str], Managed]) -> None:
    encoded = encode_managed_fields(managers)
    meta = obj.setdefault("metadata", {})
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)


def _validate(value: Any, node: TypeNode, path: Path) -> None:
    """Reject what SMD rejects in an applied configuration: bad list items and duplicate keys."""
    if isinstance(value, dict) and node.granular() and node.kind != "list":
        for key, sub in value.items():
            _validate(sub, node.field(key), (*path, ("f", key)))
    elif isinstance(value, list) and node.kind == "list" and node.granular():
        seen: set[PathElement] = set()
        for item in value:
            pe = item_element(node, item, path)
            if pe in seen:
                raise PatchError(f"{path_string(path)}: duplicate entries for key {path_string((pe,))}")
            seen.add(pe)
            _validate(item, node.item(), (*path, pe))


def _clean(value: Any) -> Any:
    """A copy of a configuration value without its ``null`` fields (kube's typed objects drop them)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _merge(lhs: Any, rhs: Any, node: TypeNode, path: Path) -> Any:
    if rhs is ABSENT:
        return lhs
    if lhs is ABSENT:
        return _clean(rhs)
    if isinstance(lhs, dict) and isinstance(rhs, dict) and node.kind != "list" and node.granular():
        out: dict[str, Any] = {}
        for key in [*lhs, *(k for k in rhs if k not in lhs)]:
            merged = _merge(lhs.get(key, ABSENT), rhs.get(key, ABSENT), node.field(key), (*path, ("f", key)))
            if merged is not ABSENT and merged is not None:
                out[key] = merged
        return out
    if isinstance(lhs, list) and isinstance(rhs, list) and node.kind == "list" and node.granular():
        return _merge_list(lhs, rhs, node, path)
    return _clean(rhs)


def _merge_list(lhs: list[Any], rhs: list[Any], node: TypeNode, path: Path) -> list[Any]:
    """SMD's merged order: the configuration's order wins for shared items; live-only items keep
    their place relative to the live items around them."""
    left = [(item_element(node, item, path), item) for item in lhs]
    right = [(item_element(node, item, path), item) for item in rhs]
    live: dict[PathElement, Any] = {}
    for pe, item in left:
        live.setdefault(pe, item)
    config = dict(right)
    shared = [pe for pe, _ in right if pe in live]
    out: list[Any] = []
    done: set[PathElement] = set()
    nxt = li = ri = 0

    def emit(pe: PathElement, old: Any, new: Any) -> None:
        merged = _merge(old, new, node.item(), (*path, pe))
        if merged is not ABSENT and merged is not None:
            out.append(merged)

    while li < len(left) or ri < len(right):
        if li < len(left) and ri < len(right):
            pe = left[li][0]
            if pe == right[ri][0]:
                emit(pe, live[pe], config[pe])
                done.add(pe)
                li, ri, nxt = li + 1, ri + 1, nxt + 1
                continue
            if pe in config and nxt < len(shared) and shared[nxt] != pe:
                li += 1
                continue
        if li < len(left):
            pe, item = left[li]
            if pe not in config:
                emit(pe, item, ABSENT)
                li += 1
                continue
            if pe in done:
                li += 1
        if ri < len(right):
            pe = right[ri][0]
            done.add(pe)
            emit(pe, live.get(pe, ABSENT), config[pe])
            ri += 1
            if nxt < len(shared) and shared[nxt] == pe:
                nxt += 1
    return out


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    force: bool,
    api_version: str,
    meta: TypeNode | None,
    now: str,
    subresource: str = "",
    ignore_status: bool = True,
) -> dict[str, Any]:
    """Merge ``applied`` into ``live`` (``None`` = create) as ``manager``; see the module docstring."""
    if not isinstance(applied, dict):
        raise PatchError("the applied configuration must be an object", code=400)
    node = meta or GENERIC_ROOT
    config, _ = _split(applied)
    current, live_fields = _split(live)
    managers = decode_managed_fields(live_fields)
    _validate(config, node, ())
    result = _merge(current, config, node, ())
    merged: dict[str, Any] = result if isinstance(result, dict) else {}
    me = Managed(manager, "Apply", api_version, subresource, None, FieldSet())
    last = managers.get(me.ident)
    me.time = last.time if last else None
    me.fields = _reset(to_field_set(config, node), subresource=subresource, ignore_status=ignore_status)
    managers[me.ident] = me
    if last is not None and not last.fields.empty():
        owned = FieldSet()
        for m in managers.values():
            owned = owned.union(m.fields)
        prune = ensure_named_members(last.fields, node).difference(ensure_named_members(owned, node))
        pruned = remove_items(merged, prune, node)
        merged = {} if pruned is ABSENT else pruned
    added, modified, removed = (
        _reset(s, subresource=subresource, ignore_status=ignore_status)
        for s in compare(current, merged, node)
    )
    changed = added.union(modified)
    conflicts: list[tuple[Managed, FieldSet]] = []
    for ident, m in managers.items():
        overlap = m.fields.intersection(changed) if ident != me.ident else FieldSet()
        if not overlap.empty():
            conflicts.append((m, overlap))
    if conflicts and not force:
        ordered = sorted(conflicts, key=lambda c: c[0].label())
        raise ApplyConflict([(m.label(), path_string(p)) for m, fs in ordered for p in fs.paths()])
    for ident, m in managers.items():
        if ident != me.ident:
            m.fields = m.fields.difference(changed).difference(removed)
    me.fields = _strip(me.fields)
    if me.time is None or not json_equal(current, merged):
        me.time = now
    _store(merged, managers)
    return merged


def update_managed_fields(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    now: str,
    subresource: str = "",
    meta: TypeNode | None = None,
) -> None:
    """Record a non-apply write of ``new`` (over ``old``; ``None`` on create) into its managedFields."""
    new_meta = new.setdefault("metadata", {})
    if old is None and not subresource and "managedFields" not in new_meta:
        _record_create(new, manager=manager, api_version=api_version, now=now, node=meta or _meta_for(new))
        return
    _update_managed_fields(
        old, new, manager=manager, api_version=api_version, now=now, subresource=subresource, meta=meta
    )


def _record_create(new: dict[str, Any], *, manager: str, api_version: str, now: str, node: TypeNode) -> None:
    """The create fast path: one Update entry owning every field (see ``fieldsets.created_fields_v1``)."""
    try:
        fields = created_fields_v1(
            new,
            node,
            remove=("status",),
            unmember=("apiVersion", "kind", "metadata"),
            meta_unmember=("name", "namespace", *_META),
        )
    except PatchError:
        return
    if fields:
        me = Managed(manager, "Update", api_version, "", now, FieldSet())
        entry = me.entry()
        entry["fieldsV1"] = fields
        new["metadata"]["managedFields"] = [entry]


def _update_managed_fields(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    now: str,
    subresource: str = "",
    meta: TypeNode | None = None,
) -> None:
    """The general path (also what the create fast path must agree with)."""
    new_meta = new.setdefault("metadata", {})
    requested = new_meta.pop("managedFields", None)
    previous, old_fields = _shallow_split(old)
    try:
        node = meta or _meta_for(new)
        if subresource or not isinstance(requested, list):
            managers = decode_managed_fields(old_fields)
        elif not requested:
            managers = {}  # an explicit [] resets ownership
        else:
            managers = decode_managed_fields(requested) or decode_managed_fields(old_fields)
        added, modified, removed = (
            _reset(s, subresource=subresource, ignore_status=True) for s in compare(previous, new, node)
        )
    except PatchError:
        if old_fields:
            new_meta["managedFields"] = old_fields  # like kube's UpdateNoErrors: keep what was there
        return
    changed = added.union(modified)
    for m in managers.values():
        m.fields = m.fields.difference(changed).difference(removed)
    mine = _strip(changed)
    if not mine.empty():
        me = Managed(manager, "Update", api_version, subresource, now, mine)
        prior = managers.get(me.ident)
        if prior is not None:
            me.fields = mine.union(prior.fields)
        managers[me.ident] = me
    _cap_updaters(managers)
    _store(new, managers)


def _meta_for(obj: dict[str, Any]) -> TypeNode:
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    return patch_meta(group, str(obj.get("kind") or "")) or GENERIC_ROOT


def _cap_updaters(managers: dict[tuple[str, str, str, str], Managed]) -> None:
    """Fold the oldest Update entries into one ``ancient-changes`` entry per apiVersion."""
    updaters = sorted(
        (m for m in managers.values() if m.operation == "Update" and not m.fields.empty()),
        key=lambda m: (_seconds(m.time), m.ident),
    )
    count = len(updaters)
    first: dict[str, Managed] = {}
    for m in updaters:
        if count <= MAX_UPDATE_MANAGERS:
            break
        bucket_id = ("ancient-changes", "Update", m.api_version, "")
        if m.api_version not in first:
            first[m.api_version] = m
            continue
        if m.ident == bucket_id:
            continue  # never fold the bucket into itself
        bucket = managers.get(bucket_id)
        if bucket is None:
            seed = first[m.api_version]
            del managers[seed.ident]
            bucket = Managed("ancient-changes", "Update", m.api_version, "", seed.time, seed.fields)
            managers[bucket_id] = bucket
        bucket.fields = bucket.fields.union(m.fields)
        bucket.time = m.time
        del managers[m.ident]
        count -= 1
