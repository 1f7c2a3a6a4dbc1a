"""List requests: selectors, paging with ``limit``/``continue``, and the list resourceVersion.

The committed view of the store is read synchronously on the event loop, so a list is a consistent
snapshot at ``store.revision``. Paging follows kube's contract: a ``continue`` token carries the key to
resume after and the revision of the first page (a later page reports that same revision so clients
can watch from it). Unlike etcd, the store keeps no MVCC history, so later pages show the *current*
objects after the resume key; kube permits inconsistent continuation once a revision is compacted, and
we are explicit about it (documented in docs/cluster.md). A token older than the compaction window is
410 Expired, as in kube.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from ferry.cluster.apiserver import errors
from ferry.cluster.apiserver.parsed import parsed
from ferry.cluster.apiserver.selectors import FieldSelector, LabelSelector
from ferry.cluster.resources.types import ResourceType
from ferry.cluster.store import Entry, Store


@dataclass
class ListResult:
    entries: list[Entry]
    revision: int
    continue_token: str | None
    remaining: int | None


def encode_continue(revision: int, last_key: str) -> str:
    raw = json.dumps(
        {"v": "meta.k8s.io/v1", "rv": revision, "start": last_key + "\x00"}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        rv = int(data["rv"])
        start = str(data["start"])
        if data.get("v") != "meta.k8s.io/v1" or not start.endswith("\x00"):
            raise ValueError("bad version")
        return rv, start[:-1]
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise errors.bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )


EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list."
)


def matches(
    rt: ResourceType,
    entry_obj: dict[str, object],
    labels: LabelSelector | None,
    fields: FieldSelector | None,
) -> bool:
    meta = entry_obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    if labels is not None and not labels.matches(meta.get("labels") or {}):
        return False
    if fields is not None:
        values = {
            "metadata.name": str(meta.get("name", "")),
            "metadata.namespace": str(meta.get("namespace", "")),
        }
        if rt.fields is not None:
            values.update(rt.fields(entry_obj))
        if not fields.matches(values):
            return False
    return True


def list_objects(
    store: Store,
    rt: ResourceType,
    namespace: str | None,
    *,
    labels: LabelSelector | None,
    fields: FieldSelector | None,
    limit: int | None,
    continue_token: str | None,
) -> ListResult:
    prefix = rt.store_prefix(namespace)
    revision = store.revision
    start_after: str | None = None
    if continue_token:
        revision, start_after = decode_continue(continue_token)
        if revision < store.compacted_revision:
            raise errors.expired(EXPIRED_CONTINUE)
    filtered = (labels is not None and not labels.empty()) or (
        fields is not None and bool(fields.requirements)
    )
    # Fast path for the name field selector kubectl uses (rollout status, delete --wait): one key.
    name_only = _single_name(fields)
    if name_only is not None and (namespace or not rt.namespaced):
        entry = store.get(rt.store_key(namespace, name_only))
        one = [entry] if entry is not None and matches(rt, parsed(entry.raw), labels, fields) else []
        return ListResult(one, revision, None, None)
    if not filtered:
        entries, last = store.list(prefix, start_after=start_after, limit=limit)
        token = encode_continue(revision, last) if last is not None else None
        remaining = None
        if token is not None and last is not None:
            remaining = store.count(prefix) - _position(store, prefix, last)
        return ListResult(entries, revision, token, remaining)
    picked: list[Entry] = []
    cursor = start_after
    batch = 500
    while True:
        entries, last = store.list(prefix, start_after=cursor, limit=batch)
        for e in entries:
            if matches(rt, parsed(e.raw), labels, fields):
                picked.append(e)
                if limit and len(picked) >= limit:
                    more = e is not entries[-1] or last is not None
                    return ListResult(
                        picked, revision, encode_continue(revision, e.key) if more else None, None
                    )
        if last is None:
            return ListResult(picked, revision, None, None)
        cursor = last


def _single_name(fields: FieldSelector | None) -> str | None:
    if fields is None or len(fields.requirements) != 1:
        return None
    field, op, value = fields.requirements[0]
    if field == "metadata.name" and op in ("=", "=="):
        return value
    return None


def _position(store: Store, prefix: str, key: str) -> int:
    """How many keys under ``prefix`` sort at or before ``key``."""
    count = 0
    cursor: str | None = None
    while True:
        entries, last = store.list(prefix, start_after=cursor, limit=5000)
        for e in entries:
            if e.key <= key:
                count += 1
            else:
                return count
        if last is None:
            return count
        cursor = last
