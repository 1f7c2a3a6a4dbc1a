"""Object identity and the labels ferry stamps on what it applies.

An object is identified by ``group/version/kind`` plus ``namespace/name`` (``ObjectRef``). Inventories store the
version too, so a prune can address the object exactly as it was applied; *matching* a rendered object against
an inventory entry ignores the version (``ObjectRef.key``), because moving a manifest from ``v1beta1`` to ``v1``
must not prune and re-create it.

Rendered objects are plain dicts (from ``ferry.charts.render``); they are never mutated here — ``labelled``
returns a deep copy with ``app.kubernetes.io/managed-by: ferry`` and ``ferry.dev/app: <app>`` added, which is what
``wait_healthy`` selects on and what lets a human see at a glance who owns an object.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APP_LABEL",
    "MANAGED_BY_LABEL",
    "MANAGER",
    "ObjectKey",
    "ObjectRef",
    "labelled",
    "ref_of",
]

MANAGER = "ferry"
"""The server-side-apply field manager, and the value of the managed-by label."""
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
APP_LABEL = "ferry.dev/app"

ObjectKey = tuple[str, str, str, str]
"""``(group, kind, namespace, name)``: identity without the version."""


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Where an object lives. ``namespace`` is ``""`` for cluster-scoped kinds; ``uid`` is set once known."""

    group: str
    version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> ObjectKey:
        return (self.group, self.kind, self.namespace, self.name)

    def with_uid(self, uid: str) -> ObjectRef:
        return ObjectRef(self.group, self.version, self.kind, self.namespace, self.name, uid)

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def to_dict(self) -> dict[str, str]:
        return {
            "group": self.group,
            "version": self.version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ObjectRef:
        return cls(
            str(d.get("group") or ""),
            str(d.get("version") or ""),
            str(d.get("kind") or ""),
            str(d.get("namespace") or ""),
            str(d.get("name") or ""),
            str(d.get("uid") or ""),
        )


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    """The reference of a manifest or a live object (the uid is taken when the object carries one)."""
    api_version = str(obj.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    meta = obj.get("metadata") or {}
    return ObjectRef(
        group,
        version,
        str(obj.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
        str(meta.get("uid") or ""),
    )


def labelled(obj: Mapping[str, Any], *, app: str) -> dict[str, Any]:
    """A deep copy of ``obj`` carrying ferry's ownership labels (the input is left untouched)."""
    out = copy.deepcopy(dict(obj))
    meta = out.setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    labels[MANAGED_BY_LABEL] = MANAGER
    labels[APP_LABEL] = app
    meta["labels"] = labels
    return out
