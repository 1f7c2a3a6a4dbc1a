"""Health of an app: every expected object's kstatus rolled up, and ``wait_healthy`` that watches.

``health(live)`` takes what the app *should* have (the refs of its rendered objects) mapped to what exists
(``None`` when absent) and rolls the per-object results (``kstatus.resource_health``) up to the worst one:
Degraded > Missing > Progressing > Suspended > Healthy. The app's ``reason`` names the object that decided it
("Deployment demo/web: ProgressDeadlineExceeded: ..."), because "Degraded" alone sends a human hunting.

``wait_healthy`` does not poll. For each (resource type, namespace) in the app it LISTs once and then WATCHes
from that list's resourceVersion — the informer pattern — with the label selector ``ferry.dev/app=<app>``
that the apply engine stamps on everything it applies; every event replaces that object in the snapshot and
the roll-up is recomputed. It returns as soon as the app is Healthy (or, with ``fail_fast``, Degraded), or
when ``timeout_seconds`` pass, with the last roll-up — the caller reads ``.status`` and decides.

Races: the LIST-then-WATCH pair misses nothing (the watch starts at the list's revision). A watch that the
server expires (410) restarts from a fresh list inside the adapter and may replay objects, which only
re-sets the same snapshot entries. Objects whose labels were stripped by hand vanish from the selector and
read as Missing — the truthful answer for "ferry's object".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ferry.delivery.apply.kstatus import HealthStatus, ResourceHealth, resource_health, worst
from ferry.delivery.apply.kubeapi import KubeApi, ResourceType
from ferry.delivery.apply.objects import APP_LABEL, ObjectKey, ObjectRef, ref_of

__all__ = ["AppHealth", "ObjectHealth", "health", "read_health", "wait_healthy"]


@dataclass(frozen=True)
class ObjectHealth:
    ref: ObjectRef
    health: ResourceHealth


@dataclass(frozen=True)
class AppHealth:
    """The roll-up: ``status``, the ``reason`` naming the deciding object, and every object's health."""

    status: HealthStatus
    reason: str = ""
    objects: list[ObjectHealth] = field(default_factory=list)

    def of(self, kind: str, name: str) -> ResourceHealth:
        """The health of one object by kind and name (``KeyError`` if it is not part of the app)."""
        for o in self.objects:
            if o.ref.kind == kind and o.ref.name == name:
                return o.health
        raise KeyError(f"{kind} {name}")


def health(live: Mapping[ObjectRef, Mapping[str, Any] | None]) -> AppHealth:
    """Roll up the health of the expected objects (keys) given their live state (``None`` = absent)."""
    per_object = [ObjectHealth(ref, resource_health(obj)) for ref, obj in live.items()]
    status = worst([o.health.status for o in per_object])
    reason = ""
    for o in per_object:
        if o.health.status is status and status is not HealthStatus.HEALTHY:
            detail = ": ".join(part for part in (o.health.reason, o.health.message) if part)
            reason = f"{o.ref}: {detail}" if detail else str(o.ref)
            break
    return AppHealth(status, reason, per_object)


async def read_health(api: KubeApi, refs: Sequence[ObjectRef]) -> AppHealth:
    """The roll-up now, from one GET per object (for a status page; ``wait_healthy`` to wait)."""
    live: dict[ObjectRef, Mapping[str, Any] | None] = {}
    for ref in refs:
        rt = await api.resource_type(ref.api_version, ref.kind)
        live[ref] = await api.get(rt, ref.namespace if rt.namespaced else "", ref.name)
    return health(live)


async def _follow(
    api: KubeApi,
    rt: ResourceType,
    namespace: str,
    selector: Mapping[str, str],
    updates: asyncio.Queue[tuple[str, dict[str, Any]]],
) -> None:
    """LIST then WATCH one stream into ``updates``; a failure is passed on as an ``ERROR`` item, not lost."""
    try:
        items, rv = await api.list(rt, namespace, labels=selector)
        for item in items:
            await updates.put(("ADDED", item))
        await updates.put(("SYNCED", {}))
        async for event, obj in api.watch(rt, namespace, labels=selector, resource_version=rv):
            await updates.put((event, obj))
    except Exception as exc:  # handed to the waiting task, which raises it
        await updates.put(("ERROR", {"error": exc}))


async def wait_healthy(
    api: KubeApi,
    refs: Sequence[ObjectRef],
    *,
    app: str,
    timeout_seconds: float,
    fail_fast: bool = False,
) -> AppHealth:
    """Watch the app's objects until Healthy (or Degraded with ``fail_fast``) or the timeout; the last roll-up."""
    keys: dict[ObjectKey, ObjectRef] = {ref.key: ref for ref in refs}
    if not keys:
        return health({})  # nothing to wait for: an empty app is Healthy
    snapshot: dict[ObjectKey, dict[str, Any] | None] = dict.fromkeys(keys)
    streams: dict[tuple[ResourceType, str], None] = {}
    for ref in refs:
        rt = await api.resource_type(ref.api_version, ref.kind)
        streams[(rt, ref.namespace if rt.namespaced else "")] = None
    updates: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    selector = {APP_LABEL: app}
    tasks = [asyncio.create_task(_follow(api, rt, ns, selector, updates)) for rt, ns in streams]
    pending_syncs = len(tasks)

    def current() -> AppHealth:
        return health({keys[k]: obj for k, obj in snapshot.items()})

    try:
        async with asyncio.timeout(timeout_seconds):
            while True:
                event, obj = await updates.get()
                if event == "ERROR":
                    raise obj["error"]
                if event == "SYNCED":
                    pending_syncs -= 1
                else:
                    key = ref_of(obj).key
                    if key in snapshot:
                        snapshot[key] = None if event == "DELETED" else obj
                if pending_syncs > 0 or not updates.empty():
                    continue  # judge complete snapshots only, and once per burst of events
                result = current()
                if result.status is HealthStatus.HEALTHY:
                    return result
                if fail_fast and result.status is HealthStatus.DEGRADED:
                    return result
    except TimeoutError:
        return current()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
