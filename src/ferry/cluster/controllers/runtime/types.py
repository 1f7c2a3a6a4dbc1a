"""The seams every controller is written against: listers (the informer cache), a client (writes
through the Kubernetes API), an event recorder, and a clock.

Controllers never touch the store: they read from informer caches that are fed by list+watch over
the API and write through the API, with the same authentication, defaulting and validation as any
client (kube's controller-manager does the same). Unit tests substitute recording fakes for all four
(``ferry.cluster.controllers.runtime.fakes``): sync one key, assert the exact list of API actions.

Resources are named ``"<group>/<version>/<plural>"`` with ``"v1/<plural>"`` for the core group, e.g.
``"apps/v1/replicasets"``, ``"v1/pods"``.

Objects are plain JSON dicts. Objects returned by a lister are SHARED with the cache: never mutate
them; ``copy.deepcopy`` first (the invariant client-go states as "never mutate cached objects").
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

Obj = dict[str, Any]


class ApiStatusError(Exception):
    """A non-2xx answer from the API server, carrying its decoded ``Status``."""

    def __init__(self, status: Obj) -> None:
        self.status = status
        self.code = int(status.get("code", 0) or 0)
        self.reason = str(status.get("reason", ""))
        super().__init__(str(status.get("message", "")))

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def conflict(self) -> bool:
        return self.code == 409 and self.reason == "Conflict"

    @property
    def already_exists(self) -> bool:
        return self.code == 409 and self.reason == "AlreadyExists"


IndexFunc = Callable[[Obj], Iterable[str]]


class Lister(Protocol):
    """Read access to one resource's informer cache.

    ``add_index(name, fn)`` registers an index (client-go's ``Indexers``): ``fn`` maps an object to the
    index values it is filed under, and ``by_index(name, value)`` returns the objects filed under
    ``value`` in no particular order (the fakes sort them, an informer does not). Registering the same name twice keeps the first
    function (shared informers: every controller asks for the index it needs).
    """

    def get(self, namespace: str | None, name: str) -> Obj | None: ...

    def list(
        self, namespace: str | None = None, predicate: Callable[[Obj], bool] | None = None
    ) -> list[Obj]: ...

    def add_index(self, name: str, fn: IndexFunc) -> None: ...

    def by_index(self, name: str, value: str) -> builtins.list[Obj]: ...


class Client(Protocol):
    """Writes through the API. Raise :class:`ApiStatusError` on a non-2xx answer."""

    async def get(self, resource: str, namespace: str | None, name: str) -> Obj: ...

    async def create(self, resource: str, namespace: str | None, body: Obj) -> Obj: ...

    async def update(self, resource: str, namespace: str | None, body: Obj, *, subresource: str = "") -> Obj:
        """PUT with the body's metadata.resourceVersion as the precondition (409 Conflict when stale)."""
        ...

    async def patch(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        patch_type: str = "merge",  # "merge" | "strategic" | "json" | "apply"
        subresource: str = "",
    ) -> Obj: ...

    async def delete(
        self, resource: str, namespace: str | None, name: str, *, options: Obj | None = None
    ) -> None: ...


class EventRecorder(Protocol):
    """core/v1 Events about an object, as client-go's recorder writes them (with aggregation of repeats)."""

    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None: ...


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


@dataclass(frozen=True)
class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


def key_of(obj: Obj) -> str:
    """``namespace/name`` (or ``name`` for cluster-scoped objects), the work-queue key."""
    m = obj.get("metadata") or {}
    ns = m.get("namespace")
    return f"{ns}/{m.get('name')}" if ns else str(m.get("name"))


def split_key(key: str) -> tuple[str | None, str]:
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, ns)
