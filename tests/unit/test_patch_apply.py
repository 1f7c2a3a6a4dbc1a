"""Server-side apply: merge, prune, conflicts and ownership, as kubectl --server-side and Helm use it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.apiserver.patch import (
    ApplyConflict,
    PatchError,
    patch_meta,
    server_side_apply,
    update_managed_fields,
)
from ferry.cluster.apiserver.patch.meta import TypeNode

_DEP = patch_meta("apps", "Deployment")
assert _DEP is not None
DEP: TypeNode = _DEP
T0, T1, T2, T3 = (f"2024-01-01T00:0{i}:00Z" for i in range(4))


def manifest(
    *, replicas: int | None = 2, env: list[dict[str, str]] | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "img:1", "ports": [{"containerPort": 80}]}
    if env is not None:
        container["env"] = env
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "x"}},
        "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [container]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "default", "labels": labels or {"app": "x"}},
        "spec": spec,
    }


def apply(
    live: dict[str, Any] | None,
    cfg: dict[str, Any],
    manager: str = "kubectl",
    *,
    force: bool = False,
    now: str = T0,
) -> dict[str, Any]:
    return server_side_apply(
        live, cfg, manager=manager, force=force, api_version="apps/v1", meta=DEP, now=now
    )


def entries(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (e["manager"], e["operation"], e.get("subresource", "")) for e in obj["metadata"]["managedFields"]
    ]


def fields_of(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    for e in obj["metadata"]["managedFields"]:
        if e["manager"] == manager:
            return e["fieldsV1"]  # type: ignore[no-any-return]
    raise AssertionError(f"no entry for {manager}")


def container(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def test_create_records_apply_entry_like_kube() -> None:
    obj = apply(None, manifest())
    assert obj["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"c"}': {
                                    ".": {},
                                    "f:image": {},
                                    "f:name": {},
                                    "f:ports": {
                                        'k:{"containerPort":80,"protocol":"TCP"}': {
                                            ".": {},
                                            "f:containerPort": {},
                                        }
                                    },
                                }
                            }
                        },
                    },
                },
            },
        }
    ]
    assert obj["spec"]["replicas"] == 2 and obj["metadata"]["name"] == "x"


def test_kubectl_apply_twice_with_field_removed_drops_it() -> None:
    first = apply(None, manifest(labels={"app": "x", "tier": "web"}))
    second = apply(first, manifest(replicas=None), now=T1)
    assert second["metadata"]["labels"] == {"app": "x"}
    assert "replicas" not in second["spec"]
    assert "f:replicas" not in fields_of(second, "kubectl")["f:spec"]
    assert second["metadata"]["managedFields"][0]["time"] == T1


def test_helm_upgrade_removes_dropped_env_var_but_keeps_server_defaults() -> None:
    installed = apply(
        None, manifest(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]), "python"
    )
    defaulted = copy.deepcopy(installed)  # what the API server adds after apply: defaults and status
    container(defaulted)["imagePullPolicy"] = "IfNotPresent"
    container(defaulted)["ports"][0]["protocol"] = "TCP"
    defaulted["spec"]["revisionHistoryLimit"] = 10
    defaulted["status"] = {"replicas": 2}
    upgraded = apply(defaulted, manifest(env=[{"name": "A", "value": "1"}]), "python", now=T1)
    assert container(upgraded)["env"] == [{"name": "A", "value": "1"}]
    assert container(upgraded)["imagePullPolicy"] == "IfNotPresent"
    assert container(upgraded)["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert upgraded["spec"]["revisionHistoryLimit"] == 10 and upgraded["status"] == {"replicas": 2}
    last = apply(upgraded, manifest(env=[]), "python", now=T2)
    assert "env" not in container(last)


def test_scale_then_apply_by_another_manager_conflicts_unless_forced() -> None:
    applied = apply(None, manifest(replicas=2), "helm")
    scaled = copy.deepcopy(applied)
    scaled["spec"]["replicas"] = 3
    update_managed_fields(applied, scaled, manager="kubectl", api_version="apps/v1", now=T1)
    assert entries(scaled) == [("helm", "Apply", ""), ("kubectl", "Update", "")]
    assert fields_of(scaled, "kubectl") == {"f:spec": {"f:replicas": {}}}
    with pytest.raises(ApplyConflict) as err:
        apply(scaled, manifest(replicas=5), "helm", now=T2)
    assert (
        str(err.value)
        == 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas'
    )
    assert err.value.causes() == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl" using apps/v1',
            "field": ".spec.replicas",
        }
    ]
    status = err.value.api_error().status()
    assert (status["code"], status["reason"]) == (409, "Conflict")
    forced = apply(scaled, manifest(replicas=5), "helm", force=True, now=T2)
    assert forced["spec"]["replicas"] == 5
    assert entries(forced) == [("helm", "Apply", "")]
    assert "f:replicas" in fields_of(forced, "helm")["f:spec"]


def test_conflict_names_the_subresource() -> None:
    applied = apply(None, manifest(replicas=2), "helm")
    scaled = copy.deepcopy(applied)
    scaled["spec"]["replicas"] = 3
    update_managed_fields(
        applied, scaled, manager="kubectl", api_version="apps/v1", now=T1, subresource="scale"
    )
    with pytest.raises(ApplyConflict) as err:
        apply(scaled, manifest(replicas=5), "helm", now=T2)
    assert str(err.value) == (
        'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas'
    )


def test_plural_conflicts_grouped_by_manager() -> None:
    base = apply(None, manifest(replicas=2), "a")
    cfg = manifest(replicas=3)
    container(cfg)["image"] = "img:2"
    with pytest.raises(ApplyConflict) as err:
        apply(base, cfg, "b", now=T1)
    assert str(err.value) == (
        'Apply failed with 2 conflicts: conflicts with "a":\n- .spec.replicas\n'
        '- .spec.template.spec.containers[name="c"].image'
    )
    assert [c["field"] for c in err.value.causes()] == [
        ".spec.replicas",
        '.spec.template.spec.containers[name="c"].image',
    ]


def test_equal_value_shares_ownership_without_conflict() -> None:
    a = apply(None, manifest(replicas=2), "a")
    both = apply(a, manifest(replicas=2), "b", now=T1)
    assert both["spec"] == a["spec"]
    assert "f:replicas" in fields_of(both, "a")["f:spec"] and "f:replicas" in fields_of(both, "b")["f:spec"]
    a_drops = apply(both, manifest(replicas=None), "a", now=T2)
    assert a_drops["spec"]["replicas"] == 2  # still owned by b


def test_two_appliers_own_different_keys_of_one_map() -> None:
    def labels_cfg(labels: dict[str, str]) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "labels": labels}}

    one = apply(None, labels_cfg({"a": "1"}), "a")
    two = apply(one, labels_cfg({"b": "2"}), "b", now=T1)
    assert two["metadata"]["labels"] == {"a": "1", "b": "2"}
    again = apply(two, labels_cfg({"a": "1"}), "a", now=T2)
    assert again["metadata"]["labels"] == {"a": "1", "b": "2"}
    a_drops = apply(again, labels_cfg({"c": "3"}), "a", now=T3)
    assert a_drops["metadata"]["labels"] == {"b": "2", "c": "3"}


def test_unchanged_apply_keeps_time() -> None:
    obj = apply(None, manifest())
    again = apply(obj, manifest(), now=T3)
    assert again == obj


def test_status_and_system_fields_are_not_owned() -> None:
    cfg = manifest()
    cfg["status"] = {"replicas": 9}
    cfg["metadata"].update(
        resourceVersion="5", uid="u", creationTimestamp=None, managedFields=[{"manager": "x"}]
    )
    obj = apply(None, cfg)
    flds = obj["metadata"]["managedFields"][0]["fieldsV1"]
    assert "f:status" not in flds
    assert set(flds["f:metadata"]) == {"f:labels"}
    assert "creationTimestamp" not in obj["metadata"]


def test_duplicate_keys_in_config_are_rejected() -> None:
    cfg = manifest()
    cfg["spec"]["template"]["spec"]["containers"].append({"name": "c", "image": "other"})
    with pytest.raises(PatchError) as err:
        apply(None, cfg)
    assert str(err.value) == '.spec.template.spec.containers: duplicate entries for key [name="c"]'


def test_list_merge_order_config_wins_live_only_items_keep_place() -> None:
    def cfg(names: list[str]) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"name": n, "image": "i"} for n in names]}}},
        }

    live = apply(None, cfg(["a", "b", "c"]), "other")
    out = apply(live, cfg(["c", "new", "a"]), "me", now=T1)
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["b", "c", "new", "a"]


names = st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4)
label_maps = st.dictionaries(
    st.sampled_from(["app", "tier", "team"]), st.sampled_from(["1", "2"]), max_size=3
)


def config(labels: dict[str, str], env: list[str], replicas: int | None) -> dict[str, Any]:
    cfg = manifest(
        replicas=replicas, env=[{"name": n, "value": n} for n in env] or None, labels=labels or None
    )
    return cfg


def normalized(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].pop("managedFields", None)
    return json.loads(json.dumps(out, sort_keys=True))  # type: ignore[no-any-return]


@settings(max_examples=60, deadline=None)
@given(
    label_maps,
    names,
    st.one_of(st.none(), st.integers(1, 3)),
    label_maps,
    names,
    st.one_of(st.none(), st.integers(1, 3)),
)
def test_sole_applier_converges_and_is_idempotent(
    l1: dict[str, str], e1: list[str], r1: int | None, l2: dict[str, str], e2: list[str], r2: int | None
) -> None:
    first = apply(None, config(l1, e1, r1))
    second = apply(first, config(l2, e2, r2), now=T1)
    fresh = apply(None, config(l2, e2, r2), now=T1)
    assert normalized(second) == normalized(fresh)
    assert (
        second["metadata"]["managedFields"][0]["fieldsV1"]
        == fresh["metadata"]["managedFields"][0]["fieldsV1"]
    )
    assert apply(second, config(l2, e2, r2), now=T2) == second


def test_custom_resource_list_map_from_schema() -> None:
    from ferry.cluster.apiserver.patch import schema_meta

    node = schema_meta(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "items": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["id"],
                            "items": {
                                "type": "object",
                                "properties": {"id": {"type": "integer"}, "v": {"type": "string"}},
                            },
                        }
                    },
                }
            },
        }
    )

    def cr(ids: list[int]) -> dict[str, Any]:
        items = [{"id": i, "v": str(i)} for i in ids]
        return {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"items": items},
        }

    def ssa(live: dict[str, Any] | None, cfg: dict[str, Any], manager: str, now: str) -> dict[str, Any]:
        return server_side_apply(
            live, cfg, manager=manager, force=False, api_version="example.com/v1", meta=node, now=now
        )

    a = ssa(None, cr([1, 2]), "a", T0)
    b = ssa(a, cr([3]), "b", T1)
    assert [i["id"] for i in b["spec"]["items"]] == [1, 2, 3]
    again = ssa(b, cr([1]), "a", T2)
    assert [i["id"] for i in again["spec"]["items"]] == [1, 3]
