"""Informer: an in-memory cache of one resource, fed by list+watch through the API (client-go's
Reflector + Indexer + shared-informer handlers, in one small class).

The loop, as kube's reflector runs it:

1. **List** (one consistent snapshot) and replace the cache. The first list fires ``on_add`` for every
   object and marks the informer synced. A later one (a *relist*) fires only the differences against
   the cache: ``on_add`` for new objects, ``on_update(old, new)`` for objects whose resourceVersion
   changed, ``on_delete(last known state)`` for objects that vanished — so a consumer that missed
   events during a gap ends up exactly where one that saw them would.
2. **Watch** from the list's resourceVersion with bookmarks. Every event moves the cache and the
   last-seen resourceVersion (bookmarks only move the latter).
3. When the stream **ends** (the server times watches out after ``timeoutSeconds``; a connection drops),
   watch again from the last-seen resourceVersion: nothing is lost, nothing is replayed.
4. An ``ERROR`` event (a **410 Expired** when that resourceVersion was compacted away, or anything
   else) or a watch that cannot start means the stream cannot be resumed: **relist** (step 1).
   Transport failures, and a stream that ends at once without a single event, back off exponentially
   (``backoff_*``) before the next attempt, so a misbehaving server is not hammered.

Invariants: the cache is only changed by this loop; handlers run synchronously right after the
change, in event order, and receive the cached objects themselves — SHARED, never to be mutated
(controllers deep-copy before writing). A handler that raises is logged and does not disturb the
others or the loop. A handler added after the first list is replayed ``on_add`` for every cached
object, as client-go does for late handlers.

The cache implements :class:`~.types.Lister` with an index by namespace; ``list`` returns objects in
(namespace, name) order like the unit-test fakes, from per-namespace sorted name lists kept up to date
incrementally (an update costs nothing, an add or delete a bisect), so listing 10,000 pods never sorts.
Named indexes (``add_index``, client-go's ``Indexers``) file each object under the values its function
returns and are updated with every cache change, so a controller can read "the pods this ReplicaSet
controls" without walking the namespace. ``by_index`` returns them in no particular order (the order
they were filed in), as client-go's indexer does; sorting 10,000 pods per sync would cost more than
the rest of a ReplicaSet sync.
"""

from __future__ import annotations

import asyncio
import bisect
import builtins
import contextlib
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from ferry.cluster.controllers.runtime.types import ApiStatusError, IndexFunc, Obj

log = logging.getLogger("ferry.controllers.informer")

AddHandler = Callable[[Obj], None]
UpdateHandler = Callable[[Obj, Obj], None]
DeleteHandler = Callable[[Obj], None]


