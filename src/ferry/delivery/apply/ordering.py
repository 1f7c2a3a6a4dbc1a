"""The order objects are applied in, and the reverse order they are pruned in.

Dependencies between kinds are implicit in Kubernetes: a namespaced object needs its Namespace (404 otherwise),
a custom resource needs its CRD to be *Established* (the API serves no path until then), a Pod template
referencing a ServiceAccount or a ConfigMap starts faster when they exist, a Service should exist before the
workloads whose clients resolve it, and an Ingress references Services. So objects are grouped into tiers —

    namespaces → CRDs → cluster policy and RBAC → config and storage → Services → workloads → Ingress → the rest

— the same partition Helm's ``InstallOrder`` and Argo CD's sync waves converge on. Within a tier the rendered
order is kept (a stable sort), so a chart author's ordering still means something. Custom resources land in
"the rest", after everything that could serve them. Prune goes the other way (Ingress before the Services it
routes to, workloads before their ConfigMaps, namespaces last), so nothing is left routing to a deleted backend.

Kind names are matched without the API group: an ``Ingress`` is an Ingress whether it comes from
``networking.k8s.io`` or ``extensions``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["TIERS", "apply_order", "prune_order", "tier_of"]

T = TypeVar("T")

TIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("namespaces", ("Namespace",)),
    ("crds", ("CustomResourceDefinition",)),
    (
        "policy",
        (
            "ResourceQuota",
            "LimitRange",
            "PriorityClass",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
        ),
    ),
    (
        "config",
        ("Secret", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim"),
    ),
    ("services", ("Service", "Endpoints", "EndpointSlice")),
    (
        "workloads",
        (
            "Pod",
            "ReplicaSet",
            "ReplicationController",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "Job",
            "CronJob",
            "HorizontalPodAutoscaler",
        ),
    ),
    ("ingress", ("IngressClass", "Ingress")),
)

_RANK: dict[str, tuple[int, int]] = {
    kind: (tier, position) for tier, (_, kinds) in enumerate(TIERS) for position, kind in enumerate(kinds)
}
_REST = (len(TIERS), 0)


def tier_of(kind: str) -> str:
    """The tier name of ``kind`` ("rest" for kinds not listed, custom resources included)."""
    rank = _RANK.get(kind)
    return TIERS[rank[0]][0] if rank is not None else "rest"


def apply_order(items: Iterable[T], kind: Callable[[T], str]) -> list[T]:
    """``items`` sorted by tier, then by position in the tier, keeping the given order among equals."""
    return sorted(items, key=lambda item: _RANK.get(kind(item), _REST))


def prune_order(items: Iterable[T], kind: Callable[[T], str]) -> list[T]:
    """The exact reverse of ``apply_order``: the rest first, namespaces last."""
    return list(reversed(apply_order(items, kind)))
