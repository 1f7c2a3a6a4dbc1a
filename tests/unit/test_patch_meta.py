"""Patch metadata facts (k8s.io/api types.go tags) and the curated public surface of the package."""

from __future__ import annotations

import pytest

import ferry.cluster.apiserver.patch as patch_pkg
from ferry.cluster.apiserver.patch import TypeNode, patch_meta, schema_meta


def node(group: str, kind: str, *path: str) -> TypeNode:
    current = patch_meta(group, kind)
    assert current is not None
    for part in path:
        current = current.item() if part == "[]" else current.field(part)
    return current


def smp(n: TypeNode) -> tuple[str, str]:
    return (n.strategy, n.merge_key)


def ssa(n: TypeNode) -> tuple[str, tuple[str, ...]]:
    return (n.list_type, n.keys)


CONTAINERS = ("spec", "template", "spec", "containers")


@pytest.mark.parametrize(
    ("group", "kind", "path", "merge", "listed"),
    [
        ("apps", "Deployment", CONTAINERS, ("merge", "name"), ("map", ("name",))),
        (
            "apps",
            "Deployment",
            (*CONTAINERS, "[]", "ports"),
            ("merge", "containerPort"),
            ("map", ("containerPort", "protocol")),
        ),
        ("apps", "Deployment", (*CONTAINERS, "[]", "env"), ("merge", "name"), ("map", ("name",))),
        (
            "apps",
            "Deployment",
            (*CONTAINERS, "[]", "volumeMounts"),
            ("merge", "mountPath"),
            ("map", ("mountPath",)),
        ),
        ("apps", "Deployment", (*CONTAINERS, "[]", "args"), ("", ""), ("atomic", ())),
        ("", "Pod", ("spec", "volumes"), ("merge", "name"), ("map", ("name",))),
        ("", "Pod", ("spec", "initContainers"), ("merge", "name"), ("map", ("name",))),
        (
            "",
            "Pod",
            ("spec", "ephemeralContainers", "[]", "volumeDevices"),
            ("merge", "devicePath"),
            ("map", ("devicePath",)),
        ),
        ("", "Pod", ("spec", "imagePullSecrets"), ("merge", "name"), ("map", ("name",))),
        ("", "Pod", ("spec", "hostAliases"), ("merge", "ip"), ("map", ("ip",))),
        (
            "",
            "Pod",
            ("spec", "topologySpreadConstraints"),
            ("merge", "topologyKey"),
            ("map", ("topologyKey", "whenUnsatisfiable")),
        ),
        ("", "Pod", ("spec", "schedulingGates"), ("merge", "name"), ("map", ("name",))),
        ("", "Pod", ("spec", "resourceClaims"), ("merge", "name"), ("map", ("name",))),
        ("", "Pod", ("spec", "tolerations"), ("", ""), ("atomic", ())),
        ("", "Pod", ("status", "conditions"), ("merge", "type"), ("map", ("type",))),
        ("", "Pod", ("status", "podIPs"), ("merge", "ip"), ("map", ("ip",))),
        ("", "Pod", ("status", "hostIPs"), ("merge", "ip"), ("atomic", ())),
        ("", "Pod", ("metadata", "finalizers"), ("merge", ""), ("set", ())),
        ("", "Pod", ("metadata", "ownerReferences"), ("merge", "uid"), ("map", ("uid",))),
        ("", "Service", ("spec", "ports"), ("merge", "port"), ("map", ("port", "protocol"))),
        ("", "Node", ("spec", "podCIDRs"), ("merge", ""), ("set", ())),
        ("", "Node", ("status", "addresses"), ("merge", "type"), ("map", ("type",))),
        ("", "ServiceAccount", ("secrets",), ("merge", "name"), ("map", ("name",))),
        ("", "ServiceAccount", ("imagePullSecrets",), ("", ""), ("atomic", ())),
        ("batch", "Job", ("status", "conditions"), ("merge", "type"), ("atomic", ())),
        (
            "batch",
            "CronJob",
            ("spec", "jobTemplate", "spec", "template", "spec", "containers"),
            ("merge", "name"),
            ("map", ("name",)),
        ),
        ("apps", "StatefulSet", ("status", "conditions"), ("merge", "type"), ("map", ("type",))),
        ("discovery.k8s.io", "EndpointSlice", ("endpoints",), ("", ""), ("atomic", ())),
        ("rbac.authorization.k8s.io", "RoleBinding", ("subjects",), ("", ""), ("atomic", ())),
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            ("webhooks",),
            ("merge", "name"),
            ("map", ("name",)),
        ),
    ],
)
def test_list_facts(
    group: str, kind: str, path: tuple[str, ...], merge: tuple[str, str], listed: tuple[str, tuple[str, ...]]
) -> None:
    n = node(group, kind, *path)
    assert (smp(n), ssa(n)) == (merge, listed)


def test_struct_and_map_facts() -> None:
    assert node("apps", "Deployment", "spec", "strategy").retain_keys
    assert node("", "Pod", "spec", "volumes").retain_keys
    assert node("apps", "Deployment", "spec", "selector").atomic
    assert node("", "Service", "spec", "selector").atomic  # SSA atomic map; SMP still merges it
    assert node("", "Pod", "spec", "nodeSelector").atomic
    assert node("", "Pod", "metadata", "ownerReferences", "[]").atomic
    assert node("policy", "PodDisruptionBudget", "spec", "selector").strategy == "replace"
    assert node(
        "apps", "Deployment", "spec", "template", "spec", "containers", "[]", "ports"
    ).key_defaults == {"protocol": "TCP"}


def test_unknown_kinds_have_no_patch_meta() -> None:
    assert patch_meta("example.com", "Widget") is None
    assert patch_meta("", "Deployment") is None


def test_schema_meta_defaults() -> None:
    n = schema_meta(
        {"type": "object", "properties": {"spec": {"type": "object", "properties": {"l": {"type": "array"}}}}}
    )
    assert n.field("metadata").field("labels").kind == "map"
    assert ssa(n.field("spec").field("l")) == ("atomic", ())
    assert (
        schema_meta({"type": "object", "x-kubernetes-preserve-unknown-fields": True}).field("metadata").kind
        == "struct"
    )


def test_public_surface_is_curated() -> None:
    assert sorted(patch_pkg.__all__) == [
        "ApplyConflict",
        "FieldSet",
        "PatchError",
        "TypeNode",
        "apply_json_patch",
        "apply_merge_patch",
        "apply_strategic_merge_patch",
        "create_merge_patch",
        "decode_managed_fields",
        "encode_managed_fields",
        "json_equal",
        "patch_meta",
        "path_string",
        "schema_meta",
        "server_side_apply",
        "to_field_set",
        "update_managed_fields",
    ]
    assert all(hasattr(patch_pkg, name) for name in patch_pkg.__all__)
