"""Diff normalisation and changed field paths: server-set fields are not changes; paths name list items."""

from __future__ import annotations

import copy
from typing import Any

from ferry.delivery.apply.diff import changed_paths, diff_object, normalize


def live_deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "sit",
            "uid": "u1",
            "resourceVersion": "41",
            "generation": 3,
            "creationTimestamp": "2026-11-27T00:00:00Z",
            "managedFields": [{"manager": "ferry"}],
            "annotations": {"deployment.kubernetes.io/revision": "3", "checksum/config": "abc"},
        },
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": "web:1", "env": [{"name": "A", "value": "1"}]},
                        {"name": "sidecar", "image": "proxy:1"},
                    ],
                    "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}],
                }
            },
        },
        "status": {"replicas": 2, "observedGeneration": 3},
    }


def test_server_set_fields_are_not_changes() -> None:
    would_be = live_deployment()
    would_be["metadata"].update(resourceVersion="42", generation=4, managedFields=[{"manager": "x"}])
    would_be["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "4"
    would_be["status"] = {"replicas": 0}
    result = diff_object(live_deployment(), would_be, name="Deployment/web")
    assert (result.action, result.paths, result.text) == ("unchanged", [], "")


def test_normalize_keeps_author_fields_and_does_not_mutate() -> None:
    live = live_deployment()
    before = copy.deepcopy(live)
    out = normalize(live)
    assert live == before
    assert out["metadata"] == {"name": "web", "namespace": "sit", "annotations": {"checksum/config": "abc"}}
    assert "status" not in out


def test_named_list_items_are_addressed_by_name() -> None:
    new = live_deployment()
    containers = new["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = "web:2"
    containers[0]["env"][0]["value"] = "2"
    containers.insert(0, {"name": "init", "image": "busybox"})  # would shift every index
    paths = changed_paths(normalize(live_deployment()), normalize(new))
    assert paths == [
        "spec.template.spec.containers[name=web].env[name=A].value",
        "spec.template.spec.containers[name=web].image",
        "spec.template.spec.containers[name=init]",
    ]


def test_unnamed_lists_by_index_and_odd_keys_quoted() -> None:
    old: dict[str, Any] = {
        "spec": {"args": ["a", "b"]},
        "metadata": {"annotations": {"checksum/config": "1"}},
    }
    new: dict[str, Any] = {
        "spec": {"args": ["a", "c", "d"]},
        "metadata": {"annotations": {"checksum/config": "2"}},
    }
    assert changed_paths(old, new) == [
        'metadata.annotations["checksum/config"]',
        "spec.args[1]",
        "spec.args[2]",
    ]


def test_a_removed_field_is_a_change() -> None:
    new = live_deployment()
    del new["spec"]["template"]["spec"]["volumes"]
    result = diff_object(live_deployment(), new, name="Deployment/web")
    assert result.action == "changed"
    assert result.paths == ["spec.template.spec.volumes"]
    assert "-      volumes:" in result.text


def test_absent_live_object_is_created_with_the_whole_object_as_diff() -> None:
    result = diff_object(None, live_deployment(), name="Deployment/web")
    assert result.action == "created"
    assert "+kind: Deployment" in result.text
    assert "resourceVersion" not in result.text
