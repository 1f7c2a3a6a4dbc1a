"""Waiting for a CustomResourceDefinition to be *Established* before its custom resources are applied.

Until the ``Established`` condition is True the API server serves no path for the new kind (custom
resources applied in the same set would fail with 404), and discovery does not list it. So the engine
applies the CRD tier, calls ``wait_established`` for each CRD it wrote, and drops its discovery cache.

The wait is a LIST + WATCH from the list's resourceVersion on ``customresourcedefinitions`` (no polling),
ended by the first snapshot in which the condition is True, or ``TimeoutError_`` naming the CRD and its
latest condition message (e.g. a names conflict: ``NamesAccepted=False``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ferry.delivery.apply.errors import TimeoutError_
from ferry.delivery.apply.kubeapi import KubeApi
from ferry.delivery.apply.objects import ObjectRef

__all__ = ["crd_served_kind", "is_established", "wait_established"]


def is_established(crd: Mapping[str, Any] | None) -> bool:
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def crd_served_kind(crd: Mapping[str, Any]) -> tuple[str, str]:
    """``(group, kind)`` a CRD manifest will serve, to recognise its custom resources before it exists."""
    spec = crd.get("spec") or {}
    return str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind") or "")


def _why_not(crd: Mapping[str, Any] | None) -> str:
    for c in ((crd or {}).get("status") or {}).get("conditions") or []:
        if c.get("status") != "True" and c.get("message"):
            return f": {c.get('type')}: {c['message']}"
    return ""


async def wait_established(api: KubeApi, name: str, *, timeout_seconds: float) -> None:
    """Return once CRD ``name`` is Established; ``TimeoutError_`` after ``timeout_seconds``."""
    rt = await api.resource_type("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    last: dict[str, Any] | None = None
    try:
        async with asyncio.timeout(timeout_seconds):
            items, rv = await api.list(rt, "")
            last = next((i for i in items if (i.get("metadata") or {}).get("name") == name), None)
            if is_established(last):
                return
            async for event, obj in api.watch(rt, "", resource_version=rv):
                if (obj.get("metadata") or {}).get("name") != name:
                    continue
                last = None if event == "DELETED" else obj
                if is_established(last):
                    return
    except TimeoutError:
        ref = ObjectRef("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "", name)
        raise TimeoutError_(
            f"{ref}: not Established after {timeout_seconds:g}s{_why_not(last)}", ref=ref
        ) from None
