"""Server-side printing: ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``.

kubectl has no client-side column printers: what ``kubectl get`` shows is exactly the Table the server
returns. Rows carry ``PartialObjectMetadata`` with the full metadata (kubectl needs it for ``-A`` and
``--show-labels``) unless ``includeObject=None``; ``includeObject=Object`` embeds the whole object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from ferry.cluster.apiserver.codec import accept_params
from ferry.cluster.resources.printers import DEFAULT_PRINTER
from ferry.cluster.resources.types import Obj, ResourceType


def wants_table(accept: str) -> str | None:
    """The Table version asked for (``v1``/``v1beta1``), or None."""
    for params in accept_params(accept):
        if (
            params.get("as") == "Table"
            and params.get("g") == "meta.k8s.io"
            and params.get("v") in ("v1", "v1beta1")
        ):
            return params["v"]
    return None


def wants_partial_metadata(accept: str) -> str | None:
    for params in accept_params(accept):
        if (
            params.get("as") in ("PartialObjectMetadata", "PartialObjectMetadataList")
            and params.get("g") == "meta.k8s.io"
        ):
            return params.get("v", "v1")
    return None


def _printer(rt: ResourceType) -> tuple[Any, Any]:
    if rt.row is not None and rt.columns:
        return rt.columns, rt.row
    return DEFAULT_PRINTER


def column_definitions(rt: ResourceType) -> list[dict[str, Any]]:
    columns, _ = _printer(rt)
    return [c.definition() for c in columns]


def row(rt: ResourceType, obj: Obj, now: datetime, include: str = "Metadata") -> dict[str, Any]:
    _, printer = _printer(rt)
    r: dict[str, Any] = {"cells": printer(obj, now)}
    if include == "Object":
        r["object"] = obj
    elif include != "None":
        r["object"] = partial_metadata(obj, "v1")
    return r


def partial_metadata(obj: Obj, version: str) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": obj.get("metadata") or {},
    }


def table(
    rt: ResourceType,
    objs: list[Obj],
    now: datetime,
    *,
    version: str = "v1",
    list_meta: dict[str, Any] | None = None,
    include: str = "Metadata",
    with_columns: bool = True,
) -> dict[str, Any]:
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": list_meta or {},
        "columnDefinitions": column_definitions(rt) if with_columns else [],
        "rows": [row(rt, o, now, include) for o in objs],
    }


def table_bytes(*args: Any, **kwargs: Any) -> bytes:
    # msgspec encodes the same JSON about four times faster than json.dumps (a 10,000-pod Table is 7 MB).
    return msgspec.json.encode(table(*args, **kwargs))
