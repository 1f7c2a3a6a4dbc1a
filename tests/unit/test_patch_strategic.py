"""Strategic merge patch: the exact bodies kubectl sends (k8s-wire.md §1) and every directive."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.apiserver.patch import (
    PatchError,
    apply_merge_patch,
    apply_strategic_merge_patch,
    patch_meta,
)
from ferry.cluster.apiserver.patch.meta import OPEN, TypeNode

DEPLOY_META = patch_meta("apps", "Deployment")
assert DEPLOY_META is not None
DEP: TypeNode = DEPLOY_META


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "labels": {"app": "x"}, "annotations": {"a": "1"}},
        "spec": {
            "replicas": 1,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "img:1",
                            "args": ["--a", "--b"],
                            "env": [{"name": "A", "value": "1"}],
                            "ports": [
                                {"containerPort": 80, "protocol": "TCP"},
                                {"containerPort": 8080, "protocol": "TCP"},
                            ],
                        }
                    ]
                },
            },
        },
    }


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def test_client_side_apply_update_body() -> None:
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "A"}],
                            "env": [{"name": "A", "value": "2"}],
                            "image": "img:2",
                            "name": "c",
                        }
                    ],
                }
            }
        },
    }
    original = deployment()
    out = apply_strategic_merge_patch(original, patch, DEP)
    assert out["metadata"]["annotations"] == {
        "a": "1",
        "kubectl.kubernetes.io/last-applied-configuration": "{}\n",
    }
    assert containers(out) == [
        {
            "name": "c",
            "image": "img:2",
            "args": ["--a", "--b"],
            "env": [{"name": "A", "value": "2"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 8080, "protocol": "TCP"}],
        }
    ]
    assert original == deployment()


def test_client_side_apply_removal_body() -> None:
    patch = {
        "metadata": {"labels": None},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "side"}],
                    "containers": [
                        {
                            "$setElementOrder/ports": [{"containerPort": 8080}],
                            "env": None,
                            "name": "c",
                            "ports": [{"containerPort": 8080}, {"$patch": "delete", "containerPort": 80}],
                        },
                        {"image": "side:1", "name": "side"},
                    ],
                }
            }
        },
    }
    out = apply_strategic_merge_patch(deployment(), patch, DEP)
    assert "labels" not in out["metadata"]
    assert containers(out) == [
        {
            "name": "c",
            "image": "img:1",
            "args": ["--a", "--b"],
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        },
        {"image": "side:1", "name": "side"},
    ]


def test_set_image_body() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}],
                    "containers": [{"image": "img:3", "name": "c"}],
                }
            }
        }
    }
    out = apply_strategic_merge_patch(deployment(), patch, DEP)
    assert [c["image"] for c in containers(out)] == ["img:3"]
    assert containers(out)[0]["env"] == [{"name": "A", "value": "1"}]


def test_rollout_restart_body() -> None:
    stamp = "2024-05-01T10:00:00Z"
    patch = {
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}
    }
    out = apply_strategic_merge_patch(deployment(), patch, DEP)
    assert out["spec"]["template"]["metadata"] == {
        "labels": {"app": "x"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": stamp},
    }


def test_strategy_rolling_update_to_recreate_with_retain_keys() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}}}
    out = apply_strategic_merge_patch(deployment(), patch, DEP)
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    bad = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}}
    with pytest.raises(PatchError) as err:
        apply_strategic_merge_patch(deployment(), bad, DEP)
    assert (str(err.value), err.value.code) == ("invalid patch format of retainKeys", 400)


def test_atomic_lists_are_replaced_and_merge_lists_merge() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "c", "args": ["--z"], "env": [{"name": "B", "value": "2"}]}]}
            }
        }
    }
    out = apply_strategic_merge_patch(deployment(), patch, DEP)
    assert containers(out)[0]["args"] == ["--z"]
    # Without $setElementOrder, kube puts items new to the server ahead of server-only ones.
    assert containers(out)[0]["env"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]


def test_patch_replace_and_delete_in_maps() -> None:
    replace = {"spec": {"template": {"metadata": {"labels": {"$patch": "replace", "tier": "web"}}}}}
    out = apply_strategic_merge_patch(deployment(), replace, DEP)
    assert out["spec"]["template"]["metadata"]["labels"] == {"tier": "web"}
    delete = {"spec": {"template": {"metadata": {"labels": {"$patch": "delete"}}}}}
    assert (
        apply_strategic_merge_patch(deployment(), delete, DEP)["spec"]["template"]["metadata"]["labels"] == {}
    )
    merge = {"metadata": {"labels": {"$patch": "merge", "b": "2"}}}
    assert apply_strategic_merge_patch(deployment(), merge, DEP)["metadata"]["labels"] == {
        "app": "x",
        "b": "2",
    }


def test_patch_replace_and_delete_as_list_items() -> None:
    replace = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "new", "image": "n:1"}, {"$patch": "replace"}]}}
        }
    }
    assert containers(apply_strategic_merge_patch(deployment(), replace, DEP)) == [
        {"name": "new", "image": "n:1"}
    ]
    delete = {"spec": {"template": {"spec": {"containers": [{"name": "c", "$patch": "delete"}]}}}}
    assert containers(apply_strategic_merge_patch(deployment(), delete, DEP)) == []


def test_finalizers_union_and_delete_from_primitive_list() -> None:
    pod_meta = patch_meta("", "Pod")
    assert pod_meta is not None
    pod = {"metadata": {"name": "p", "finalizers": ["a", "b"]}}
    added = apply_strategic_merge_patch(pod, {"metadata": {"finalizers": ["c", "a"]}}, pod_meta)
    assert added["metadata"]["finalizers"] == ["c", "a", "b"]
    removed = apply_strategic_merge_patch(
        pod, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, pod_meta
    )
    assert removed["metadata"]["finalizers"] == ["b"]
    ordered = {"metadata": {"$setElementOrder/finalizers": ["b", "a"], "finalizers": ["b"]}}
    assert apply_strategic_merge_patch(pod, ordered, pod_meta)["metadata"]["finalizers"] == ["b", "a"]


def _order(live: list[str], order: list[str], patch: list[str]) -> list[str]:
    obj = {"spec": {"template": {"spec": {"containers": [{"name": n} for n in live]}}}}
    body = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": n} for n in order],
                    "containers": [{"name": n} for n in patch],
                }
            }
        }
    }
    return [c["name"] for c in containers(apply_strategic_merge_patch(obj, body, DEP))]


def test_set_element_order_keeps_server_only_items_in_relative_position() -> None:
    assert _order(["a", "b", "c"], ["a", "x", "c"], ["x"]) == ["a", "x", "b", "c"]
    assert _order(["a", "b", "c", "d"], ["d", "a"], []) == ["b", "c", "d", "a"]
    assert _order(["a", "b"], ["b", "a"], []) == ["b", "a"]
    assert _order(["srv", "a"], ["a", "new"], ["new"]) == ["srv", "a", "new"]


def test_set_element_order_must_cover_patch_items() -> None:
    with pytest.raises(PatchError, match=r"doesn't match \$setElementOrder list"):
        _order(["a"], ["a"], ["zzz"])


def test_service_selector_merges_in_smp_and_pdb_selector_replaces() -> None:
    svc_meta, pdb_meta = patch_meta("", "Service"), patch_meta("policy", "PodDisruptionBudget")
    assert svc_meta is not None and pdb_meta is not None
    svc = {"spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}}
    out = apply_strategic_merge_patch(
        svc, {"spec": {"selector": {"tier": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}, svc_meta
    )
    assert out["spec"] == {
        "selector": {"app": "x", "tier": "web"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}],
    }
    pdb = {"spec": {"selector": {"matchLabels": {"app": "x"}}}}
    replaced = apply_strategic_merge_patch(
        pdb, {"spec": {"selector": {"matchLabels": {"app": "y"}}}}, pdb_meta
    )
    assert replaced["spec"]["selector"] == {"matchLabels": {"app": "y"}}


def test_malformed_directives() -> None:
    with pytest.raises(PatchError) as err:
        apply_strategic_merge_patch(deployment(), {"metadata": {"$patch": "frob"}}, DEP)
    assert str(err.value) == "unknown patch type: frob in map: map[]"
    with pytest.raises(PatchError) as err:
        apply_strategic_merge_patch(
            deployment(), {"spec": {"template": {"spec": {"containers": [{"image": "i"}]}}}}, DEP
        )
    assert str(err.value) == "map: map[image:i] does not contain declared merge key: name"
    with pytest.raises(PatchError) as err:
        apply_strategic_merge_patch(deployment(), {"metadata": {"$deleteFromPrimitiveList": ["a"]}}, DEP)
    assert (str(err.value), err.value.code) == ("invalid patch format of primitive list", 400)


def test_null_deletes_and_new_subtrees_drop_nulls() -> None:
    out = apply_strategic_merge_patch(
        deployment(), {"spec": {"replicas": None, "paused": None, "extra": {"a": None, "b": 1}}}, DEP
    )
    assert "replicas" not in out["spec"] and "paused" not in out["spec"]
    assert out["spec"]["extra"] == {"b": 1}


keys = st.text(alphabet="abcxyz", min_size=1, max_size=3)
scalars = st.one_of(st.booleans(), st.integers(-3, 3), st.text(alphabet="ab", max_size=2))
maps = st.recursive(
    st.one_of(scalars, st.none()),
    lambda inner: st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)
map_docs = st.dictionaries(keys, maps, max_size=4)


@given(
    st.dictionaries(
        keys, st.recursive(scalars, lambda i: st.dictionaries(keys, i, max_size=3), max_leaves=8)
    ),
    map_docs,
)
def test_on_maps_and_scalars_smp_equals_json_merge_patch(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    assert apply_strategic_merge_patch(doc, copy.deepcopy(patch), OPEN) == apply_merge_patch(doc, patch)


names = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), unique=True, max_size=5)


@given(names, names, st.integers(0, 9))
def test_keyed_merge_is_idempotent_and_keeps_every_name(
    live: list[str], patch_names: list[str], image: int
) -> None:
    obj = {"spec": {"template": {"spec": {"containers": [{"name": n, "image": "old"} for n in live]}}}}
    body = {
        "spec": {
            "template": {"spec": {"containers": [{"name": n, "image": f"v{image}"} for n in patch_names]}}
        }
    }
    once = apply_strategic_merge_patch(obj, body, DEP)
    assert apply_strategic_merge_patch(once, body, DEP) == once
    got = {c["name"]: c["image"] for c in containers(once)}
    assert set(got) == set(live) | set(patch_names)
    assert all(got[n] == f"v{image}" for n in patch_names)
    assert [n for n in (c["name"] for c in containers(once)) if n in patch_names] == patch_names
