"""Unknown fields in a request body, found and dropped (``fieldValidation``).

Kubernetes decodes bodies into typed structs, so fields it does not know vanish from the stored object;
``fieldValidation`` only decides whether the client hears about it (Strict: 400, Warn: a ``Warning``
header, Ignore: silence). We do the same: built-in kinds are checked against the lightkube models'
field tables (``schema.unknown_fields``), custom resources are pruned against their CRD schema
(``crd.prune``); either way the unknown fields are removed and their paths returned.
"""

from __future__ import annotations

from ferry.cluster.apiserver.objects import remove_field_path
from ferry.cluster.resources.types import Obj, ResourceType


def unknown_field_paths(rt: ResourceType, obj: Obj) -> list[str]:
    if rt.crd_name is not None:
        from ferry.cluster.resources.crd import prune

        return prune(obj, rt.schema or {}) if rt.schema else []
    from ferry.cluster.resources.schema import unknown_fields

    paths = unknown_fields(rt.group, rt.version, rt.kind, obj) or []
    for p in sorted(paths, key=len, reverse=True):
        remove_field_path(obj, p)
    return paths
