"""The engine's sequence of API actions against a recording fake: validate all, then write in order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ferry.delivery.apply import ApplyError, InvalidObjectError, InventoryRef, ManifestError, apply, diff
from ferry.delivery.apply.errors import Cause
from tests.unit.apply_support import FakeKubeApi, obj

INV = InventoryRef("sit-web", "app")


def app(image: str = "web:1") -> list[dict[str, Any]]:
    return [
        obj("Deployment", "web", api_version="apps/v1", image=image),
        obj("Ingress", "web", api_version="networking.k8s.io/v1", rules=[]),
        obj("Service", "web", ports=[80]),
        obj("ConfigMap", "cfg"),
        obj("ServiceAccount", "web"),
        obj("Namespace", "app", ns=""),
    ]


def inventory(kube: FakeKubeApi) -> list[tuple[str, str]]:
    cm = kube.store[("", "ConfigMap", "app", "ferry-inventory-sit-web")]
    return [(e["kind"], e["name"]) for e in json.loads(cm["data"]["objects"])]


async def test_every_object_is_dry_run_before_the_first_write_and_writes_follow_tier_order() -> None:
    kube = FakeKubeApi()
    kube.put(await kube.resource_type("v1", "Namespace"), obj("Namespace", "app", ns=""))
    result = await apply(kube, app(), inventory=INV)

    verbs = [verb for verb, _ in kube.actions if verb in ("dry-run", "apply")]
    assert verbs == ["dry-run"] * 6 + ["apply"] * 7
    assert [name for verb, name in kube.actions if verb == "apply"] == [
        "Namespace/app",
        "ServiceAccount/web",
        "ConfigMap/cfg",
        "Service/web",
        "Deployment/web",
        "Ingress/web",
        "ConfigMap/ferry-inventory-sit-web",  # last, after every apply succeeded
    ]
    assert [o.action for o in result.objects] == ["changed"] + ["created"] * 5  # the namespace gains labels


async def test_reapplying_the_same_set_writes_nothing() -> None:
    kube = FakeKubeApi()
    await apply(kube, app(), inventory=INV)
    kube.actions.clear()
    result = await apply(kube, app(), inventory=INV)
    assert kube.writes() == []
    assert result.writes == [] and result.inventory_written is False


async def test_an_invalid_object_stops_everything_before_any_write() -> None:
    kube = FakeKubeApi()
    kube.put(await kube.resource_type("v1", "Namespace"), obj("Namespace", "app", ns=""))
    kube.fail[("dry-run", "Deployment/web")] = InvalidObjectError(
        "Deployment app/web: invalid (dry-run apply): spec.replicas: must be >= 0",
        causes=[Cause("spec.replicas", "must be >= 0")],
        reason="Invalid",
    )
    kube.fail[("dry-run", "Ingress/web")] = InvalidObjectError(
        "Ingress app/web: invalid", causes=[], reason="Invalid"
    )
    with pytest.raises(InvalidObjectError) as caught:
        await apply(kube, app(), inventory=INV)
    assert kube.writes() == []
    assert str(caught.value).endswith("(and 1 more invalid objects; nothing was applied)")
    assert str(caught.value).startswith("Deployment app/web: invalid (dry-run apply): spec.replicas")


async def test_a_failed_apply_keeps_the_old_inventory_so_a_retry_prunes_correctly() -> None:
    kube = FakeKubeApi()
    await apply(kube, app(), inventory=INV)
    recorded = inventory(kube)
    kube.fail[("apply", "Deployment/web")] = ApplyError("boom")
    without_ingress = [o for o in app("web:2") if o["kind"] != "Ingress"]
    with pytest.raises(ApplyError, match="boom"):
        await apply(kube, without_ingress, inventory=INV)
    assert inventory(kube) == recorded
    assert ("networking.k8s.io", "Ingress", "app", "web") in kube.store  # no prune after a failed apply

    del kube.fail[("apply", "Deployment/web")]
    result = await apply(kube, without_ingress, inventory=INV)
    assert [(o.ref.kind, o.action) for o in result.writes] == [
        ("Deployment", "changed"),
        ("Ingress", "pruned"),
    ]
    assert ("Ingress", "web") not in inventory(kube)


async def test_prune_off_reports_orphans_and_keeps_them_recorded() -> None:
    kube = FakeKubeApi()
    await apply(kube, app(), inventory=INV)
    without = [o for o in app() if o["kind"] not in ("Ingress", "ConfigMap")]
    result = await apply(kube, without, inventory=INV, prune=False)
    assert [(o.ref.kind, o.action) for o in result.objects if o.action != "unchanged"] == [
        ("Ingress", "orphaned"),
        ("ConfigMap", "orphaned"),
    ]
    assert not [a for a in kube.actions if a[0] == "delete"]
    assert {("Ingress", "web"), ("ConfigMap", "cfg")} <= set(inventory(kube))


async def test_prune_goes_in_reverse_order_and_spares_recreated_and_unrecorded_objects() -> None:
    kube = FakeKubeApi()
    await apply(kube, app(), inventory=INV)
    cm_rt = await kube.resource_type("v1", "ConfigMap")
    kube.put(cm_rt, obj("ConfigMap", "by-hand"))
    kube.put(cm_rt, obj("ConfigMap", "cfg"))  # deleted and re-created by someone else: a new uid
    kube.actions.clear()
    only_ns = [o for o in app() if o["kind"] == "Namespace"]
    result = await apply(kube, only_ns, inventory=INV)
    assert [name for verb, name in kube.actions if verb == "delete"] == [
        "Ingress/web",
        "Deployment/web",
        "Service/web",
        "ServiceAccount/web",
    ]
    assert result.get("ConfigMap", "cfg").action == "orphaned"
    assert ("", "ConfigMap", "app", "by-hand") in kube.store
    assert ("", "ConfigMap", "app", "cfg") in kube.store


async def test_a_failed_delete_stays_recorded_and_is_raised_after_the_inventory_is_written() -> None:
    kube = FakeKubeApi()
    await apply(kube, app(), inventory=INV)
    kube.fail[("delete", "Ingress/web")] = ApplyError("Ingress app/web: delete failed")
    with pytest.raises(ApplyError, match="delete failed"):
        await apply(kube, [o for o in app() if o["kind"] not in ("Ingress", "ConfigMap")], inventory=INV)
    assert ("Ingress", "web") in inventory(kube)
    assert ("ConfigMap", "cfg") not in inventory(kube)


async def test_diff_writes_nothing_and_reports_would_be_prunes() -> None:
    kube = FakeKubeApi()
    await apply(kube, app(), inventory=INV)
    kube.actions.clear()
    plan = await diff(kube, [o for o in app("web:2") if o["kind"] != "Ingress"], inventory=INV)
    assert kube.writes() == []
    assert [(o.ref.kind, o.action, o.paths) for o in plan.writes] == [
        ("Deployment", "changed", ["spec.image"]),
        ("Ingress", "pruned", []),
    ]


async def test_objects_in_a_namespace_this_apply_creates_are_deferred_not_dry_run() -> None:
    kube = FakeKubeApi()
    plan = await diff(kube, app(), inventory=INV)
    assert [name for verb, name in kube.actions if verb == "dry-run"] == ["Namespace/app"]
    assert plan.get("Deployment", "web").message == "not dry-run: namespace app is created by this apply"


async def test_custom_resources_wait_for_their_crd() -> None:
    kube = FakeKubeApi()
    crd = obj(
        "CustomResourceDefinition",
        "widgets.example.com",
        ns="",
        api_version="apiextensions.k8s.io/v1",
        group="example.com",
        scope="Namespaced",
        names={"kind": "Widget", "plural": "widgets"},
        versions=[{"name": "v1"}],
    )
    widget = obj("Widget", "w", api_version="example.com/v1", size=1)
    result = await apply(kube, [widget, crd, obj("Namespace", "app", ns="")], inventory=INV)
    applies = [name for verb, name in kube.actions if verb in ("apply", "forget-discovery", "list")]
    assert applies[:5] == [
        "Namespace/app",
        "CustomResourceDefinition/widgets.example.com",
        "CustomResourceDefinition",  # the Established wait lists CRDs
        "",  # then discovery is refreshed
        "Widget/w",
    ]
    assert result.get("Widget", "w").action == "created"


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ([{"kind": "ConfigMap", "metadata": {"name": "x"}}], "object #1 (ConfigMap x) has no apiVersion"),
        ([obj("ConfigMap", "a"), obj("ConfigMap", "a")], "ConfigMap app/a is rendered twice"),
        ([obj("ConfigMap", "ferry-inventory-sit-web")], "the name is reserved for ferry's inventory"),
    ],
)
async def test_malformed_sets_are_refused_before_any_request(
    objects: list[dict[str, Any]], message: str
) -> None:
    kube = FakeKubeApi()
    with pytest.raises(ManifestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await apply(kube, objects, inventory=INV)
    assert kube.actions == []
