"""A CRD and its custom resources in one set: the CRD is applied and Established first, then the CR —
discovered through the API, never from a built-in table — and a re-apply finds both unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ferry.delivery.apply import InventoryRef, apply
from tests.integration.apply_support import connect, namespace
from tests.integration.conftest import Cluster

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                        },
                    }
                },
            }
        ],
    },
}
WIDGET = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "lab"},
    "spec": {"size": 3},
}


async def test_a_crd_and_its_resource_apply_in_one_go(cluster: Cluster, tmp_path: Path) -> None:
    objects = [WIDGET, CRD, namespace("lab")]
    inv = InventoryRef("lab-widgets", "lab")
    async with connect(cluster, tmp_path) as kube:
        first = await apply(kube, objects, inventory=inv)
        again = await apply(kube, objects, inventory=inv)

    assert [(o.ref.kind, o.action) for o in first.objects] == [
        ("Namespace", "created"),
        ("CustomResourceDefinition", "created"),
        ("Widget", "created"),
    ]
    assert first.get("Widget", "w").message == "deferred: its CRD is installed by this apply"
    assert again.writes == []
    resp = await cluster.api.get("/apis/example.com/v1/namespaces/lab/widgets/w")
    assert resp.status == 200, resp.body
    assert resp.body["spec"] == {"size": 3}
    assert resp.body["metadata"]["labels"]["ferry.dev/app"] == "lab-widgets"
