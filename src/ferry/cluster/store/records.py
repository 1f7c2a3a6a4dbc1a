"""The two immutable records the store hands out: :class:`Entry` and :class:`Event`.

Both carry ``raw``: the object serialized ONCE, by the store, to compact UTF-8 JSON with
``metadata.resourceVersion`` already set to ``str(rev)``. The API server answers GET/LIST/WATCH
by splicing these bytes into its responses, so nothing is re-serialized on the read path.

Invariants:

- Records are frozen and their ``raw`` is ``bytes``; the same ``bytes`` object is shared by the
  committed view, the writer's view and the event ring. Never mutate what :meth:`Entry.obj`
  did not give you; :meth:`Entry.obj` returns a fresh dict on every call.
- ``Entry.rev`` is the key's *mod revision*, equal to ``int(obj["metadata"]["resourceVersion"])``.
- For a ``DELETED`` event, ``raw`` is the object's last state (the stored object, or the
  ``last_state`` the deleter passed) stamped with the DELETE's revision, and ``prev_raw`` is
  the stored object just before the delete. ``ADDED`` events have ``prev_raw=None``.

Serializing once, before the revision is known: the caller's object is serialized on the event
loop *at call time* (a snapshot: later mutations of the caller's nested dicts cannot leak into
the stored bytes, and a non-JSON value raises ``TypeError`` in the caller, not in the writer),
with ``metadata.resourceVersion`` set to a per-process random placeholder. The writer thread,
which assigns the revision, replaces the placeholder's one JSON string literal with
``"<rev>"``: a bytes replace, no second ``json.dumps``. The placeholder is 128 random bits, so
it cannot occur in user content, and the quotes around it are part of the match.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

EventType = Literal["ADDED", "MODIFIED", "DELETED"]

ADDED: Final = "ADDED"
MODIFIED: Final = "MODIFIED"
DELETED: Final = "DELETED"


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored object: its key, mod revision, and serialized JSON."""

    key: str
    rev: int
    raw: bytes

    def obj(self) -> dict[str, Any]:
        """Decode ``raw`` into a fresh dict the caller owns."""
        value: dict[str, Any] = json.loads(self.raw)
        return value


@dataclass(frozen=True, slots=True)
class Event:
    """One committed change, as a watcher sees it."""

    rev: int
    type: EventType
    key: str
    raw: bytes
    prev_raw: bytes | None

    def obj(self) -> dict[str, Any]:
        """Decode ``raw`` into a fresh dict the caller owns."""
        value: dict[str, Any] = json.loads(self.raw)
        return value

    def prev_obj(self) -> dict[str, Any] | None:
        """Decode ``prev_raw`` (the state before this change), or ``None`` for ``ADDED``."""
        if self.prev_raw is None:
            return None
        value: dict[str, Any] = json.loads(self.prev_raw)
        return value


_RV_PLACEHOLDER: Final = f"ferry-rv-{secrets.token_hex(16)}"
_RV_PLACEHOLDER_JSON: Final = json.dumps(_RV_PLACEHOLDER).encode()


def encode_template(obj: Mapping[str, Any]) -> bytes:
    """Serialize ``obj`` (compact JSON, UTF-8) with a placeholder ``metadata.resourceVersion``.

    Copies the top level and ``metadata`` (the only levels the store changes); the caller's
    dict is left untouched. Raises ``TypeError`` for values JSON cannot represent.
    """
    metadata = obj.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a JSON object, not {type(metadata).__name__}")
    copy = dict(obj)
    copy["metadata"] = {**metadata, "resourceVersion": _RV_PLACEHOLDER}
    return json.dumps(copy, separators=(",", ":")).encode()


def stamp(template: bytes, rev: int) -> bytes:
    """Fill in the revision of a template from :func:`encode_template`."""
    return template.replace(_RV_PLACEHOLDER_JSON, b'"%d"' % rev, 1)


def restamp(raw: bytes, rev: int) -> bytes:
    """Re-encode stored JSON with ``metadata.resourceVersion`` set to ``rev``."""
    return stamp(encode_template(json.loads(raw)), rev)
