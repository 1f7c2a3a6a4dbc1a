"""Apply, re-apply, change, remove: the engine against the real in-process API server, through a kubeconfig.

Each step asserts what the cluster holds afterwards (resourceVersions, field values, the inventory
ConfigMap), not only what the engine reports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ferry.delivery.apply import InventoryRef, apply, diff
from tests.integration.apply_support import configmap, connect, deployment, namespace, service
from tests.integration.conftest import Api, Cluster

INV = InventoryRef("demo-web", "demo")


def app_objects(*, image: str = "web:1") -> list[dict[str, Any]]:
    # Deliberately out of order: the engine must create the namespace first.
    return [
        deployment("web", "demo", image=image),
        service("web", "demo"),
        configmap("cfg", "demo", a="1"),
        namespace("demo"),
    ]


async def _get(api: Api, path: str) -> dict[str, Any] | None:
    resp = await api.get(path)
    if resp.status == 404:
        return None
    assert resp.status == 200, resp.body
    body: dict[str, Any] = resp.body
    return body


async def _versions(api: Api) -> dict[str, str]:
    paths = {
        "ns": "/api/v1/namespaces/demo",
        "cm": "/api/v1/namespaces/demo/configmaps/cfg",
        "svc": "/api/v1/namespaces/demo/services/web",
        "deploy": "/apis/apps/v1/namespaces/demo/deployments/web",
        "inventory": "/api/v1/namespaces/demo/configmaps/ferry-inventory-demo-web",
    }
    out = {}
    for key, path in paths.items():
        obj = await _get(api, path)
        assert obj is not None, path
        out[key] = obj["metadata"]["resourceVersion"]
    return out


async def test_first_apply_creates_everything_labelled_and_records_the_inventory(
    cluster: Cluster, tmp_path: Path
) -> None:
    async with connect(cluster, tmp_path) as kube:
        plan = await diff(kube, app_objects(), inventory=INV)
        assert await _get(cluster.api, "/api/v1/namespaces/demo") is None  # the plan wrote nothing
        result = await apply(kube, app_objects(), inventory=INV)

    assert [(o.ref.kind, o.action) for o in plan.objects] == [
        ("Namespace", "created"),
        ("ConfigMap", "created"),
        ("Service", "created"),
        ("Deployment", "created"),
    ]
    assert [(o.ref.kind, o.action) for o in result.objects] == [(o.ref.kind, o.action) for o in plan.objects]
    live = await _get(cluster.api, "/apis/apps/v1/namespaces/demo/deployments/web")
    assert live is not None
    assert live["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "ferry",
        "ferry.dev/app": "demo-web",
    }
    assert {m["manager"] for m in live["metadata"]["managedFields"] if m["operation"] == "Apply"} == {"ferry"}

    inventory = await _get(cluster.api, "/api/v1/namespaces/demo/configmaps/ferry-inventory-demo-web")
    assert inventory is not None
    assert inventory["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "ferry"
    entries = json.loads(inventory["data"]["objects"])
    assert {(e["kind"], e["namespace"], e["name"]) for e in entries} == {
        ("Namespace", "", "demo"),
        ("ConfigMap", "demo", "cfg"),
        ("Service", "demo", "web"),
        ("Deployment", "demo", "web"),
    }
    assert next(e for e in entries if e["kind"] == "Deployment")["uid"] == live["metadata"]["uid"]


async def test_reapplying_an_unchanged_set_writes_nothing(cluster: Cluster, tmp_path: Path) -> None:
    async with connect(cluster, tmp_path) as kube:
        await apply(kube, app_objects(), inventory=INV)
        before = await _versions(cluster.api)
        again = await apply(kube, app_objects(), inventory=INV)
    assert again.writes == []
    assert {o.action for o in again.objects} == {"unchanged"}
    assert again.inventory_written is False
    assert await _versions(cluster.api) == before


async def test_changing_one_field_reports_exactly_that_path_and_applies_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    async with connect(cluster, tmp_path) as kube:
        await apply(kube, app_objects(), inventory=INV)
        plan = await diff(kube, app_objects(image="web:2"), inventory=INV)
        result = await apply(kube, app_objects(image="web:2"), inventory=INV)

    for report in (plan, result):
        changed = [o for o in report.objects if o.action != "unchanged"]
        assert [(o.ref.kind, o.ref.name, o.action) for o in changed] == [("Deployment", "web", "changed")]
        assert changed[0].paths == ["spec.template.spec.containers[name=web].image"]
        edits = [
            line
            for line in changed[0].diff.splitlines()
            if line[:1] in "+-" and line[:3] not in ("+++", "---")
        ]
        assert edits == ["-      - image: web:1", "+      - image: web:2"]
    live = await _get(cluster.api, "/apis/apps/v1/namespaces/demo/deployments/web")
    assert live is not None
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"


async def test_an_object_no_longer_rendered_is_pruned_and_others_are_left_alone(
    cluster: Cluster, tmp_path: Path
) -> None:
    stranger = configmap("by-hand", "demo", made="by kubectl")
    async with connect(cluster, tmp_path) as kube:
        await apply(kube, app_objects(), inventory=INV)
        assert (await cluster.api.post("/api/v1/namespaces/demo/configmaps", stranger)).status == 201
        without_cm = [o for o in app_objects() if o["kind"] != "ConfigMap"]

        kept = await apply(kube, without_cm, inventory=INV, prune=False)
        assert [(o.ref.name, o.action) for o in kept.objects if o.action != "unchanged"] == [
            ("cfg", "orphaned")
        ]
        assert await _get(cluster.api, "/api/v1/namespaces/demo/configmaps/cfg") is not None

        result = await apply(kube, without_cm, inventory=INV)

    assert [(o.ref.kind, o.ref.name, o.action) for o in result.writes] == [("ConfigMap", "cfg", "pruned")]
    assert await _get(cluster.api, "/api/v1/namespaces/demo/configmaps/cfg") is None
    assert await _get(cluster.api, "/api/v1/namespaces/demo/configmaps/by-hand") is not None  # never recorded
    inventory = await _get(cluster.api, "/api/v1/namespaces/demo/configmaps/ferry-inventory-demo-web")
    assert inventory is not None
    assert "cfg" not in {e["name"] for e in json.loads(inventory["data"]["objects"])}


async def test_drift_made_by_hand_is_reported_and_reverted(cluster: Cluster, tmp_path: Path) -> None:
    async with connect(cluster, tmp_path) as kube:
        await apply(kube, app_objects(), inventory=INV)
        scaled = await cluster.api.patch(
            "/apis/apps/v1/namespaces/demo/deployments/web", {"spec": {"replicas": 5}}
        )
        assert scaled.status == 200, scaled.body
        plan = await diff(kube, app_objects(), inventory=INV)
        await apply(kube, app_objects(), inventory=INV)

    assert [(o.ref.name, o.paths) for o in plan.objects if o.action == "changed"] == [
        ("web", ["spec.replicas"])
    ]
    live = await _get(cluster.api, "/apis/apps/v1/namespaces/demo/deployments/web")
    assert live is not None and live["spec"]["replicas"] == 2
