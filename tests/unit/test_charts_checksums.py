"""Config propagation: `add_config_checksums` annotates pod templates with the content hash of each rendered
ConfigMap/Secret they reference, and only those."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ferry.charts import Change, ObjectRef, add_config_checksums, config_checksum, render
from tests.unit.charts_support import EXAMPLES, configmap, deployment, secret, template_annotations

CONTAINER = {"name": "app", "image": "repo/app:1"}


def with_container(**fields: Any) -> dict[str, Any]:
    return {"containers": [{**CONTAINER, **fields}]}


REFERENCE_SHAPES: list[tuple[str, dict[str, Any], str, str]] = [
    ("env configMapKeyRef", with_container(env=[{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}}]), "ConfigMap", "cfg"),
    ("env secretKeyRef", with_container(env=[{"name": "A", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "a"}}}]), "Secret", "sec"),
    ("envFrom configMapRef", with_container(envFrom=[{"configMapRef": {"name": "cfg"}}]), "ConfigMap", "cfg"),
    ("envFrom secretRef", with_container(envFrom=[{"secretRef": {"name": "sec"}}]), "Secret", "sec"),
    ("volume configMap", {"containers": [CONTAINER], "volumes": [{"name": "v", "configMap": {"name": "cfg"}}]}, "ConfigMap", "cfg"),
    ("volume secret", {"containers": [CONTAINER], "volumes": [{"name": "v", "secret": {"secretName": "sec"}}]}, "Secret", "sec"),
    ("projected configMap", {"containers": [CONTAINER], "volumes": [{"name": "v", "projected": {"sources": [{"configMap": {"name": "cfg"}}]}}]}, "ConfigMap", "cfg"),
    ("projected secret", {"containers": [CONTAINER], "volumes": [{"name": "v", "projected": {"sources": [{"secret": {"name": "sec"}}]}}]}, "Secret", "sec"),
    ("initContainer envFrom", {"initContainers": [{**CONTAINER, "envFrom": [{"configMapRef": {"name": "cfg"}}]}], "containers": [CONTAINER]}, "ConfigMap", "cfg"),
]  # fmt: skip


def world(pod_spec: dict[str, Any], **workload: Any) -> list[dict[str, Any]]:
    return [
        configmap("cfg", {"a": "1"}),
        secret("sec", data={"a": "MQ=="}),
        deployment("web", pod_spec, **workload),
    ]


@pytest.mark.parametrize(
    ("label", "pod_spec", "kind", "name"), REFERENCE_SHAPES, ids=[s[0] for s in REFERENCE_SHAPES]
)
def test_every_reference_kind_is_annotated(
    label: str, pod_spec: dict[str, Any], kind: str, name: str
) -> None:
    objects = world(pod_spec)
    target = objects[0] if kind == "ConfigMap" else objects[1]
    changes = add_config_checksums(objects)
    key = f"checksum.ferry.dev/{kind.lower()}-{name}"
    assert template_annotations(objects[2]) == {key: config_checksum(target)}
    assert changes == [
        Change(
            ObjectRef("Deployment", "ns", "web"), key, config_checksum(target), ObjectRef(kind, "ns", name)
        )
    ]


@pytest.mark.parametrize(
    ("kind", "api_version"), [("StatefulSet", "apps/v1"), ("DaemonSet", "apps/v1"), ("Job", "batch/v1")]
)
def test_every_workload_kind_is_annotated(kind: str, api_version: str) -> None:
    objects = world(
        with_container(envFrom=[{"configMapRef": {"name": "cfg"}}]), kind=kind, api_version=api_version
    )
    [change] = add_config_checksums(objects)
    assert change.workload == ObjectRef(kind, "ns", "web")
    assert "checksum.ferry.dev/configmap-cfg" in template_annotations(objects[2])


def test_checksum_is_sha256_of_the_canonical_json_of_the_content() -> None:
    cm = configmap("cfg", {"b": "2", "a": "1"}, binaryData={"bin": "AAE="})
    canonical = '{"binaryData":{"bin":"AAE="},"data":{"a":"1","b":"2"}}'
    assert config_checksum(cm) == hashlib.sha256(canonical.encode()).hexdigest()
    sec = secret("s", stringData={"p": "é"})
    assert (
        config_checksum(sec)
        == hashlib.sha256(
            json.dumps({"stringData": {"p": "é"}}, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()
    )


def test_objects_not_in_the_render_get_no_annotation() -> None:
    dep = deployment(
        "web",
        with_container(
            envFrom=[{"configMapRef": {"name": "external-config"}}, {"secretRef": {"name": "sec"}}],
        ),
    )
    objects = [secret("sec", namespace="other", data={"a": "MQ=="}), configmap("cfg", {"a": "1"}), dep]
    assert add_config_checksums(objects) == []
    assert (
        template_annotations(dep) == {}
    )  # the Secret lives in another namespace; external-config is not rendered


def test_only_the_data_moves_the_checksum() -> None:
    base = world(with_container(envFrom=[{"configMapRef": {"name": "cfg"}}]))
    add_config_checksums(base)
    before = template_annotations(base[2])["checksum.ferry.dev/configmap-cfg"]

    changed = world(with_container(envFrom=[{"configMapRef": {"name": "cfg"}}]))
    changed[0]["data"]["a"] = "2"
    add_config_checksums(changed)
    assert template_annotations(changed[2])["checksum.ferry.dev/configmap-cfg"] != before

    relabelled = world(with_container(envFrom=[{"configMapRef": {"name": "cfg"}}]))
    relabelled[0]["metadata"]["labels"] = {"new": "label"}
    relabelled[0]["metadata"]["annotations"] = {"note": "x"}
    relabelled[2]["spec"]["replicas"] = 9
    add_config_checksums(relabelled)
    assert template_annotations(relabelled[2])["checksum.ferry.dev/configmap-cfg"] == before


def test_one_annotation_per_referenced_object_sorted_and_existing_annotations_kept() -> None:
    pod_spec = {
        "containers": [{**CONTAINER, "envFrom": [{"secretRef": {"name": "sec"}}, {"configMapRef": {"name": "cfg"}}],
                        "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}}]}],
        "volumes": [{"name": "v", "configMap": {"name": "cfg"}}],
    }  # fmt: skip
    objects = world(pod_spec)
    objects[2]["spec"]["template"]["metadata"]["annotations"] = {"prometheus.io/scrape": "true"}
    changes = add_config_checksums(objects)
    assert [c.annotation for c in changes] == [
        "checksum.ferry.dev/configmap-cfg",
        "checksum.ferry.dev/secret-sec",
    ]
    assert set(template_annotations(objects[2])) == {"prometheus.io/scrape", *(c.annotation for c in changes)}


def test_idempotent_and_reports_the_previous_value() -> None:
    objects = world(with_container(envFrom=[{"configMapRef": {"name": "cfg"}}]))
    first = add_config_checksums(objects)
    snapshot = copy.deepcopy(objects)
    second = add_config_checksums(objects)
    assert objects == snapshot
    assert [c.previous for c in first] == [None] and [c.previous for c in second] == [first[0].value]


def test_non_workloads_and_pods_are_left_alone() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": with_container(envFrom=[{"configMapRef": {"name": "cfg"}}]),
    }
    rs = deployment("rs", with_container(envFrom=[{"configMapRef": {"name": "cfg"}}]), kind="ReplicaSet")
    objects = [configmap("cfg", {"a": "1"}), pod, rs]
    snapshot = copy.deepcopy(objects)
    assert add_config_checksums(objects) == []
    assert objects == snapshot


def test_long_names_give_valid_unique_keys() -> None:
    long_a, long_b = "a" * 70 + "-one", "a" * 70 + "-two"
    spec = with_container(envFrom=[{"configMapRef": {"name": long_a}}, {"configMapRef": {"name": long_b}}])
    objects = [configmap(long_a, {"k": "1"}), configmap(long_b, {"k": "2"}), deployment("web", spec)]
    keys = [c.annotation for c in add_config_checksums(objects)]
    assert len(set(keys)) == 2
    for key in keys:
        name = key.removeprefix("checksum.ferry.dev/")
        assert len(name) <= 63 and name[-1].isalnum() and name.startswith("configmap-aaaa")


def test_example_chart_config_change_moves_only_its_annotation() -> None:
    chart = EXAMPLES / "demo-api"

    def checksum(*layers: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        rendered = render(chart, release="demo-api", namespace="sit", values=list(layers))
        add_config_checksums(rendered.objects)
        [dep] = [o for o in rendered.objects if o["kind"] == "Deployment"]
        return template_annotations(dep)["checksum.ferry.dev/configmap-demo-api-config"], dep

    base, _ = checksum()
    assert checksum({"config": {"GREETING": "bonjour"}})[0] != base
    assert checksum({"replicaCount": 5})[0] == base
    assert checksum({"image": {"tag": "1.0.1"}})[0] == base  # ConfigMap labels change, its data does not


def test_checksums_are_not_added_by_render_itself(tmp_path: Path) -> None:
    rendered = render(EXAMPLES / "demo-api", release="demo-api", namespace="sit")
    [dep] = [o for o in rendered.objects if o["kind"] == "Deployment"]
    assert template_annotations(dep) == {}  # the caller decides (propagation is switchable per service)