class ListWatchClient(Protocol):
    """What an informer needs from a client (:class:`~.client.ApiClient` has it)."""

    async def list(
        self,
        resource: str,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], str]: ...

    def watch(
        self,
        resource: str,
        namespace: str | None,
        resource_version: str,
        *,
        timeout_seconds: int,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> AsyncGenerator[tuple[str, Obj], None]: ...


class ShortWatchError(Exception):
    """A watch stream that ended at once with nothing in it (a misbehaving server): back off."""


@dataclass
class InformerSettings:
    # Server-side watch timeout; each watch asks for a random value in [t, 2t) as client-go does, so a
    # fleet of informers does not reconnect in lockstep.
    watch_timeout_seconds: float = 300.0
    backoff_initial_seconds: float = 0.8
    backoff_max_seconds: float = 30.0


@dataclass(frozen=True)
class _Handler:
    on_add: AddHandler | None
    on_update: UpdateHandler | None
    on_delete: DeleteHandler | None


def _ns_name(obj: Obj) -> tuple[str | None, str]:
    m = obj.get("metadata") or {}
    return m.get("namespace") or None, str(m.get("name", ""))


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


class Informer:
    """A list+watch cache of ``resource`` (in ``namespace``, or everywhere when None)."""

    def __init__(
        self,
        client: ListWatchClient,
        resource: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        settings: InformerSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.settings = settings or InformerSettings()
        self._sleep = sleep
        self._by_ns: dict[str | None, dict[str, Obj]] = {}
        self._names: dict[str | None, builtins.list[str]] = {}  # per namespace, sorted, kept incrementally
        self._handlers: builtins.list[_Handler] = []
        # index name -> (function, value -> {(namespace, name): object})
        self._indexes: dict[str, tuple[IndexFunc, dict[str, dict[tuple[str | None, str], Obj]]]] = {}
        self._synced = asyncio.Event()
        self.resource_version = ""
        self.lists = 0  # completed lists (the first one plus relists), for observability and tests
        self.watches = 0  # watch streams opened

    # -- Lister ----------------------------------------------------------------------------------------
    def get(self, namespace: str | None, name: str) -> Obj | None:
        return self._by_ns.get(namespace or None, {}).get(name)

    def list(
        self, namespace: str | None = None, predicate: Callable[[Obj], bool] | None = None
    ) -> builtins.list[Obj]:
        if namespace is None:
            spaces = sorted(self._by_ns, key=lambda n: n or "")
            objs = [self._by_ns[ns][n] for ns in spaces for n in self._names[ns]]
        else:
            bucket = self._by_ns.get(namespace, {})
            objs = [bucket[n] for n in self._names.get(namespace, ())]
        return [o for o in objs if predicate(o)] if predicate is not None else objs

    def add_index(self, name: str, fn: IndexFunc) -> None:
        if name in self._indexes:
            return
        buckets: dict[str, dict[tuple[str | None, str], Obj]] = {}
        self._indexes[name] = (fn, buckets)
        for obj in self.list():
            self._file(fn, buckets, obj)

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        bucket = self._indexes[name][1].get(value)
        return list(bucket.values()) if bucket else []

    @staticmethod
    def _file(fn: IndexFunc, buckets: dict[str, dict[tuple[str | None, str], Obj]], obj: Obj) -> None:
        key = _ns_name(obj)
        for value in fn(obj):
            buckets.setdefault(value, {})[key] = obj

    @staticmethod
    def _unfile(fn: IndexFunc, buckets: dict[str, dict[tuple[str | None, str], Obj]], obj: Obj) -> None:
        key = _ns_name(obj)
        for value in fn(obj):
            bucket = buckets.get(value)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del buckets[value]

    def __len__(self) -> int:
        return sum(len(b) for b in self._by_ns.values())

    # -- handlers and sync -----------------------------------------------------------------------------
    def add_handler(
        self,
        on_add: AddHandler | None = None,
        on_update: UpdateHandler | None = None,
        on_delete: DeleteHandler | None = None,
    ) -> None:
        handler = _Handler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if self._synced.is_set() and on_add is not None:
            for obj in self.list():
                self._call(on_add, obj)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    # -- cache changes ---------------------------------------------------------------------------------
    def _put(self, obj: Obj) -> Obj | None:
        ns, name = _ns_name(obj)
        bucket = self._by_ns.setdefault(ns, {})
        old = bucket.get(name)
        bucket[name] = obj
        if old is None:  # an update keeps the order: no need to touch the sorted names
            bisect.insort(self._names.setdefault(ns, []), name)
        for fn, buckets in self._indexes.values():
            if old is not None:
                self._unfile(fn, buckets, old)
            self._file(fn, buckets, obj)
        return old

    def _remove(self, ns: str | None, name: str) -> Obj | None:
        bucket = self._by_ns.get(ns)
        old = bucket.pop(name, None) if bucket is not None else None
        if old is not None:
            names = self._names[ns]
            del names[bisect.bisect_left(names, name)]
            for fn, buckets in self._indexes.values():
                self._unfile(fn, buckets, old)
        if bucket is not None and not bucket:
            del self._by_ns[ns]
            del self._names[ns]
        return old

    def _call(self, fn: Callable[..., None], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("%s informer: event handler failed", self.resource)

    def _added(self, obj: Obj) -> None:
        for h in self._handlers:
            if h.on_add is not None:
                self._call(h.on_add, obj)

    def _updated(self, old: Obj, new: Obj) -> None:
        for h in self._handlers:
            if h.on_update is not None:
                self._call(h.on_update, old, new)

    def _deleted(self, obj: Obj) -> None:
        for h in self._handlers:
            if h.on_delete is not None:
                self._call(h.on_delete, obj)

    def replace(self, items: builtins.list[Obj], resource_version: str) -> None:
        """Swap in a list result and fire the callbacks for what differs from the cache."""
        seen: set[tuple[str | None, str]] = set()
        for obj in items:
            key = _ns_name(obj)
            seen.add(key)
            old = self._put(obj)
            if old is None:
                self._added(obj)
            elif _rv(old) != _rv(obj):
                self._updated(old, obj)
        gone = [(ns, name) for ns, bucket in self._by_ns.items() for name in bucket if (ns, name) not in seen]
        for ns, name in gone:
            old = self._remove(ns, name)
            if old is not None:
                self._deleted(old)
        self.resource_version = resource_version
        self.lists += 1
        self._synced.set()

    def apply(self, type_: str, obj: Obj) -> None:
        """One watch event (ADDED, MODIFIED, DELETED or BOOKMARK) into the cache and the handlers."""
        rv = _rv(obj)
        if type_ == "BOOKMARK":
            self.resource_version = rv or self.resource_version
            return
        if type_ == "DELETED":
            self._remove(*_ns_name(obj))
            self._deleted(obj)
        elif type_ in ("ADDED", "MODIFIED"):
            old = self._put(obj)
            if old is None:
                self._added(obj)
            else:
                self._updated(old, obj)
        else:
            log.warning("%s informer: unknown watch event type %r", self.resource, type_)
            return
        self.resource_version = rv or self.resource_version

    # -- the loop --------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """List and watch until ``stop`` is set."""
        body = asyncio.create_task(self._loop(), name=f"informer {self.resource}")
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({body, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (body, stopper):
                t.cancel()
            for t in (body, stopper):
                with contextlib.suppress(asyncio.CancelledError):
                    await t

    async def _loop(self) -> None:
        backoff = self.settings.backoff_initial_seconds
        need_list = True
        while True:
            try:
                if need_list:
                    items, rv = await self.client.list(
                        self.resource,
                        self.namespace,
                        label_selector=self.label_selector,
                        field_selector=self.field_selector,
                    )
                    self.replace(items, rv)
                    need_list = False
                need_list = await self._watch()
                backoff = self.settings.backoff_initial_seconds
                continue
            except ApiStatusError as e:
                # A watch that cannot start (410 included) or a failed list: relist after a pause.
                log.info("%s informer: %s (%s); relisting", self.resource, e, e.code)
                need_list = True
                if e.code == 410:
                    continue
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError, ShortWatchError) as e:
                # Transport trouble: resume the watch from the last resourceVersion (a 410 then relists).
                log.info("%s informer: %r; retrying in %.1fs", self.resource, e, backoff)
                need_list = need_list or not self.resource_version
            except Exception:
                log.exception("%s informer: unexpected failure; relisting", self.resource)
                need_list = True
            await self._sleep(backoff)
            backoff = min(backoff * 2, self.settings.backoff_max_seconds)

    async def _watch(self) -> bool:
        """One watch stream; True when the informer must relist, False to resume watching."""
        base = self.settings.watch_timeout_seconds
        timeout = max(1, int(base * (1 + random.random())))
        self.watches += 1
        stream = self.client.watch(
            self.resource,
            self.namespace,
            self.resource_version,
            timeout_seconds=timeout,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        started, events = time.monotonic(), 0
        async with contextlib.aclosing(stream):
            async for type_, obj in stream:
                events += 1
                if type_ == "ERROR":
                    code = obj.get("code")
                    log.info(
                        "%s informer: watch error %s %s; relisting", self.resource, code, obj.get("message")
                    )
                    return True
                self.apply(type_, obj)
        if events == 0 and time.monotonic() - started < 1.0:
            raise ShortWatchError("watch ended at once without a single event")  # back off, don't spin
        return False


class InformerFactory:
    """One informer per resource, shared by every controller that watches or lists it."""

    def __init__(self, client: ListWatchClient, settings: InformerSettings | None = None) -> None:
        self.client = client
        self.settings = settings or InformerSettings()
        self.informers: dict[str, Informer] = {}
        self._stop: asyncio.Event | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def informer(self, resource: str) -> Informer:
        inf = self.informers.get(resource)
        if inf is None:
            inf = self.informers[resource] = Informer(self.client, resource, settings=self.settings)
            if self._stop is not None:
                self._start(inf)
        return inf

    def start(self, stop: asyncio.Event) -> None:
        self._stop = stop
        for inf in self.informers.values():
            self._start(inf)

    def _start(self, inf: Informer) -> None:
        assert self._stop is not None
        self.tasks.append(asyncio.create_task(inf.run(self._stop), name=f"informer {inf.resource}"))

    async def wait_synced(self) -> None:
        await asyncio.gather(*(inf.wait_synced() for inf in self.informers.values()))
