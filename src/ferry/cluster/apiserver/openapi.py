"""``/openapi/v3``: the root index and one document per group-version.

kubectl (``--validate=strict``, its default) and Helm download these before every apply. If some PATCH
operation for the object's group-version-kind accepts the ``fieldValidation`` query parameter, they skip
client-side validation and let the server validate (``fieldValidation=Strict``), which is what we want:
validation lives in one place, here. Each per-GV document therefore lists, for every resource, the
item path with get/put/patch/delete operations tagged ``x-kubernetes-group-version-kind`` and the
parameters kube declares. Schemas are not embedded (``components.schemas`` is empty); ``kubectl explain``
is the one client feature that needs them.

The ``hash`` in each ``serverRelativeURL`` is the SHA-512 of the document, so clients may cache it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ferry.cluster.resources.catalog import Catalog
from ferry.cluster.resources.types import ResourceType

_QUERY = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")
# Strategic merge patch is served but deliberately not listed: when it is, kubectl looks for patch
# metadata in components.schemas and, finding none there, in /openapi/v2, whose absence then fails
# `kubectl apply`. Unlisted, kubectl uses its built-in Go type metadata, as it does for any server.
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
)


def _param(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "schema": {"type": "boolean" if name == "force" else "string", "uniqueItems": True},
    }


def _gvk(rt: ResourceType) -> dict[str, str]:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _op(
    rt: ResourceType,
    action: str,
    verb: str,
    *,
    body_types: tuple[str, ...] = (),
    gvk: dict[str, str] | None = None,
) -> dict[str, Any]:
    # Every write operation declares the write query parameters. kubectl inspects the PATCH operations
    # tagged with the object's GVK in map order, so one without fieldValidation (say, on /status) would
    # randomly turn server-side validation off.
    writes = verb in ("post", "put", "patch")
    op: dict[str, Any] = {
        "operationId": f"{action}{rt.kind}",
        "parameters": [_param(q) for q in _QUERY] if writes else [],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {}}}}},
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": gvk or _gvk(rt),
    }
    if body_types:
        op["requestBody"] = {"content": {t: {"schema": {}} for t in body_types}, "required": True}
    return op


def _paths(rt: ResourceType) -> dict[str, Any]:
    base = f"/apis/{rt.group}/{rt.version}" if rt.group else "/api/v1"
    coll = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    ns_param = (
        [{"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}]
        if rt.namespaced
        else []
    )
    name_param = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    paths: dict[str, Any] = {
        coll: {
            "get": _op(rt, "list", "list"),
            "post": _op(rt, "create", "post", body_types=("application/json", "application/yaml")),
            "parameters": ns_param,
        }
    }
    if rt.verbs == ("create",):
        return paths
    paths[f"{coll}/{{name}}"] = {
        "get": _op(rt, "read", "get"),
        "put": _op(rt, "replace", "put", body_types=("application/json", "application/yaml")),
        "patch": _op(rt, "patch", "patch", body_types=_PATCH_TYPES),
        "delete": _op(rt, "delete", "delete"),
        "parameters": ns_param + name_param,
    }
    for sub in rt.subresources:
        if sub in ("status", "scale"):
            gvk = {"group": "autoscaling", "version": "v1", "kind": "Scale"} if sub == "scale" else None
            paths[f"{coll}/{{name}}/{sub}"] = {
                "get": _op(rt, f"read{sub.title()}", "get", gvk=gvk),
                "put": _op(rt, f"replace{sub.title()}", "put", body_types=("application/json",), gvk=gvk),
                "patch": _op(rt, f"patch{sub.title()}", "patch", body_types=_PATCH_TYPES, gvk=gvk),
                "parameters": ns_param + name_param,
            }
    return paths


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


class OpenAPI:
    """Builds and caches the documents; the cache key is the set of served kinds."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._key: tuple[Any, ...] | None = None
        self._docs: dict[str, bytes] = {}
        self._hashes: dict[str, str] = {}

    def _refresh(self) -> None:
        key = tuple(sorted((rt.group, rt.version, rt.plural, rt.kind) for rt in self.catalog.all()))
        if key == self._key:
            return
        docs: dict[str, bytes] = {}
        for group, versions in self.catalog.group_versions().items():
            for version in versions:
                path = f"apis/{group}/{version}" if group else f"api/{version}"
                paths: dict[str, Any] = {}
                for rt in self.catalog.resources(group, version):
                    paths.update(_paths(rt))
                doc = {
                    "openapi": "3.0.0",
                    "info": {"title": "Kubernetes", "version": "v1.32.4"},
                    "paths": paths,
                    "components": {"schemas": {}},
                }
                docs[path] = _dumps(doc)
        self._docs = docs
        self._hashes = {p: hashlib.sha512(d).hexdigest().upper() for p, d in docs.items()}
        self._key = key

    def root(self) -> bytes:
        self._refresh()
        paths = {
            p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={h}"} for p, h in sorted(self._hashes.items())
        }
        return _dumps({"paths": paths})

    def document(self, path: str) -> bytes | None:
        self._refresh()
        return self._docs.get(path.strip("/"))
