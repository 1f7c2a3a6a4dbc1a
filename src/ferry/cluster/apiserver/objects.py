"""Small, pure helpers over JSON objects: timestamps, uids, generated names, semantic equality, paths."""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import uuid
from typing import Any

Obj = dict[str, Any]

# k8s.io/apiserver/pkg/storage/names: 5 random chars from this alphabet, base cut to 58 chars.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
MAX_GENERATED_BASE = 58


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s: Any) -> dt.datetime | None:
    if not isinstance(s, str) or not s:
        return None
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def new_uid() -> str:
    return str(uuid.uuid4())


def generate_name(base: str) -> str:
    base = base[:MAX_GENERATED_BASE]
    return base + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))


def meta(obj: Obj) -> dict[str, Any]:
    """``obj["metadata"]``, created if missing (and replaced if not a mapping)."""
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def deepcopy(obj: Obj) -> Obj:
    return copy.deepcopy(obj)


def normalized(value: Any) -> Any:
    """Drop nulls and empty maps/lists/strings recursively, the way Go's omitempty decoding erases them.

    Used for *semantic* comparisons (template equality, generation bumps): ``resources: {}`` and a missing
    ``resources`` are the same object to Kubernetes.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            nv = normalized(v)
            if nv is None or nv == {} or nv == [] or nv == "":
                continue
            out[k] = nv
        return out
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def semantic_equal(a: Any, b: Any) -> bool:
    return bool(normalized(a) == normalized(b))


def get_path(obj: Any, path: tuple[str, ...]) -> Any:
    cur = obj
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def set_path(obj: Obj, path: tuple[str, ...], value: Any) -> None:
    cur = obj
    for p in path[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    cur[path[-1]] = value


def remove_field_path(obj: Obj, path: str) -> None:
    """Remove ``spec.containers[0].imagee``-style paths (used to drop unknown fields)."""
    parts: list[str | int] = []
    for seg in path.split("."):
        while "[" in seg:
            head, _, rest = seg.partition("[")
            if head:
                parts.append(head)
            idx, _, seg = rest.partition("]")
            parts.append(int(idx) if idx.isdigit() else idx)
        if seg:
            parts.append(seg)
    cur: Any = obj
    for p in parts[:-1]:
        if isinstance(p, int) and isinstance(cur, list) and p < len(cur):
            cur = cur[p]
        elif isinstance(p, str) and isinstance(cur, dict):
            cur = cur.get(p)
        else:
            return
    last = parts[-1] if parts else None
    if isinstance(cur, dict) and isinstance(last, str):
        cur.pop(last, None)
