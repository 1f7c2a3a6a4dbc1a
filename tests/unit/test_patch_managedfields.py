"""managedFields bookkeeping for non-apply writes (create / update / patch), like kube's fieldmanager."""

from __future__ import annotations

import copy
from typing import Any

from ferry.cluster.apiserver.patch import decode_managed_fields, encode_managed_fields, update_managed_fields

T = [f"2024-01-01T00:{i:02d}:00Z" for i in range(20)]


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "default", "uid": "u1", "labels": {"app": "x"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "x"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "img:1", "resources": {}}]},
            },
        },
        "status": {},
    }


def write(
    old: dict[str, Any] | None, new: dict[str, Any], manager: str, now: str, subresource: str = ""
) -> dict[str, Any]:
    update_managed_fields(old, new, manager=manager, api_version="apps/v1", now=now, subresource=subresource)
    return new


def created() -> dict[str, Any]:
    return write(None, deployment(), "kubectl-create", T[0])


def test_create_owns_everything_like_kubectl_create() -> None:
    assert created()["metadata"]["managedFields"] == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": T[0],
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:strategy": {
                        "f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                        "f:type": {},
                    },
                    "f:template": {
                        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"c"}': {".": {}, "f:image": {}, "f:name": {}, "f:resources": {}}
                            }
                        },
                    },
                },
            },
        }
    ]


def test_update_moves_changed_fields_to_the_writer() -> None:
    old = created()
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "img:2"
    write(old, new, "kubectl-set", T[1])
    managed = decode_managed_fields(new["metadata"]["managedFields"])
    setter = managed[("kubectl-set", "Update", "apps/v1", "")]
    creator = managed[("kubectl-create", "Update", "apps/v1", "")]
    assert setter.fields.to_fields_v1() == {
        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"c"}': {"f:image": {}}}}}}
    }
    assert (
        "f:image"
        not in creator.fields.to_fields_v1()["f:spec"]["f:template"]["f:spec"]["f:containers"][
            'k:{"name":"c"}'
        ]
    )
    assert (creator.time, setter.time) == (T[0], T[1])


def test_no_op_write_changes_nothing() -> None:
    old = created()
    new = copy.deepcopy(old)
    new["metadata"]["resourceVersion"] = "7"  # system fields are never owned
    write(old, new, "other", T[5])
    assert new["metadata"]["managedFields"] == old["metadata"]["managedFields"]


def test_removed_fields_leave_every_set_and_empty_entries_go() -> None:
    old = created()
    step = copy.deepcopy(old)
    step["metadata"]["labels"]["team"] = "t"
    write(old, step, "labeller", T[1])
    gone = copy.deepcopy(step)
    del gone["metadata"]["labels"]["team"]
    write(step, gone, "kubectl-edit", T[2])
    assert [e["manager"] for e in gone["metadata"]["managedFields"]] == ["kubectl-create"]


def test_status_writes_are_owned_only_through_the_status_subresource() -> None:
    old = created()
    main = copy.deepcopy(old)
    main["status"] = {"replicas": 1}
    write(old, main, "controller", T[1])
    assert [e["manager"] for e in main["metadata"]["managedFields"]] == ["kubectl-create"]
    sub = copy.deepcopy(old)
    sub["status"] = {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    write(old, sub, "controller", T[1], subresource="status")
    entry = sub["metadata"]["managedFields"][1]
    assert (entry["manager"], entry["subresource"]) == ("controller", "status")
    assert entry["fieldsV1"] == {
        "f:status": {
            "f:conditions": {".": {}, 'k:{"type":"Available"}': {".": {}, "f:status": {}, "f:type": {}}},
            "f:replicas": {},
        }
    }


def test_managed_fields_in_the_request_win_and_empty_list_resets() -> None:
    old = created()
    new = copy.deepcopy(old)
    new["metadata"]["managedFields"][0]["manager"] = "renamed"
    write(old, new, "whoever", T[1])
    assert [e["manager"] for e in new["metadata"]["managedFields"]] == ["renamed"]
    reset = copy.deepcopy(old)
    reset["metadata"]["managedFields"] = []
    write(old, reset, "whoever", T[1])
    assert "managedFields" not in reset["metadata"]
    sub = copy.deepcopy(old)
    sub["metadata"]["managedFields"] = []
    sub["status"] = {"replicas": 2}
    write(old, sub, "ctl", T[1], subresource="status")
    assert [e["manager"] for e in sub["metadata"]["managedFields"]] == ["kubectl-create", "ctl"]


def test_entries_sorted_apply_first_then_time() -> None:
    raw = [
        {
            "manager": "b",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T[1],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:a": {}},
        },
        {
            "manager": "a",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T[2],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:b": {}},
        },
        {
            "manager": "z",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T[3],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:c": {}},
        },
        {
            "manager": "bad",
            "operation": "Patch",
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {},
        },
        {
            "manager": "bad2",
            "operation": "Update",
            "apiVersion": "v1",
            "fieldsType": "FieldsV2",
            "fieldsV1": {},
        },
    ]
    assert [e["manager"] for e in encode_managed_fields(decode_managed_fields(raw))] == ["z", "b", "a"]


def test_update_managers_are_capped_at_ten() -> None:
    obj = created()
    for i in range(12):
        new = copy.deepcopy(obj)
        new["metadata"]["labels"][f"l{i}"] = "v"
        obj = write(obj, new, f"m{i:02d}", T[i + 1])
    managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(managers) == 10
    assert managers[0] == "ancient-changes"
    bucket = obj["metadata"]["managedFields"][0]["fieldsV1"]
    assert {"f:app", "f:l0", "f:l1", "f:l2"} == set(bucket["f:metadata"]["f:labels"]) - {"."}
    assert managers[1:] == [f"m{i:02d}" for i in range(3, 12)]


def test_malformed_object_keeps_previous_managed_fields() -> None:
    old = created()
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"].append({"image": "no-name"})
    write(old, new, "broken", T[1])
    assert new["metadata"]["managedFields"] == old["metadata"]["managedFields"]
