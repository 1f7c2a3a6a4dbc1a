"""charts/ferry-reconciler, rendered by ferry's chart engine, is accepted by an API server field by field:
applied through a kubeconfig with ``fieldValidation=Strict`` (a misspelt field in a template is an error here,
not silently dropped), its Roles only in the target namespaces."""

from __future__ import annotations

from pathlib import Path

from ferry.charts import ValuesLayer, render
from ferry.delivery.apply import InventoryRef, apply
from tests.integration.apply_support import connect, namespace
from tests.integration.conftest import Cluster

CHART = Path(__file__).resolve().parents[2] / "charts" / "ferry-reconciler"


async def test_the_rendered_chart_applies_strictly(cluster: Cluster, tmp_path: Path) -> None:
    values = {
        "image": {
            "repository": "127.0.0.1:5000/ferry",
            "tag": "0.1.0-a8f3d21",
            "digest": "sha256:" + "ab" * 32,
        },
        "appRepo": {"url": "https://git.example.com/shop/app.git", "credentialsSecret": "git-creds"},
        "webhook": {"port": 8080, "secretName": "hook"},
        "kubeconfigSecret": "clusters",
        "targetNamespaces": ["shop-sit", "shop-qa"],
    }
    rendered = render(
        CHART,
        release="ferry-reconciler",
        namespace="ferry-system",
        values=[ValuesLayer(values, source="test")],
    )
    async with connect(cluster, tmp_path) as kube:
        namespaces = [namespace(n) for n in ("ferry-system", "shop-sit", "shop-qa")]
        await apply(kube, namespaces, inventory=InventoryRef("namespaces", "default"))
        result = await apply(
            kube, rendered.objects, inventory=InventoryRef("ferry-reconciler", "ferry-system")
        )
    assert sorted((o.ref.kind, o.ref.namespace) for o in result.objects if o.action == "created") == [
        ("ClusterRole", ""), ("ClusterRoleBinding", ""), ("ConfigMap", "ferry-system"),
        ("Deployment", "ferry-system"), ("Role", "shop-qa"), ("Role", "shop-sit"), ("RoleBinding", "shop-qa"),
        ("RoleBinding", "shop-sit"), ("Service", "ferry-system"), ("ServiceAccount", "ferry-system"),
    ]  # fmt: skip
    resp = await cluster.api.get("/apis/apps/v1/namespaces/ferry-system/deployments/ferry-reconciler")
    pod = resp.body["spec"]["template"]["spec"]
    assert pod["containers"][0]["startupProbe"]["httpGet"]["path"] == "/healthz"  # kept, not dropped
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
