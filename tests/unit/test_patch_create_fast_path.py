"""The create fast path for managedFields must produce exactly what the general algorithm produces."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.apiserver.patch import apply
from ferry.cluster.apiserver.patch.meta import patch_meta, schema_meta

NOW = "2026-11-27T00:00:00Z"

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "uid": "u",
        "labels": {"app": "web"},
        "annotations": {"a": "b"},
        "finalizers": ["x/y"],
        "ownerReferences": [{"uid": "o", "name": "n"}],
    },
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "template": {
            "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "nginx",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 81}],
                        "env": [
                            {"name": "A", "value": "1"},
                            {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "x"}}},
                        ],
                        "resources": {},
                        "args": ["a", "b"],
                    },
                    {"name": "side", "image": "busybox", "volumeMounts": [{"name": "v", "mountPath": "/v"}]},
                ],
                "volumes": [{"name": "v", "emptyDir": {}}],
                "tolerations": [{"key": "k", "operator": "Exists"}],
                "securityContext": {},
                "dnsPolicy": "ClusterFirst",
            },
        },
    },
    "status": {"replicas": 0},
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "s", "namespace": "default"},
    "spec": {
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}, {"port": 443, "name": "https"}],
        "selector": {"app": "web"},
        "clusterIP": "10.96.0.5",
        "clusterIPs": ["10.96.0.5"],
    },
    "status": {"loadBalancer": {}},
}


def _both(obj: dict[str, Any], node: Any = None) -> tuple[Any, Any]:
    fast, slow = copy.deepcopy(obj), copy.deepcopy(obj)
    apply.update_managed_fields(
        None, fast, manager="m", api_version=obj.get("apiVersion", "v1"), now=NOW, meta=node
    )
    apply._update_managed_fields(
        None, slow, manager="m", api_version=obj.get("apiVersion", "v1"), now=NOW, meta=node
    )
    return fast["metadata"].get("managedFields"), slow["metadata"].get("managedFields")


def test_deployment_and_service_agree() -> None:
    for obj in (DEPLOYMENT, SERVICE):
        fast, slow = _both(obj)
        assert fast == slow
        assert fast and fast[0]["fieldsV1"]


def test_custom_resource_schema_agrees() -> None:
    schema = {
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
                            "properties": {"id": {"type": "string"}, "v": {"type": "integer"}},
                        },
                    },
                    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                },
            }
        },
    }
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"items": [{"id": "a", "v": 1}, {"id": "b"}], "tags": ["x", "y"], "free": {"k": [1, 2]}},
    }
    fast, slow = _both(obj, schema_meta(schema))
    assert fast == slow


json_leaf = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "a", "b", "TCP"])
json_value = st.recursive(
    json_leaf,
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(st.sampled_from(["name", "a", "b", "port", "protocol", "x"]), c, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    spec=json_value,
    meta=st.dictionaries(
        st.sampled_from(["labels", "annotations", "finalizers", "x"]), json_value, max_size=3
    ),
    containers=st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["a", "b"])},
            optional={
                "ports": st.lists(
                    st.fixed_dictionaries(
                        {"containerPort": st.integers(1, 3)},
                        optional={"protocol": st.sampled_from(["TCP", "UDP"])},
                    ),
                    max_size=3,
                ),
                "env": json_value,
                "image": json_leaf,
            },
        ),
        max_size=3,
    ),
)
def test_random_objects_agree(spec: Any, meta: dict[str, Any], containers: list[Any]) -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "n", **meta},
        "spec": {"x": spec, "template": {"spec": {"containers": containers}}},
    }
    try:
        fast, slow = _both(obj, patch_meta("apps", "Deployment"))
    except Exception as e:  # both paths must fail alike; the general one is the reference
        raise AssertionError(f"raised {e!r}") from e
    assert fast == slow
