"""RBAC kinds and SelfSubjectAccessReview validation (kube v1.32 paths and messages)."""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.errors import invalid
from ferry.cluster.resources.defaults.core import default_role_binding
from ferry.cluster.resources.validation.rbac import VALIDATORS, validate_self_subject_access_review

G = "rbac.authorization.k8s.io"


def check(kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [e.error() for e in VALIDATORS[(G, kind)](obj, old)]


def test_valid_role_and_cluster_role_pass() -> None:
    role = {"rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}]}
    assert check("Role", role) == []
    cluster_role = {"rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]}
    assert check("ClusterRole", cluster_role) == []


def test_rules_need_verbs_groups_and_resources() -> None:
    role = {
        "rules": [
            {"resources": ["pods"]},
            {"apiGroups": [""], "verbs": ["get"], "resources": ["pods", "svc"], "resourceNames": ["a"]},
        ]
    }
    assert check("Role", role) == [
        "rules[0].verbs: Required value: verbs must contain at least one value",
        "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
        "rules[1].resourceNames: Required value: resource names cannot apply to multiple resources",
    ]


def test_non_resource_urls_only_in_cluster_roles_and_alone() -> None:
    rule = {"rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"], "resources": ["pods"]}]}
    assert check("Role", rule) == [
        'rules[0].nonResourceURLs: Invalid value: []string{"/metrics"}: namespaced rules cannot apply to non-resource URLs',
        'rules[0].nonResourceURLs: Invalid value: []string{"/metrics"}: rules cannot apply to both regular resources and '
        "non-resource URLs",
    ]


def binding(kind: str = "Role", **extra: Any) -> dict[str, Any]:
    rb: dict[str, Any] = {
        "roleRef": {"kind": kind, "name": "view"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "ServiceAccount", "name": "sa", "namespace": "default"},
        ],
    }
    rb.update(extra)
    default_role_binding(rb)
    return rb


def test_valid_bindings_pass() -> None:
    assert check("RoleBinding", binding()) == []
    assert check("ClusterRoleBinding", binding("ClusterRole")) == []


def test_binding_role_ref_and_subject_rules() -> None:
    rb = binding(
        "Deployment",
        subjects=[
            {"kind": "Robot", "name": "r"},
            {"kind": "ServiceAccount", "name": "sa", "apiGroup": "x.io"},
            {"kind": "User"},
        ],
    )
    assert check("RoleBinding", rb) == [
        'roleRef.kind: Unsupported value: "Deployment": supported values: "Role", "ClusterRole"',
        'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
        'subjects[1].apiGroup: Unsupported value: "x.io": supported values: ""',
        "subjects[2].name: Required value",
        'subjects[2].name: Invalid value: "": user name cannot be empty',
    ]


def test_cluster_role_binding_service_accounts_need_a_namespace() -> None:
    crb = binding("Role", subjects=[{"kind": "ServiceAccount", "name": "sa"}])
    assert check("ClusterRoleBinding", crb) == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[0].namespace: Required value",
    ]


def test_role_ref_cannot_change() -> None:
    old = binding()
    new = binding(roleRef={"kind": "Role", "name": "edit"})
    errs = VALIDATORS[(G, "RoleBinding")](new, old)
    assert [e.error() for e in errs] == [
        'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"edit"}: '
        "cannot change roleRef"
    ]
    assert invalid("RoleBinding", G, "rb", errs).message == (
        'RoleBinding.rbac.authorization.k8s.io "rb" is invalid: roleRef: Invalid value: '
        'rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"edit"}: cannot change roleRef'
    )


def test_self_subject_access_review_needs_exactly_one_attribute_set() -> None:
    kubectl_can_i = {
        "spec": {
            "resourceAttributes": {
                "namespace": "default",
                "verb": "create",
                "group": "apps",
                "resource": "deployments",
            }
        }
    }
    assert validate_self_subject_access_review(kubectl_can_i, None) == []
    neither: dict[str, Any] = {"spec": {}}
    assert [e.error() for e in validate_self_subject_access_review(neither, None)] == [
        "spec.resourceAttributes: Invalid value: (*authorization.NonResourceAttributes)(nil): "
        "exactly one of nonResourceAttributes or resourceAttributes must be specified"
    ]
    both = {
        "spec": {
            "resourceAttributes": {"verb": "get"},
            "nonResourceAttributes": {"path": "/x", "verb": "get"},
        }
    }
    assert [e.error() for e in validate_self_subject_access_review(both, None)] == [
        'spec.nonResourceAttributes: Invalid value: &authorization.NonResourceAttributes{Path:"/x", Verb:"get"}: '
        "cannot be specified in combination with resourceAttributes"
    ]


def test_self_subject_access_review_metadata_must_be_empty() -> None:
    review = {
        "metadata": {"name": "x", "managedFields": []},
        "spec": {"nonResourceAttributes": {"path": "/", "verb": "get"}},
    }
    assert [e.field for e in validate_self_subject_access_review(review, None)] == ["metadata"]
    review["metadata"] = {"creationTimestamp": None}
    assert validate_self_subject_access_review(review, None) == []
