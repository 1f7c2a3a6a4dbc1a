"""The catalog: every kind the API server serves, built-in and CRD-defined.

Built-in kinds are declared here once (names, scope, short names, categories, subresources, generation rule);
their strategies come from the concern packages (``defaults``, ``validation``, ``printers``,
``fieldselectors``), joined by ``(group, kind)``. Custom resources are added and removed at run time as
CustomResourceDefinitions are written (``Catalog.set_crd``); discovery and OpenAPI read the catalog on
every request, so a new CRD is served as soon as it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ferry.cluster.resources.types import ALL_VERBS, ResourceType, ScaleSpec

_STATUS = ("status",)
_SCALE = ("scale", "status")


def _rt(
    group: str,
    version: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    sub: tuple[str, ...] = (),
    generation: tuple[str, ...] | None = None,
    annotations_bump: bool = False,
    verbs: tuple[str, ...] = ALL_VERBS,
    status_key: str | None = "status",
    scale: ScaleSpec | None = None,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        subresources=sub,
        generation_keys=generation,
        bump_generation_on_annotations=annotations_bump,
        verbs=verbs,
        status_key=status_key,
        scale=scale,
    )


_ALL = ("all",)
_SPEC = ("spec",)

BUILTIN: tuple[ResourceType, ...] = (
    # core/v1
    _rt("", "v1", "Namespace", "namespaces", namespaced=False, short=("ns",), sub=("status", "finalize")),
    _rt("", "v1", "Node", "nodes", namespaced=False, short=("no",), sub=_STATUS),
    _rt(
        "",
        "v1",
        "Pod",
        "pods",
        short=("po",),
        categories=_ALL,
        sub=("status", "log", "binding", "eviction"),
        generation=_SPEC,
    ),
    _rt("", "v1", "Service", "services", short=("svc",), categories=_ALL, sub=_STATUS),
    _rt("", "v1", "Endpoints", "endpoints", short=("ep",), status_key=None),
    _rt("", "v1", "ConfigMap", "configmaps", short=("cm",), status_key=None),
    _rt("", "v1", "Secret", "secrets", status_key=None),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", short=("sa",), status_key=None),
    _rt("", "v1", "Event", "events", short=("ev",), status_key=None),
    # apps/v1
    _rt(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short=("deploy",),
        categories=_ALL,
        sub=_SCALE,
        generation=_SPEC,
        annotations_bump=True,
        scale=ScaleSpec(),
    ),
    _rt(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        short=("rs",),
        categories=_ALL,
        sub=_SCALE,
        generation=_SPEC,
        scale=ScaleSpec(),
    ),
    _rt(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        short=("sts",),
        categories=_ALL,
        sub=_SCALE,
        generation=_SPEC,
        scale=ScaleSpec(),
    ),
    _rt(
        "apps", "v1", "DaemonSet", "daemonsets", short=("ds",), categories=_ALL, sub=_STATUS, generation=_SPEC
    ),
    _rt("apps", "v1", "ControllerRevision", "controllerrevisions", status_key=None),
    # batch/v1
    _rt("batch", "v1", "Job", "jobs", categories=_ALL, sub=_STATUS, generation=_SPEC),
    # others
    _rt("events.k8s.io", "v1", "Event", "events", short=("ev",), status_key=None),
    _rt("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", status_key=None),
    _rt("networking.k8s.io", "v1", "Ingress", "ingresses", short=("ing",), sub=_STATUS, generation=_SPEC),
    _rt(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        namespaced=False,
        generation=_SPEC,
        status_key=None,
    ),
    _rt("coordination.k8s.io", "v1", "Lease", "leases", status_key=None),
    _rt("rbac.authorization.k8s.io", "v1", "Role", "roles", status_key=None),
    _rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", status_key=None),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False, status_key=None),
    _rt(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
        status_key=None,
    ),
    _rt(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        namespaced=False,
        verbs=("create",),
    ),
    _rt(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short=("crd", "crds"),
        sub=_STATUS,
        generation=_SPEC,
    ),
)

# Group preference order for /apis (kube lists built-in groups in a fixed order).
GROUP_ORDER = [
    "apps",
    "events.k8s.io",
    "authorization.k8s.io",
    "batch",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
]


def _strategies() -> dict[str, dict[tuple[str, str], Any]]:
    """Collect per-kind strategies from the concern packages (imported lazily: they are large)."""
    from ferry.cluster.resources import defaults, fieldselectors, printers, validation

    return {
        "default": defaults.DEFAULTERS,
        "validate": validation.VALIDATORS,
        "printer": printers.PRINTERS,
        "fields": fieldselectors.FIELD_SELECTORS,
    }


def with_strategies(rt: ResourceType, strategies: dict[str, dict[tuple[str, str], Any]]) -> ResourceType:
    key = (rt.group, rt.kind)
    changes: dict[str, Any] = {}
    if key in strategies["default"]:
        changes["default"] = strategies["default"][key]
    if key in strategies["validate"]:
        changes["validate"] = strategies["validate"][key]
    printer = strategies["printer"].get(key)
    if printer is not None:
        changes["columns"], changes["row"] = printer
    fields = strategies["fields"].get(key)
    if fields is not None:
        changes["field_labels"], changes["fields"] = fields
    return replace(rt, **changes) if changes else rt


class Catalog:
    """Lookup of served resources by (group, version, plural) and by kind; CRD kinds come and go."""

    def __init__(self, builtin: Iterable[ResourceType] | None = None) -> None:
        strategies = _strategies()
        self._builtin = [
            with_strategies(rt, strategies) for rt in (builtin if builtin is not None else BUILTIN)
        ]
        self._crd: dict[str, list[ResourceType]] = {}
        self._index()

    def _index(self) -> None:
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str, str], ResourceType] = {}
        self._by_resource: dict[tuple[str, str], ResourceType] = {}
        for rt in self.all():
            self._by_path[(rt.group, rt.version, rt.plural)] = rt
            self._by_kind.setdefault((rt.group, rt.version, rt.kind), rt)
            self._by_resource.setdefault((rt.group, rt.plural), rt)

    def all(self) -> list[ResourceType]:
        out = list(self._builtin)
        for rts in self._crd.values():
            out.extend(rts)
        return out

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, version, kind))

    def for_store_key(self, key: str) -> ResourceType | None:
        """The (preferred-version) type of a stored object's key, ``/<group or core>/<plural>/...``."""
        parts = key.split("/", 3)
        if len(parts) < 4:
            return None
        return self._by_resource.get(("" if parts[1] == "core" else parts[1], parts[2]))

    def group_versions(self) -> dict[str, list[str]]:
        """group -> versions in preference order (core group is "")."""
        out: dict[str, list[str]] = {}
        for rt in self.all():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return out

    def ordered_groups(self) -> list[str]:
        groups = [g for g in self.group_versions() if g]
        known = [g for g in GROUP_ORDER if g in groups]
        return known + sorted(g for g in groups if g not in GROUP_ORDER)

    def resources(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self.all() if rt.group == group and rt.version == version]

    def set_crd(self, name: str, types: list[ResourceType]) -> None:
        if types:
            self._crd[name] = types
        else:
            self._crd.pop(name, None)
        self._index()

    def crd_names(self) -> list[str]:
        return list(self._crd)
