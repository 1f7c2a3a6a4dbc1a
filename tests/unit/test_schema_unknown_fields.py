"""Strict field validation: which fields kube's strict decoder rejects, and how it words them."""

from __future__ import annotations

from typing import Any

from ferry.cluster.resources.schema import (
    fields_of,
    model_for,
    strict_decoding_error,
    strict_decoding_message,
    unknown_field_warnings,
    unknown_fields,
)


def deployment(**extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {"any/key": "v"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "resources": {"limits": {"cpu": "500m", "anything": "1"}},
                            "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                        }
                    ]
                },
            },
        },
        "status": {
            "replicas": 2,
            "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "x"}],
        },
    }
    obj.update(extra)
    return obj


def test_a_valid_object_has_no_unknown_fields() -> None:
    assert unknown_fields("apps", "v1", "Deployment", deployment()) == []


def test_paths_in_kube_format_and_document_order() -> None:
    obj = deployment()
    obj["metadata"]["labelz"] = {}
    obj["spec"]["template"]["spec"]["containers"][0]["imagee"] = "typo"
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostport"] = 1
    obj["spec"]["foo"] = 1
    obj["extra"] = True
    assert unknown_fields("apps", "v1", "Deployment", obj) == [
        "metadata.labelz",
        "spec.template.spec.containers[0].ports[0].hostport",  # "ports" precedes the added "imagee" key
        "spec.template.spec.containers[0].imagee",
        "spec.foo",
        "extra",
    ]


def test_matching_is_case_sensitive_and_null_values_still_count() -> None:
    obj = deployment(Spec={}, status=None)
    obj["spec"]["template"]["spec"]["nodeSelektor"] = None
    assert unknown_fields("apps", "v1", "Deployment", obj) == ["spec.template.spec.nodeSelektor", "Spec"]


def test_status_is_walked() -> None:
    obj = deployment()
    obj["status"]["conditions"][0]["foo"] = 1
    assert unknown_fields("apps", "v1", "Deployment", obj) == ["status.conditions[0].foo"]


def test_opaque_values_are_not_walked() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"weird": "x"}, "binaryData": {}, "Data": {}}
    assert unknown_fields("", "v1", "ConfigMap", cm) == ["Data"]
    revision = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "data": {"spec": {"anything": 1}},
        "revision": 1,
    }
    assert unknown_fields("apps", "v1", "ControllerRevision", revision) == []
    crd = {
        "spec": {
            "group": "example.com",
            "names": {"kind": "Foo", "plural": "foos"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-custom": 1}},
                    "additionalPrinterColumns": [
                        {"name": "A", "type": "string", "jsonPath": ".a", "colour": "red"}
                    ],
                }
            ],
        }
    }
    assert unknown_fields("apiextensions.k8s.io", "v1", "CustomResourceDefinition", crd) == [
        "spec.versions[0].additionalPrinterColumns[0].colour"
    ]


def test_wrong_shapes_are_left_to_the_decoder() -> None:
    obj = deployment(spec="not an object", metadata=[1, 2])
    assert unknown_fields("apps", "v1", "Deployment", obj) == []


def test_each_path_reported_once() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {"containers": [{"name": "a", "bogus": 1}, {"name": "b", "bogus": 2}]},
    }
    assert unknown_fields("", "v1", "Pod", pod) == ["spec.containers[0].bogus", "spec.containers[1].bogus"]


def test_unknown_kinds_return_none() -> None:
    assert unknown_fields("example.com", "v1", "Widget", {"spec": {}}) is None
    assert unknown_fields("apps", "v1beta1", "Deployment", {}) is None
    assert model_for("apps", "v1", "Deployment") is not None


def test_subresource_bodies_are_known() -> None:
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 3, "replicaz": 1}}
    assert unknown_fields("autoscaling", "v1", "Scale", scale) == ["spec.replicaz"]


def test_json_names_come_from_the_model_metadata() -> None:
    model = model_for("apiextensions.k8s.io", "v1", "CustomResourceDefinition")
    assert model is not None
    assert "$ref" not in fields_of(model)
    list_meta = fields_of(model_for("", "v1", "Pod") or type)  # cached per class
    assert "metadata" in list_meta and list_meta is fields_of(model_for("", "v1", "Pod") or type)


def test_messages() -> None:
    assert strict_decoding_error(["spec.foo"]) == 'strict decoding error: unknown field "spec.foo"'
    assert strict_decoding_error(["spec.foo", "spec.bar"]) == (
        'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"'
    )
    assert strict_decoding_message("Deployment", "v1", ["spec.foo"]) == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"'
    )
    assert unknown_field_warnings(['a"b']) == ['unknown field "a\\"b"']
