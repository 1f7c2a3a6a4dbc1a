"""Informer indexes (client-go's Indexers) and the controller-UID index: kept in step with every cache
change — adds, updates that move an object between buckets, deletes, relists — and the same answers
from the informer as from the unit-test fake lister."""

from __future__ import annotations

from typing import Any

from ferry.cluster.controllers.runtime.fakes import FakeLister
from ferry.cluster.controllers.runtime.indexes import (
    CONTROLLER_UID,
    controlled_by,
    controller_uid_index,
    orphan_key,
)
from ferry.cluster.controllers.runtime.informer import Informer
from ferry.cluster.controllers.runtime.types import Obj


def pod(name: str, rv: int, owner: str | None = None, ns: str = "default", controller: bool = True) -> Obj:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "resourceVersion": str(rv), "uid": f"u-{name}"}
    if owner is not None:
        meta["ownerReferences"] = [
            {"kind": "ReplicaSet", "name": owner, "uid": owner, "controller": controller}
        ]
    return {"metadata": meta}


def owner(uid: str, ns: str = "default") -> Obj:
    return {"metadata": {"name": uid, "namespace": ns, "uid": uid}}


def names(objs: list[Obj]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objs)


def informer(items: list[Obj]) -> Informer:
    inf = Informer(None, "v1/pods")  # type: ignore[arg-type]  # never run: fed by replace/apply
    inf.add_index(CONTROLLER_UID, controller_uid_index)
    inf.replace(items, "1")
    return inf


def test_index_files_by_controller_and_orphans_by_namespace() -> None:
    inf = informer(
        [pod("a", 1, "rs1"), pod("b", 1, "rs1"), pod("c", 1, "rs2"), pod("d", 1), pod("e", 1, ns="x")]
    )
    assert names(controlled_by(inf, owner("rs1"), include_orphans=False)) == ["a", "b"]
    assert names(controlled_by(inf, owner("rs1"), include_orphans=True)) == ["a", "b", "d"]
    assert names(inf.by_index(CONTROLLER_UID, orphan_key("x"))) == ["e"]
    assert inf.by_index(CONTROLLER_UID, "nobody") == []


def test_an_owner_reference_that_is_not_the_controller_leaves_the_pod_an_orphan() -> None:
    inf = informer([pod("a", 1, "rs1", controller=False)])
    assert controlled_by(inf, owner("rs1"), include_orphans=False) == []
    assert names(controlled_by(inf, owner("rs1"), include_orphans=True)) == ["a"]


def test_a_pod_in_another_namespace_naming_the_owner_uid_is_not_the_owners() -> None:
    inf = informer([pod("a", 1, "rs1"), pod("b", 1, "rs1", ns="other")])
    assert names(controlled_by(inf, owner("rs1"), include_orphans=False)) == ["a"]
    assert names(controlled_by(inf, owner("rs1", ns="other"), include_orphans=False)) == ["b"]


def test_updates_move_objects_between_buckets_and_deletes_remove_them() -> None:
    inf = informer([pod("a", 1), pod("b", 1, "rs1")])
    inf.apply("MODIFIED", pod("a", 2, "rs1"))  # adopted
    inf.apply("MODIFIED", pod("b", 2))  # released
    assert names(controlled_by(inf, owner("rs1"), include_orphans=False)) == ["a"]
    assert names(inf.by_index(CONTROLLER_UID, orphan_key("default"))) == ["b"]
    inf.apply("DELETED", pod("a", 3, "rs1"))
    inf.apply("ADDED", pod("c", 4, "rs2"))
    assert controlled_by(inf, owner("rs1"), include_orphans=False) == []
    assert names(controlled_by(inf, owner("rs2"), include_orphans=False)) == ["c"]
    # the index hands out the cached objects themselves, the latest version
    assert controlled_by(inf, owner("rs2"), include_orphans=False)[0] is inf.get("default", "c")


def test_a_relist_rebuilds_the_index_from_the_new_snapshot() -> None:
    inf = informer([pod("a", 1, "rs1"), pod("b", 1, "rs1")])
    inf.replace([pod("b", 5, "rs2"), pod("c", 5, "rs1")], "5")
    assert names(controlled_by(inf, owner("rs1"), include_orphans=False)) == ["c"]
    assert names(controlled_by(inf, owner("rs2"), include_orphans=False)) == ["b"]


def test_an_index_added_after_the_cache_filled_covers_the_existing_objects_and_is_added_once() -> None:
    inf = Informer(None, "v1/pods")  # type: ignore[arg-type]
    inf.replace([pod("a", 1, "rs1")], "1")
    inf.add_index(CONTROLLER_UID, controller_uid_index)
    inf.add_index(CONTROLLER_UID, lambda o: ["ignored"])  # the first function stays
    assert names(controlled_by(inf, owner("rs1"), include_orphans=False)) == ["a"]
    assert inf.by_index(CONTROLLER_UID, "ignored") == []


def test_the_fake_lister_answers_like_the_informer() -> None:
    items = [pod("a", 1, "rs1"), pod("b", 1), pod("c", 1, "rs2"), pod("d", 1, "rs1", ns="x")]
    fake = FakeLister(items)
    fake.add_index(CONTROLLER_UID, controller_uid_index)
    inf = informer(items)
    for o in (owner("rs1"), owner("rs2"), owner("rs1", ns="x")):
        for orphans in (False, True):
            assert names(controlled_by(fake, o, include_orphans=orphans)) == names(
                controlled_by(inf, o, include_orphans=orphans)
            )
