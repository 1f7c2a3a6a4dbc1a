"""Garbage collector and namespace controller (k8s-semantics.md §6).

Runs in the cluster process and follows every change through one store watch (prefix ``/``), keeping an
index of objects by uid with their owner references. Work is level-triggered: each event marks uids
"dirty"; a pass attends each dirty uid once and re-reads the store before writing, so a missed or
repeated event never leaves work undone.

For a dirty object X:

* **orphan** finalizer while X is being deleted: strip X from every dependent's ownerReferences, then
  remove the finalizer (the object then disappears).
* **foregroundDeletion** while X is being deleted: delete X's dependents that are not already being
  deleted (Foreground if they own things themselves, else Background); once no dependent with
  ``blockOwnerDeletion: true`` remains, remove the finalizer.
* **dangling owners** (Background cascade): if every owner of X is gone (no object with that uid), delete
  X with its own policy; if only some are, patch the dangling references out.
* **Namespace** being deleted: delete everything in it, then clear ``spec.finalizers`` (``kubernetes``)
  through ``/finalize``, which completes the deletion.

Writes go through the same storage layer as API requests (validation, resourceVersion preconditions,
watch events); a lost race is simply attended again on the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.apiserver import errors
from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.apiserver.deletion import FOREGROUND, ORPHAN, DeleteOptions, delete_object
from ferry.cluster.apiserver.storage import WriteOptions
from ferry.cluster.resources.types import Obj, ResourceType
from ferry.cluster.store import Compacted

log = logging.getLogger("ferry.gc")
MANAGER = "garbage-collector"
NAMESPACE_FINALIZER = "kubernetes"


@dataclass
class Node:
    uid: str
    key: str
    rt: ResourceType
    namespace: str | None
    name: str
    owners: list[dict[str, Any]] = field(default_factory=list)
    finalizers: list[str] = field(default_factory=list)
    deleting: bool = False


class GarbageCollector:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.nodes: dict[str, Node] = {}
        self.by_key: dict[str, str] = {}
        self.dependents: dict[str, set[str]] = {}
        self.dirty: set[str] = set()

    # -- index ---------------------------------------------------------------------------------------
    def _forget(self, key: str) -> None:
        uid = self.by_key.pop(key, None)
        if uid is None:
            return
        node = self.nodes.pop(uid, None)
        if node is None:
            return
        for ref in node.owners:
            deps = self.dependents.get(str(ref.get("uid")))
            if deps is not None:
                deps.discard(uid)
            self.dirty.add(str(ref.get("uid")))  # an owner in foreground deletion may now finish
        for dep in self.dependents.get(uid, ()):  # its dependents may now be dangling
            self.dirty.add(dep)

    def observe(self, key: str, obj: Obj | None) -> None:
        self._forget(key)
        if obj is None:
            return
        rt = self.ctx.catalog.for_store_key(key)
        m = obj.get("metadata") or {}
        uid = m.get("uid")
        if rt is None or not uid:
            return
        owners = [r for r in (m.get("ownerReferences") or []) if isinstance(r, dict) and r.get("uid")]
        node = Node(
            uid=uid,
            key=key,
            rt=rt,
            namespace=m.get("namespace"),
            name=m.get("name", ""),
            owners=owners,
            finalizers=[f for f in (m.get("finalizers") or []) if isinstance(f, str)],
            deleting=bool(m.get("deletionTimestamp")),
        )
        self.nodes[uid] = node
        self.by_key[key] = uid
        for ref in owners:
            self.dependents.setdefault(str(ref["uid"]), set()).add(uid)
        if owners or node.deleting:
            self.dirty.add(uid)

    # -- work ----------------------------------------------------------------------------------------
    async def attend(self, uid: str) -> None:
        node = self.nodes.get(uid)
        if node is None:
            return
        if node.deleting:
            if ORPHAN in node.finalizers:
                await self._orphan(node)
            elif FOREGROUND in node.finalizers:
                await self._foreground(node)
            if node.rt.group == "" and node.rt.kind == "Namespace":
                await self._namespace(node)
        if node.owners and uid in self.nodes:
            await self._dangling(node)

    def _children(self, node: Node) -> list[Node]:
        return [self.nodes[d] for d in self.dependents.get(node.uid, set()) if d in self.nodes]

    async def _update(self, node: Node, mutate: Any) -> None:
        async def wrapped(obj: Obj) -> tuple[Obj, bool]:
            mutate(obj)
            return obj, False

        with contextlib.suppress(errors.ApiError):
            await self.ctx.storage.guaranteed_update(
                node.rt, node.namespace, node.name, wrapped, WriteOptions(field_manager=MANAGER)
            )

    async def _remove_finalizer(self, node: Node, finalizer: str) -> None:
        def mutate(obj: Obj) -> None:
            m = obj["metadata"]
            m["finalizers"] = [f for f in m.get("finalizers") or [] if f != finalizer]
            if not m["finalizers"]:
                del m["finalizers"]

        await self._update(node, mutate)

    async def _delete(self, node: Node, policy: str | None) -> None:
        with contextlib.suppress(errors.ApiError):
            await delete_object(
                self.ctx.storage, node.rt, node.namespace, node.name, DeleteOptions(propagation_policy=policy)
            )

    async def _orphan(self, node: Node) -> None:
        for child in self._children(node):

            def strip(obj: Obj, owner: str = node.uid) -> None:
                m = obj["metadata"]
                m["ownerReferences"] = [r for r in m.get("ownerReferences") or [] if r.get("uid") != owner]
                if not m["ownerReferences"]:
                    del m["ownerReferences"]

            await self._update(child, strip)
        await self._remove_finalizer(node, ORPHAN)

    async def _foreground(self, node: Node) -> None:
        blocking = False
        for child in self._children(node):
            ref = next((r for r in child.owners if r.get("uid") == node.uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking = True
            if not child.deleting:
                policy = "Foreground" if self.dependents.get(child.uid) else None
                await self._delete(child, policy)
        if not blocking:
            await self._remove_finalizer(node, FOREGROUND)

    async def _dangling(self, node: Node) -> None:
        alive = [r for r in node.owners if str(r.get("uid")) in self.nodes]
        if alive and len(alive) == len(node.owners):
            # Owners in foreground deletion take their dependents with them (handled on the owner).
            return
        if not alive:
            if not node.deleting:
                policy = (
                    "Orphan"
                    if ORPHAN in node.finalizers
                    else "Foreground"
                    if FOREGROUND in node.finalizers
                    else None
                )
                await self._delete(node, policy)
            return
        keep = {str(r.get("uid")) for r in alive}

        def strip(obj: Obj) -> None:
            obj["metadata"]["ownerReferences"] = [
                r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") in keep
            ]

        await self._update(node, strip)

    async def _namespace(self, node: Node) -> None:
        ns = node.name
        remaining = 0
        for rt in self.ctx.catalog.all():
            if not rt.namespaced or "delete" not in rt.verbs:
                continue
            entries, _ = self.ctx.store.list(rt.store_prefix(ns), limit=1000)
            for e in entries:
                remaining += 1
                m = json.loads(e.raw).get("metadata") or {}
                if not m.get("deletionTimestamp"):
                    with contextlib.suppress(errors.ApiError):
                        await delete_object(self.ctx.storage, rt, ns, m.get("name", ""), DeleteOptions())
        if remaining:
            self.dirty.add(node.uid)  # look again once the contents are gone
            return

        def finalize(obj: Obj) -> None:
            spec = obj.setdefault("spec", {})
            spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != NAMESPACE_FINALIZER]
            if not spec["finalizers"]:
                del spec["finalizers"]

        async def wrapped(obj: Obj) -> tuple[Obj, bool]:
            finalize(obj)
            return obj, False

        with contextlib.suppress(errors.ApiError):
            result = await self.ctx.storage.guaranteed_update(
                node.rt,
                None,
                ns,
                wrapped,
                WriteOptions(field_manager="namespace-controller"),
                subresource="finalize",
            )
            m = result.obj.get("metadata") or {}
            if (
                m.get("deletionTimestamp")
                and not m.get("finalizers")
                and not (result.obj.get("spec") or {}).get("finalizers")
            ):
                entry = self.ctx.store.get(node.key)
                if entry is not None:
                    await self.ctx.store.delete(entry.key, expected_rev=entry.rev)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            entries, _, watcher = self.ctx.store.snapshot_and_watch("/")
            self.nodes.clear()
            self.by_key.clear()
            self.dependents.clear()
            for e in entries:
                self.observe(e.key, json.loads(e.raw))
            try:
                while not stop.is_set():
                    await self._drain()
                    timeout = 0.5 if self.dirty else 5.0
                    for ev in await watcher.next_batch(timeout=timeout):
                        self.observe(ev.key, None if ev.type == "DELETED" else json.loads(ev.raw))
            except Compacted:
                continue
            finally:
                watcher.close()

    async def _drain(self) -> None:
        work, self.dirty = self.dirty, set()
        for uid in work:
            try:
                await self.attend(uid)
            except Exception:
                log.exception("garbage collection of %s failed", uid)


async def garbage_collector(ctx: ApiContext, stop: asyncio.Event) -> None:
    await GarbageCollector(ctx).run(stop)
