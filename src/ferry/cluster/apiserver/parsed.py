"""A bounded cache of parsed objects, shared by every reader that needs dicts rather than bytes.

The store hands out each object revision as one immutable ``bytes`` value, shared by the committed
view and the event ring. Table printing, selector filtering in lists and watches, all parse those bytes;
with 1,000 watchers on one label selector, or ``kubectl get pods`` every two seconds over 10,000 pods,
parsing dominates. The cache is keyed by the identity of the bytes object (checked, so a recycled id
never returns the wrong object) and holds at most ``MAX_ENTRIES`` objects, least recently used first out.

Cached objects are shared: callers must treat them as read-only (``Entry.obj()`` still gives a private
copy to anyone who wants to change one).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

MAX_ENTRIES = 20_000
_CACHE: OrderedDict[int, tuple[bytes, dict[str, Any]]] = OrderedDict()


def parsed(raw: bytes) -> dict[str, Any]:
    key = id(raw)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is raw:
        _CACHE.move_to_end(key)
        return hit[1]
    obj: dict[str, Any] = json.loads(raw)
    _CACHE[key] = (raw, obj)
    if len(_CACHE) > MAX_ENTRIES:
        _CACHE.popitem(last=False)
    return obj
