"""Objects every cluster starts with, created on first start and left alone afterwards.

The four system namespaces, and the ``kubernetes`` Service in ``default`` (first address of the service
CIDR, port 443) with Endpoints pointing at this API server, as kube-apiserver's bootstrap controller
maintains them.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver import errors
from ferry.cluster.apiserver.admission import kubernetes_service_ip
from ferry.cluster.apiserver.storage import Storage, WriteOptions
from ferry.cluster.resources.catalog import Catalog

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
MANAGER = "kube-apiserver"


async def _ensure(
    storage: Storage,
    catalog: Catalog,
    group: str,
    version: str,
    plural: str,
    ns: str | None,
    obj: dict[str, Any],
) -> None:
    rt = catalog.lookup(group, version, plural)
    assert rt is not None
    name = str(obj["metadata"]["name"])
    if storage.store.get(rt.store_key(ns, name)) is not None:
        return
    try:
        await storage.create(rt, ns, obj, WriteOptions(field_manager=MANAGER))
    except errors.ApiError as e:
        if e.reason != "AlreadyExists":
            raise


def in_cluster_names(service_cidr: str, domain: str = "cluster.local") -> list[str]:
    """The names pods use for the API server, which its serving certificate must carry (as kube-apiserver's
    does): the ``kubernetes`` Service's short and qualified names and its ClusterIP."""
    svc = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{domain}"]
    return [*svc, kubernetes_service_ip(service_cidr)]


async def bootstrap(storage: Storage, catalog: Catalog, *, host: str, port: int, service_cidr: str) -> None:
    for ns in SYSTEM_NAMESPACES:
        await _ensure(storage, catalog, "", "v1", "namespaces", None, {"metadata": {"name": ns}})
    await _ensure(
        storage,
        catalog,
        "",
        "v1",
        "services",
        "default",
        {
            "metadata": {
                "name": "kubernetes",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "clusterIP": kubernetes_service_ip(service_cidr),
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
                "sessionAffinity": "None",
                "type": "ClusterIP",
            },
        },
    )
    rt = catalog.lookup("", "v1", "endpoints")
    assert rt is not None
    endpoints: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
        },
        "subsets": [
            {"addresses": [{"ip": host}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
        ],
    }
    existing = storage.store.get(rt.store_key("default", "kubernetes"))
    try:
        if existing is None:
            await _ensure(storage, catalog, "", "v1", "endpoints", "default", endpoints)
        elif existing.obj().get("subsets") != endpoints["subsets"]:
            current = existing.obj()
            current["subsets"] = endpoints["subsets"]
            await storage.update(rt, "default", "kubernetes", current, WriteOptions(field_manager=MANAGER))
    except errors.ApiError as e:
        # Endpoint validation refuses loopback addresses (as kube does); an API server listening only on
        # 127.0.0.1 then has no in-cluster endpoint to publish, which is true.
        if e.reason != "Invalid":
            raise
