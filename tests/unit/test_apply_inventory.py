"""Inventory encoding, prune decisions and the write's optimistic-concurrency precondition."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.delivery.apply import ConflictError, InventoryRef, ManifestError, ObjectRef, apply
from ferry.delivery.apply.inventory import decode, encode, prune_candidates
from tests.unit.apply_support import FakeKubeApi, obj

INV = InventoryRef("qa-orders", "qa")
DEPLOY_V1 = ObjectRef("apps", "v1", "Deployment", "qa", "orders", "u1")
CM = ObjectRef("", "v1", "ConfigMap", "qa", "cfg", "u2")


def test_encoding_is_sorted_unique_and_round_trips() -> None:
    text = encode([DEPLOY_V1, CM, CM])
    assert text == encode([CM, DEPLOY_V1])
    assert decode(text, where="x") == [CM, DEPLOY_V1]


@pytest.mark.parametrize("text", ["{not json", '{"a": 1}', "[1, 2]"])
def test_a_corrupt_inventory_is_one_clear_error(text: str) -> None:
    with pytest.raises(ManifestError, match=r"^ConfigMap qa/ferry-inventory-qa-orders: data\.objects "):
        decode(text, where=str(INV.ref))


def test_candidates_are_recorded_and_no_longer_rendered_whatever_the_version() -> None:
    moved_to_v2 = ObjectRef("apps", "v2", "Deployment", "qa", "orders").key
    assert prune_candidates([DEPLOY_V1, CM], [moved_to_v2], inv=INV) == [CM]
    assert prune_candidates([INV.ref.with_uid("u9"), CM], [CM.key], inv=INV) == []  # never itself


async def test_a_concurrent_applier_makes_the_inventory_write_conflict() -> None:
    class Racing(FakeKubeApi):
        async def apply(self, rt: Any, body: Any, *, dry_run: bool) -> dict[str, Any]:
            if not dry_run and body["kind"] == "Deployment":  # another ferry rewrites the inventory meanwhile
                cm_rt = await self.resource_type("v1", "ConfigMap")
                stored = self.store[("", "ConfigMap", "qa", INV.name)]
                self.put(cm_rt, dict(stored, data={"objects": "[]"}))
            return await super().apply(rt, body, dry_run=dry_run)

    kube = Racing()
    first = [obj("ConfigMap", "cfg", ns="qa")]
    await apply(kube, first, inventory=INV)
    with pytest.raises(ConflictError):
        await apply(
            kube, [*first, obj("Deployment", "orders", ns="qa", api_version="apps/v1")], inventory=INV
        )


async def test_an_object_of_another_app_is_not_taken_over() -> None:
    kube = FakeKubeApi()
    await apply(kube, [obj("ConfigMap", "shared", ns="qa")], inventory=InventoryRef("qa-payments", "qa"))
    kube.actions.clear()
    with pytest.raises(ConflictError, match="belongs to ferry app qa-payments, not qa-orders"):
        await apply(kube, [obj("ConfigMap", "shared", ns="qa")], inventory=INV)
    assert kube.writes() == []
