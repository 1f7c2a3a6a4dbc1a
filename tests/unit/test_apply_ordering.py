"""Apply order by tier (stable within a tier), prune order its exact reverse."""

from __future__ import annotations

from ferry.delivery.apply.ordering import apply_order, prune_order, tier_of

KINDS = [
    "Ingress",
    "Widget",
    "Deployment",
    "ConfigMap",
    "Service",
    "RoleBinding",
    "Secret",
    "CustomResourceDefinition",
    "ServiceAccount",
    "Namespace",
    "Job",
]


def test_tiers_follow_dependencies() -> None:
    assert apply_order(KINDS, str) == [
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "RoleBinding",
        "Secret",
        "ConfigMap",
        "Service",
        "Deployment",
        "Job",
        "Ingress",
        "Widget",
    ]


def test_rendered_order_is_kept_within_a_kind() -> None:
    items = [("ConfigMap", "b"), ("Namespace", "n"), ("ConfigMap", "a"), ("Widget", "z"), ("Gadget", "y")]
    assert apply_order(items, lambda i: i[0]) == [
        ("Namespace", "n"),
        ("ConfigMap", "b"),
        ("ConfigMap", "a"),
        ("Widget", "z"),
        ("Gadget", "y"),
    ]


def test_prune_is_the_reverse() -> None:
    assert prune_order(KINDS, str) == list(reversed(apply_order(KINDS, str)))
    assert prune_order(KINDS, str)[-1] == "Namespace"


def test_tier_names() -> None:
    assert [
        tier_of(k) for k in ("Namespace", "Role", "Secret", "Service", "StatefulSet", "Ingress", "Widget")
    ] == [
        "namespaces",
        "policy",
        "config",
        "services",
        "workloads",
        "ingress",
        "rest",
    ]
