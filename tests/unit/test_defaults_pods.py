"""Pod and PodSpec defaults: containers, probes, volumes, quantities and the Pod-only extras."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.cluster.resources.defaults.pods import (
    DEFAULTERS,
    default_pod,
    default_pod_spec,
    default_pull_policy,
    image_tag,
)


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("localhost:5000/team/app", "Always"),
        ("localhost:5000/team/app:v1", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("Nginx", "IfNotPresent"),  # unparsable: no tag known
        ("", "IfNotPresent"),
        (None, "IfNotPresent"),
        ("nginx@sha256:abc", "IfNotPresent"),
    ],
)
def test_image_pull_policy_by_tag(image: Any, policy: str) -> None:
    assert default_pull_policy(image) == policy


def test_image_tag() -> None:
    assert image_tag("myrepo/demo-api:1.0.0") == "1.0.0"
    assert image_tag("registry.example.com:443/a/b") == "latest"
    assert image_tag("a" * 64) is None


def test_container_and_spec_defaults() -> None:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "c",
                "image": "app:1",
                "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                "env": [
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
                ],
                "livenessProbe": {"httpGet": {"port": 80}},
                "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 0},
                "lifecycle": {"preStop": {"httpGet": {"port": 80}}},
                "resources": {"limits": {"cpu": "0.5", "memory": "1.5Gi"}, "requests": {"cpu": "0.0001"}},
            }
        ]
    }
    default_pod_spec(spec)
    c = spec["containers"][0]
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}]
    assert c["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name", "apiVersion": "v1"}
    assert c["env"][1]["valueFrom"]["resourceFieldRef"] == {"resource": "limits.memory", "divisor": "0"}
    assert c["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert c["readinessProbe"]["grpc"] == {"port": 9000, "service": ""}
    assert c["readinessProbe"]["periodSeconds"] == 10
    assert c["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}
    assert c["resources"] == {"limits": {"cpu": "500m", "memory": "1536Mi"}, "requests": {"cpu": "1m"}}
    assert (c["imagePullPolicy"], c["terminationMessagePath"], c["terminationMessagePolicy"]) == (
        "IfNotPresent",
        "/dev/termination-log",
        "File",
    )
    assert {k: spec[k] for k in ("dnsPolicy", "restartPolicy", "schedulerName", "securityContext")} == {
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
    }
    assert spec["terminationGracePeriodSeconds"] == 30
    assert "enableServiceLinks" not in spec  # Pod-only


def test_volume_defaults() -> None:
    spec: dict[str, Any] = {
        "containers": [],
        "volumes": [
            {"name": "a"},
            {"name": "s", "secret": {"secretName": "s"}},
            {"name": "c", "configMap": {"name": "c", "defaultMode": 256}},
            {"name": "h", "hostPath": {"path": "/x"}},
            {"name": "e", "emptyDir": {"sizeLimit": "1024Mi"}},
            {"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
            {
                "name": "d",
                "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]},
            },
            {"name": "v", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
        ],
    }
    default_pod_spec(spec)
    assert spec["volumes"] == [
        {"name": "a", "emptyDir": {}},
        {"name": "s", "secret": {"secretName": "s", "defaultMode": 420}},
        {"name": "c", "configMap": {"name": "c", "defaultMode": 256}},
        {"name": "h", "hostPath": {"path": "/x", "type": ""}},
        {"name": "e", "emptyDir": {"sizeLimit": "1Gi"}},
        {
            "name": "p",
            "projected": {
                "sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}}],
                "defaultMode": 420,
            },
        },
        {
            "name": "d",
            "downwardAPI": {
                "items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels", "apiVersion": "v1"}}],
                "defaultMode": 420,
            },
        },
        {
            "name": "v",
            "ephemeral": {
                "volumeClaimTemplate": {
                    "metadata": {"creationTimestamp": None},
                    "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"},
                }
            },
        },
    ]


def test_pod_only_defaults() -> None:
    obj: dict[str, Any] = {
        "spec": {
            "hostNetwork": True,
            "containers": [
                {
                    "name": "c",
                    "image": "a:1",
                    "ports": [{"containerPort": 8080}],
                    "resources": {"limits": {"cpu": "1"}},
                }
            ],
        }
    }
    DEFAULTERS[("", "Pod")](obj)
    c = obj["spec"]["containers"][0]
    assert c["resources"] == {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}
    assert c["ports"] == [{"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"}]
    assert obj["spec"]["enableServiceLinks"] is True


def test_explicit_values_are_kept() -> None:
    obj: dict[str, Any] = {
        "spec": {
            "enableServiceLinks": False,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "c",
                    "image": "a",
                    "imagePullPolicy": "Never",
                    "resources": {"requests": {"cpu": "2"}},
                }
            ],
        }
    }
    default_pod(obj)
    spec = obj["spec"]
    assert (spec["enableServiceLinks"], spec["restartPolicy"], spec["terminationGracePeriodSeconds"]) == (
        False,
        "Never",
        0,
    )
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    assert spec["containers"][0]["resources"] == {"requests": {"cpu": "2"}}


def test_uninterpretable_values_are_left_alone() -> None:
    obj: dict[str, Any] = {
        "spec": {
            "containers": [
                {"name": "c", "ports": "80", "resources": {"limits": {"cpu": "lots"}}, "livenessProbe": 3}
            ],
            "volumes": "none",
            "securityContext": "x",
        }
    }
    default_pod(obj)
    c = obj["spec"]["containers"][0]
    assert c["ports"] == "80"
    assert c["resources"] == {"limits": {"cpu": "lots"}, "requests": {"cpu": "lots"}}
    assert c["livenessProbe"] == 3
    assert obj["spec"]["volumes"] == "none"
    assert obj["spec"]["securityContext"] == "x"


def test_pod_template_kind() -> None:
    obj: dict[str, Any] = {"template": {"spec": {"containers": [{"name": "c", "image": "a:1"}]}}}
    DEFAULTERS[("", "PodTemplate")](obj)
    assert obj["template"]["metadata"] == {"creationTimestamp": None}
    assert obj["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
