"""The inventory: what the last successful apply of an app applied, kept in the cluster beside the app.

One ConfigMap per app, ``ferry-inventory-<app>`` in the app's namespace, labelled
``app.kubernetes.io/managed-by: ferry`` — the kpt/cli-utils and kapp design. Its ``data.objects`` is a JSON
list of ``{group, version, kind, namespace, name, uid}``, sorted, so an unchanged app rewrites nothing.

Why in the cluster, not in git or a local file: the inventory describes the *cluster's* state, must be shared
by every ferry process that applies to it (a CI job, the reconciler, a laptop), and must survive them all.
Why a ConfigMap: every cluster serves it, RBAC already covers it, ``kubectl get cm`` shows it.

Pruning is decided from the inventory only (``prune_candidates``): an object is deleted when the previous
apply recorded it and this one no longer renders it. Objects ferry never recorded — made by hand, by
another tool, or by another app — are never candidates, whatever their labels say. The uid is recorded so
a prune does not delete an object that was deleted and re-created by someone else since (its uid differs).

The write protocol and its crash semantics are the engine's (``engine.py``): the inventory is written only
after every apply succeeded. **Concurrency:** the write carries the resourceVersion of the inventory read at
the start of the apply as a precondition, so two appliers of one app (a push deploy racing the reconciler)
cannot silently overwrite each other's record: the later one gets a ``ConflictError`` and must re-run
(re-reading the inventory). Two first-ever applies racing have no version to compare; the later write wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ferry.delivery.apply.errors import ManifestError
from ferry.delivery.apply.kubeapi import KubeApi
from ferry.delivery.apply.objects import APP_LABEL, MANAGED_BY_LABEL, MANAGER, ObjectKey, ObjectRef

__all__ = [
    "Inventory",
    "InventoryRef",
    "decode",
    "encode",
    "prune_candidates",
    "read_inventory",
    "write_inventory",
]

DATA_KEY = "objects"


@dataclass(frozen=True)
class InventoryRef:
    """Names one app's inventory: ``app`` (an environment and a service, e.g. ``sit-web``) and its namespace."""

    app: str
    namespace: str

    @property
    def name(self) -> str:
        return f"ferry-inventory-{self.app}"

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("", "v1", "ConfigMap", self.namespace, self.name)


@dataclass(frozen=True)
class Inventory:
    """What was read: the entries and the inventory object's resourceVersion (the write's precondition)."""

    entries: list[ObjectRef]
    resource_version: str


def encode(entries: Iterable[ObjectRef]) -> str:
    unique = {e.key: e for e in entries}
    return json.dumps([e.to_dict() for e in sorted(unique.values())], indent=None, separators=(",", ":"))


def decode(text: str, *, where: str) -> list[ObjectRef]:
    try:
        raw = json.loads(text or "[]")
    except ValueError as exc:
        raise ManifestError(f"{where}: data.{DATA_KEY} is not JSON: {exc}") from exc
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise ManifestError(f"{where}: data.{DATA_KEY} must be a list of objects")
    return [ObjectRef.from_dict(e) for e in raw]


def inventory_object(
    inv: InventoryRef, entries: Iterable[ObjectRef], *, resource_version: str = ""
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": inv.name,
            "namespace": inv.namespace,
            "labels": {MANAGED_BY_LABEL: MANAGER, APP_LABEL: inv.app},
        },
        "data": {DATA_KEY: encode(entries)},
    }
    if resource_version:
        obj["metadata"]["resourceVersion"] = resource_version
    return obj


async def read_inventory(api: KubeApi, inv: InventoryRef) -> Inventory | None:
    """The recorded entries, or ``None`` when the app was never applied (no inventory object)."""
    rt = await api.resource_type("v1", "ConfigMap")
    live = await api.get(rt, inv.namespace, inv.name)
    if live is None:
        return None
    entries = decode(str((live.get("data") or {}).get(DATA_KEY) or "[]"), where=str(inv.ref))
    return Inventory(entries, str((live.get("metadata") or {}).get("resourceVersion") or ""))


async def write_inventory(
    api: KubeApi, inv: InventoryRef, entries: Sequence[ObjectRef], *, previous: Inventory | None
) -> bool:
    """Record ``entries`` (server-side apply, precondition: ``previous``'s resourceVersion); skipped — and
    ``False`` — when it would not change anything."""
    if previous is not None and encode(previous.entries) == encode(entries):
        return False
    rt = await api.resource_type("v1", "ConfigMap")
    rv = previous.resource_version if previous is not None else ""
    await api.apply(rt, inventory_object(inv, entries, resource_version=rv), dry_run=False)
    return True


def prune_candidates(
    previous: Sequence[ObjectRef], rendered: Iterable[ObjectKey], *, inv: InventoryRef
) -> list[ObjectRef]:
    """Entries of the previous inventory that this apply no longer renders (never the inventory itself)."""
    keep = set(rendered) | {inv.ref.key}
    return [e for e in previous if e.key not in keep]
