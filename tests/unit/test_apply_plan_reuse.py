"""``apply(..., plan=diff_result)``: the diff's dry run is reused, so the apply writes without reading again;
a plan for other objects or another app is ignored (the apply does its own dry run)."""

from __future__ import annotations

from typing import Any

from ferry.delivery.apply import InventoryRef, apply, diff
from tests.unit.apply_support import FakeKubeApi, obj

INV = InventoryRef("sit-web", "app")


def app(image: str = "web:1") -> list[dict[str, Any]]:
    return [
        obj("ConfigMap", "cfg"),
        obj("Service", "web", ports=[80]),
        obj("Deployment", "web", api_version="apps/v1", image=image),
    ]


async def test_the_diffs_dry_run_is_reused_and_only_the_writes_remain() -> None:
    kube = FakeKubeApi()
    plan = await diff(kube, app(), inventory=INV)
    assert [a for a in kube.actions if a[0] == "dry-run"] == [
        ("dry-run", "ConfigMap/cfg"), ("dry-run", "Service/web"), ("dry-run", "Deployment/web"),
    ]  # fmt: skip
    kube.actions.clear()
    result = await apply(kube, app(), inventory=INV, plan=plan)
    assert kube.actions == [
        ("get", "ConfigMap/ferry-inventory-sit-web"),  # the inventory is always read again (its precondition)
        ("apply", "ConfigMap/cfg"),
        ("apply", "Service/web"),
        ("apply", "Deployment/web"),
        ("apply", "ConfigMap/ferry-inventory-sit-web"),
    ]
    assert [(o.ref.kind, o.action) for o in result.objects] == [
        ("ConfigMap", "created"), ("Service", "created"), ("Deployment", "created"),
    ]  # fmt: skip
    assert all(o.ref.uid for o in result.objects)  # the real apply's uids, for health and the inventory


async def test_a_plan_for_other_objects_or_another_app_is_not_reused() -> None:
    kube = FakeKubeApi()
    await apply(kube, app(), inventory=INV)
    stale = await diff(kube, app("web:1"), inventory=INV)
    kube.actions.clear()
    result = await apply(kube, app("web:2"), inventory=INV, plan=stale)  # the objects changed since the diff
    assert ("dry-run", "Deployment/web") in kube.actions
    assert result.get("Deployment", "web").action == "changed"
    elsewhere = await diff(kube, app("web:3"), inventory=InventoryRef("sit-web", "other"))
    kube.actions.clear()
    await apply(kube, app("web:3"), inventory=INV, plan=elsewhere)
    assert ("dry-run", "Deployment/web") in kube.actions


async def test_one_plan_serves_two_applies_without_being_spent() -> None:
    kube = FakeKubeApi()
    plan = await diff(kube, app(), inventory=INV)
    first = await apply(kube, app(), inventory=INV, plan=plan)
    second = await apply(kube, app(), inventory=INV, plan=plan)  # stale: the objects exist now
    assert [o.action for o in first.objects] == [o.action for o in second.objects] == ["created"] * 3
    assert kube.store[("apps", "Deployment", "app", "web")]["spec"]["image"] == "web:1"
