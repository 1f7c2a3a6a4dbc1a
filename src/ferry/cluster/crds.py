"""Serving custom resources: CustomResourceDefinitions become catalog entries as they are written.

``watch_crds`` loads the stored CRDs, then follows the CRD watch: every established CRD's served
versions become :class:`ResourceType` entries (scope, names, status/scale subresources, printer columns,
schema-based defaulting, validation and pruning); a deleted CRD's kinds disappear. Discovery and OpenAPI
read the catalog on every request, so clients see the change at once. Deleting a CRD deletes its custom
resources, as kube's CRD finalizer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.resources.crd import custom_resource_strategy
from ferry.cluster.resources.printers import crd_printer
from ferry.cluster.resources.types import Obj, ResourceType, ScaleSpec
from ferry.cluster.store import Compacted

log = logging.getLogger("ferry.crds")
CRD_PREFIX = "/apiextensions.k8s.io/customresourcedefinitions/"


def _path(json_path: str) -> tuple[str, ...]:
    return tuple(p for p in json_path.strip(".").split(".") if p)


def crd_types(crd: Obj) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    if not group or not names.get("plural") or not names.get("kind"):
        return []
    out: list[ResourceType] = []
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
    for v in versions:
        version = str(v.get("name"))
        subs = v.get("subresources") or {}
        sub_names: list[str] = []
        scale = None
        if "status" in subs:
            sub_names.append("status")
        if isinstance(subs.get("scale"), dict):
            sc = subs["scale"]
            sub_names.append("scale")
            scale = ScaleSpec(
                spec_replicas=_path(sc.get("specReplicasPath", ".spec.replicas")),
                status_replicas=_path(sc.get("statusReplicasPath", ".status.replicas")),
                selector=_path(sc.get("labelSelectorPath", "")) if sc.get("labelSelectorPath") else (),
                selector_is_string=True,
            )
        schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or {}
        defaulter, validator = custom_resource_strategy(crd, version)
        columns, row = crd_printer(v.get("additionalPrinterColumns") or [])
        top_keys = tuple(
            k
            for k in (schema.get("properties") or {})
            if k not in ("metadata", "apiVersion", "kind", "status")
        )
        if "status" not in subs:
            top_keys = (*top_keys, "status")
        out.append(
            ResourceType(
                group=group,
                version=version,
                kind=str(names["kind"]),
                plural=str(names["plural"]),
                singular=str(names.get("singular") or str(names["kind"]).lower()),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=tuple(sub_names),
                default=defaulter,
                validate=validator,
                columns=columns,
                row=row,
                generation_keys=top_keys or ("spec",),
                status_key="status" if "status" in subs else None,
                scale=scale,
                crd_name=str((crd.get("metadata") or {}).get("name")),
                schema=schema,
            )
        )
    return out


def _apply(ctx: ApiContext, name: str, crd: Obj | None) -> None:
    try:
        types = (
            crd_types(crd)
            if crd is not None and not (crd.get("metadata") or {}).get("deletionTimestamp")
            else []
        )
    except Exception:
        log.exception("cannot serve CustomResourceDefinition %s", name)
        types = []
    ctx.catalog.set_crd(name, types)


async def _delete_instances(ctx: ApiContext, crd: Obj) -> None:
    spec = crd.get("spec") or {}
    group = spec.get("group")
    plural = (spec.get("names") or {}).get("plural")
    if not group or not plural:
        return
    prefix = f"/{group}/{plural}/"
    while True:
        entries, _ = ctx.store.list(prefix, limit=500)
        if not entries:
            return
        for e in entries:
            with contextlib.suppress(Exception):
                await ctx.store.delete(e.key)


async def watch_crds(ctx: ApiContext, stop: asyncio.Event, ready: asyncio.Event) -> None:
    while not stop.is_set():
        entries, _rev, watcher = ctx.store.snapshot_and_watch(CRD_PREFIX)
        for e in entries:
            _apply(ctx, e.key[len(CRD_PREFIX) :], e.obj())
        ready.set()
        try:
            while not stop.is_set():
                for event in await watcher.next_batch(timeout=1.0):
                    name = event.key[len(CRD_PREFIX) :]
                    if event.type == "DELETED":
                        _apply(ctx, name, None)
                        await _delete_instances(ctx, _load(event.raw))
                    else:
                        _apply(ctx, name, _load(event.raw))
        except Compacted:
            continue
        finally:
            watcher.close()


def _load(raw: bytes) -> Obj:
    obj: Any = json.loads(raw)
    return obj if isinstance(obj, dict) else {}
