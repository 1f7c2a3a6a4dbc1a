"""Recording fakes for controller unit tests (sample-controller style).

A test builds a :class:`FakeCluster` with the objects a sync should see, runs ``sync(key)`` once, and
asserts ``cluster.client.actions`` — the exact list of API calls — then syncs again and asserts there
are none. The fake client applies writes to the fake listers, so a second sync sees the first one's
effects, like a controller whose informer has caught up.
"""

from __future__ import annotations

import builtins
import copy
import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.controllers.runtime.types import ApiStatusError, IndexFunc, Obj


@dataclass
class FakeClock:
    current: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


class FakeLister:
    def __init__(self, objects: list[Obj] | None = None) -> None:
        self.objects: dict[tuple[str | None, str], Obj] = {}
        self.indexes: dict[str, IndexFunc] = {}
        for o in objects or []:
            self.put(o)

    def put(self, obj: Obj) -> None:
        m = obj["metadata"]
        self.objects[(m.get("namespace"), m["name"])] = obj

    def remove(self, namespace: str | None, name: str) -> None:
        self.objects.pop((namespace, name), None)

    def get(self, namespace: str | None, name: str) -> Obj | None:
        return self.objects.get((namespace, name))

    def list(self, namespace: str | None = None, predicate: Callable[[Obj], bool] | None = None) -> list[Obj]:
        out = [
            o
            for (ns, _), o in sorted(self.objects.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
            if namespace is None or ns == namespace
        ]
        return [o for o in out if predicate is None or predicate(o)]

    def add_index(self, name: str, fn: IndexFunc) -> None:
        self.indexes.setdefault(name, fn)

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        """Computed on each call from the objects (a fake favours obviousness over speed)."""
        fn = self.indexes[name]
        return self.list(predicate=lambda o: value in fn(o))


Action = tuple[Any, ...]


class RecordingClient:
    """Records ``(verb, resource, namespace, name-or-body...)`` and applies writes to the listers."""

    def __init__(self, listers: dict[str, FakeLister], clock: FakeClock) -> None:
        self.listers = listers
        self.clock = clock
        self.actions: list[Action] = []
        self._rv = itertools.count(1000)
        self._uid = itertools.count(1)
        # Inject failures: resource/verb -> ApiStatusError raised once per call while present.
        self.fail: dict[tuple[str, str], ApiStatusError] = {}

    def _lister(self, resource: str) -> FakeLister:
        return self.listers.setdefault(resource, FakeLister())

    def _check(self, verb: str, resource: str) -> None:
        err = self.fail.get((verb, resource))
        if err is not None:
            raise err

    async def get(self, resource: str, namespace: str | None, name: str) -> Obj:
        self.actions.append(("get", resource, namespace, name))
        obj = self._lister(resource).get(namespace, name)
        if obj is None:
            raise ApiStatusError({"code": 404, "reason": "NotFound", "message": f'"{name}" not found'})
        return copy.deepcopy(obj)

    async def create(self, resource: str, namespace: str | None, body: Obj) -> Obj:
        self.actions.append(("create", resource, namespace, copy.deepcopy(body)))
        self._check("create", resource)
        if resource.endswith("/binding"):
            return self._bind(resource.removesuffix("/binding"), namespace, body)
        obj = copy.deepcopy(body)
        m = obj.setdefault("metadata", {})
        if not m.get("name") and m.get("generateName"):
            m["name"] = f"{m['generateName']}{next(self._uid):05d}"
        if self._lister(resource).get(namespace, m["name"]) is not None:
            raise ApiStatusError(
                {"code": 409, "reason": "AlreadyExists", "message": f'"{m["name"]}" already exists'}
            )
        if namespace:
            m["namespace"] = namespace
        m.setdefault("uid", f"uid-{next(self._uid)}")
        m["resourceVersion"] = str(next(self._rv))
        m.setdefault("creationTimestamp", self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        self._lister(resource).put(obj)
        return copy.deepcopy(obj)

    def _bind(self, resource: str, namespace: str | None, binding: Obj) -> Obj:
        """``create("v1/pods/binding", ns, Binding)`` is the POST to ``pods/<metadata.name>/binding``: like the
        API server, set spec.nodeName and PodScheduled=True (404 if the pod is gone, 409 if already bound)."""
        name = binding["metadata"]["name"]
        current = self._lister(resource).get(namespace, name)
        if current is None:
            raise ApiStatusError({"code": 404, "reason": "NotFound", "message": f'pods "{name}" not found'})
        if current["spec"].get("nodeName") or current["metadata"].get("deletionTimestamp"):
            raise ApiStatusError(
                {"code": 409, "reason": "Conflict", "message": f"pod {name} cannot be bound"}
            )
        pod = copy.deepcopy(current)
        pod["spec"]["nodeName"] = binding["target"]["name"]
        status = pod.setdefault("status", {})
        status["conditions"] = [
            *(c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"),
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        ]
        pod["metadata"]["resourceVersion"] = str(next(self._rv))
        self._lister(resource).put(pod)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    async def update(self, resource: str, namespace: str | None, body: Obj, *, subresource: str = "") -> Obj:
        self.actions.append(
            ("update", resource + (f"/{subresource}" if subresource else ""), namespace, copy.deepcopy(body))
        )
        self._check("update", resource)
        obj = copy.deepcopy(body)
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        self._lister(resource).put(obj)
        return copy.deepcopy(obj)

    async def patch(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        patch_type: str = "merge",
        subresource: str = "",
    ) -> Obj:
        self.actions.append(
            (
                "patch",
                resource + (f"/{subresource}" if subresource else ""),
                namespace,
                name,
                patch_type,
                copy.deepcopy(body),
            )
        )
        self._check("patch", resource)
        current = self._lister(resource).get(namespace, name)
        if current is None:
            raise ApiStatusError({"code": 404, "reason": "NotFound", "message": f'"{name}" not found'})
        from ferry.cluster.apiserver.patch import apply_json_patch, apply_merge_patch

        merged = apply_json_patch(current, body) if patch_type == "json" else apply_merge_patch(current, body)
        merged["metadata"]["resourceVersion"] = str(next(self._rv))
        self._lister(resource).put(merged)
        return copy.deepcopy(merged)

    async def delete(
        self, resource: str, namespace: str | None, name: str, *, options: Obj | None = None
    ) -> None:
        self.actions.append(("delete", resource, namespace, name))
        self._check("delete", resource)
        if self._lister(resource).get(namespace, name) is None:
            raise ApiStatusError({"code": 404, "reason": "NotFound", "message": f'"{name}" not found'})
        self._lister(resource).remove(namespace, name)


@dataclass
class RecordingRecorder:
    events: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # (object key, type, reason, message)

    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        m = obj.get("metadata") or {}
        self.events.append((f"{m.get('namespace')}/{m.get('name')}", type_, reason, message))
