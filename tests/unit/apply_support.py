"""A recording, in-memory ``KubeApi`` for the apply-engine unit tests.

It keeps objects by (group, kind, namespace, name), answers server-side apply by replacing the object's
content while keeping server-set metadata (uid, creationTimestamp) and bumping resourceVersion, adds a
``status`` and ``managedFields`` like a real server, and records every call as ``(verb, "Kind/name")`` so
tests can assert the exact sequence of API actions. ``fail[(verb, name)]`` makes a call raise.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import itertools
from collections.abc import AsyncIterator, Mapping
from typing import Any

from ferry.delivery.apply.errors import ApplyError, ConflictError, UnknownKindError
from ferry.delivery.apply.kubeapi import ResourceType, WatchEvent

BUILTIN = [
    ResourceType("", "v1", "Namespace", "namespaces", False),
    ResourceType("", "v1", "ConfigMap", "configmaps", True),
    ResourceType("", "v1", "Secret", "secrets", True),
    ResourceType("", "v1", "Service", "services", True),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", True),
    ResourceType("apps", "v1", "Deployment", "deployments", True),
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", True),
    ResourceType(
        "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False
    ),
]


def obj(kind: str, name: str, ns: str = "app", api_version: str = "v1", **spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
    if ns:
        out["metadata"]["namespace"] = ns
    if spec:
        out["spec"] = spec
    return out


class FakeKubeApi:
    server = "https://fake.invalid"

    def __init__(self) -> None:
        self.types = {(rt.api_version, rt.kind): rt for rt in BUILTIN}
        self.store: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.actions: list[tuple[str, str]] = []
        self.fail: dict[tuple[str, str], ApplyError] = {}
        self.events: asyncio.Queue[WatchEvent] = asyncio.Queue()
        self._rv = itertools.count(100)
        self._uid = itertools.count(1)

    def _check(self, verb: str, name: str) -> None:
        self.actions.append((verb, name))
        if (verb, name) in self.fail:
            raise self.fail[(verb, name)]

    async def resource_type(self, api_version: str, kind: str) -> ResourceType:
        rt = self.types.get((api_version, kind))
        if rt is None:
            raise UnknownKindError(f"the cluster serves no {kind} in {api_version}")
        return rt

    def forget_discovery(self) -> None:
        self.actions.append(("forget-discovery", ""))

    def put(self, rt: ResourceType, body: dict[str, Any]) -> dict[str, Any]:
        """Store an object directly (as another client would), returning it with server fields."""
        meta = body.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{next(self._uid)}")
        meta.setdefault("creationTimestamp", "2026-11-26T00:00:00Z")
        meta["resourceVersion"] = str(next(self._rv))
        body.setdefault("apiVersion", rt.api_version)
        body.setdefault("kind", rt.kind)
        self.store[(rt.group, rt.kind, meta.get("namespace", ""), meta["name"])] = body
        return body

    async def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        self._check("get", f"{rt.kind}/{name}")
        found = self.store.get((rt.group, rt.kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def apply(self, rt: ResourceType, obj: Mapping[str, Any], *, dry_run: bool) -> dict[str, Any]:
        name = str(obj["metadata"]["name"])
        ns = str(obj["metadata"].get("namespace") or "")
        self._check("dry-run" if dry_run else "apply", f"{rt.kind}/{name}")
        old = self.store.get((rt.group, rt.kind, ns, name))
        precondition = obj["metadata"].get("resourceVersion")
        if precondition and (old is None or old["metadata"]["resourceVersion"] != precondition):
            raise ConflictError(
                f"{rt.kind} {ns}/{name}: conflict (apply): modified", code=409, reason="Conflict"
            )
        new = copy.deepcopy(dict(obj))
        meta = new["metadata"]
        if old is not None:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            changed = {k: v for k, v in new.items() if k != "metadata"} != {
                k: v for k, v in old.items() if k not in ("metadata", "status")
            } or meta.get("labels") != old["metadata"].get("labels")
            meta["resourceVersion"] = str(next(self._rv)) if changed else old["metadata"]["resourceVersion"]
        else:
            meta["uid"] = f"uid-{next(self._uid)}"
            meta["creationTimestamp"] = "2026-11-27T00:00:00Z"
            meta["resourceVersion"] = str(next(self._rv))
        meta["managedFields"] = [
            {"manager": "ferry", "operation": "Apply", "time": f"t{meta['resourceVersion']}"}
        ]
        new["status"] = {"observedGeneration": 1}
        if rt.kind == "CustomResourceDefinition":
            new["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
        if not dry_run:
            self.store[(rt.group, rt.kind, ns, name)] = copy.deepcopy(new)
            if rt.kind == "CustomResourceDefinition":
                spec = new["spec"]
                crd_rt = ResourceType(
                    spec["group"],
                    spec["versions"][0]["name"],
                    spec["names"]["kind"],
                    spec["names"]["plural"],
                    spec.get("scope") == "Namespaced",
                )
                self.types[(crd_rt.api_version, crd_rt.kind)] = crd_rt
        return new

    async def delete(self, rt: ResourceType, namespace: str, name: str) -> bool:
        self._check("delete", f"{rt.kind}/{name}")
        return self.store.pop((rt.group, rt.kind, namespace, name), None) is not None

    async def list(
        self, rt: ResourceType, namespace: str, *, labels: Mapping[str, str] | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        self.actions.append(("list", rt.kind))
        items = [
            copy.deepcopy(o)
            for (g, k, ns, _), o in self.store.items()
            if (g, k) == (rt.group, rt.kind)
            and (not namespace or ns == namespace)
            and all((o["metadata"].get("labels") or {}).get(lk) == lv for lk, lv in (labels or {}).items())
        ]
        return items, "99"

    async def watch(
        self,
        rt: ResourceType,
        namespace: str,
        *,
        labels: Mapping[str, str] | None = None,
        resource_version: str = "",
    ) -> AsyncIterator[WatchEvent]:
        while True:
            event, body = await self.events.get()
            if body.get("kind") == rt.kind:
                yield event, body

    def writes(self) -> builtins.list[tuple[str, str]]:
        return [a for a in self.actions if a[0] in ("apply", "delete")]
