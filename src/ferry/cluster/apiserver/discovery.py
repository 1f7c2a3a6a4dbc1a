"""Discovery documents: ``/api``, ``/apis`` (aggregated v2 and legacy), ``/apis/<g>``, per group-version lists.

kubectl and Helm ask for aggregated discovery (``apidiscovery.k8s.io/v2``) and recognise it *only* by the
response Content-Type; both fall back to the legacy documents. Per group-version documents are always
served: ``kubectl auth can-i`` reads ``/apis/apps/v1`` even with a warm aggregated cache. Everything is
computed from the catalog on each request, so a new CustomResourceDefinition shows up immediately.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.codec import accept_params
from ferry.cluster.resources.catalog import Catalog
from ferry.cluster.resources.types import ResourceType

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
_SUB_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "log": ["get"],
    "binding": ["create"],
    "eviction": ["create"],
    "finalize": ["update"],
    "exec": ["create", "get"],
    "portforward": ["create", "get"],
}


def wants_aggregated(accept: str) -> str | None:
    """``v2`` / ``v2beta1`` when the client accepts aggregated discovery."""
    for params in accept_params(accept):
        aggregated = params.get("g") == "apidiscovery.k8s.io" and params.get("as") == "APIGroupDiscoveryList"
        if aggregated and params.get("v") in ("v2", "v2beta1"):
            return params["v"]
    return None


def _sub_kind(rt: ResourceType, sub: str) -> dict[str, str]:
    if sub == "scale":
        return {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    if sub == "eviction":
        return {"group": "policy", "version": "v1", "kind": "Eviction"}
    if sub == "binding":
        return {"group": "", "version": "v1", "kind": "Binding"}
    if sub in ("log", "exec", "portforward"):
        return {
            "group": "",
            "version": "v1",
            "kind": {"log": "Pod", "exec": "PodExecOptions", "portforward": "PodPortForwardOptions"}[sub],
        }
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _served_subresources(rt: ResourceType) -> list[str]:
    subs = list(rt.subresources)
    if rt.group == "" and rt.kind == "Pod":
        subs += [s for s in ("exec", "portforward") if s not in subs]
    return subs


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        res["shortNames"] = list(rt.short_names)
    if rt.categories:
        res["categories"] = list(rt.categories)
    subs = []
    for sub in _served_subresources(rt):
        subs.append(
            {"subresource": sub, "responseKind": _sub_kind(rt, sub), "verbs": _SUB_VERBS.get(sub, ["get"])}
        )
    if subs:
        res["subresources"] = subs
    return res


def _aggregated_group(catalog: Catalog, group: str) -> dict[str, Any]:
    versions = []
    for version in catalog.group_versions().get(group, []):
        rts = sorted(catalog.resources(group, version), key=lambda r: r.plural)
        versions.append(
            {"version": version, "resources": [_aggregated_resource(r) for r in rts], "freshness": "Current"}
        )
    return {"metadata": {"name": group, "creationTimestamp": None}, "versions": versions}


def aggregated(catalog: Catalog, *, legacy: bool, version: str = "v2") -> dict[str, Any]:
    groups = [""] if legacy else catalog.ordered_groups()
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {},
        "items": [_aggregated_group(catalog, g) for g in groups],
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group(catalog: Catalog, group: str) -> dict[str, Any] | None:
    versions = catalog.group_versions().get(group)
    if not versions:
        return None
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": gvs,
        "preferredVersion": gvs[0],
    }


def api_group_list(catalog: Catalog) -> dict[str, Any]:
    groups = []
    for g in catalog.ordered_groups():
        doc = api_group(catalog, g)
        assert doc is not None
        doc.pop("kind")
        doc.pop("apiVersion")
        groups.append(doc)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    rts = catalog.resources(group, version)
    if not rts:
        return None
    resources: list[dict[str, Any]] = []
    for rt in sorted(rts, key=lambda r: r.plural):
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in _served_subresources(rt):
            sk = _sub_kind(rt, sub)
            sub_entry: dict[str, Any] = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": sk["kind"],
                "verbs": _SUB_VERBS.get(sub, ["get"]),
            }
            if sk["group"] != rt.group or sk["version"] != rt.version:
                sub_entry["group"], sub_entry["version"] = sk["group"], sk["version"]
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
