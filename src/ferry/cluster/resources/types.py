"""What the API server needs to know about one kind: its names, scope, and per-kind strategies.

A :class:`ResourceType` is the registry entry the generic REST machinery dispatches on
(``pkg/registry/<group>/<kind>/strategy.go`` in kube-apiserver). Everything kind-specific hangs
off it as a plain function so the generic handlers stay free of per-kind branches:

* ``default(obj)``               mutate in place, applied on every write (create, update, patch, apply)
* ``validate(obj, old)``         list of FieldErrors; ``old`` is ``None`` on create
* ``columns`` + ``row(obj, now)`` server-side Table printing (``kubectl get``)
* ``fields(obj)``                field-selector labels this kind supports (beyond metadata.name/namespace)
* ``status`` / ``scale``         subresource strategies

Objects are plain JSON dicts (``Obj``) throughout: that is what is stored and what goes on the wire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ferry.cluster.apiserver.errors import FieldError

Obj = dict[str, Any]

Defaulter = Callable[[Obj], None]
Validator = Callable[[Obj, "Obj | None"], list[FieldError]]
RowPrinter = Callable[[Obj, datetime], list[Any]]
FieldExtractor = Callable[[Obj], dict[str, str]]

ALL_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)


@dataclass(frozen=True)
class Column:
    """A Table ``columnDefinition``; ``priority=1`` columns appear only with ``-o wide``."""

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class ScaleSpec:
    """How ``/scale`` maps onto the object (autoscaling/v1 Scale)."""

    spec_replicas: tuple[str, ...] = ("spec", "replicas")
    status_replicas: tuple[str, ...] = ("status", "replicas")
    # Label selector path: a metav1.LabelSelector (apps) or, for CRDs, a string path.
    selector: tuple[str, ...] = ("spec", "selector")
    selector_is_string: bool = False


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    # Subresources served besides the main resource, e.g. ("status", "scale").
    subresources: tuple[str, ...] = ()
    default: Defaulter | None = None
    validate: Validator | None = None
    columns: tuple[Column, ...] = ()
    row: RowPrinter | None = None
    fields: FieldExtractor | None = None
    # Field-selector keys accepted for this kind (metadata.name / metadata.namespace always are).
    field_labels: tuple[str, ...] = ()
    # metadata.generation: None = the kind has none (ConfigMap, Secret...); otherwise the top-level
    # keys whose change bumps it (Deployment: spec and metadata.annotations, see k8s-semantics §0).
    generation_keys: tuple[str, ...] | None = None
    bump_generation_on_annotations: bool = False
    # Top-level keys a write to the main resource may not change (status is owned by /status).
    status_key: str | None = "status"
    scale: ScaleSpec | None = None
    # Top-level keys that are immutable after creation (besides metadata), e.g. ("data",) when immutable.
    # Set for CRD-served kinds: the CustomResourceDefinition that serves them.
    crd_name: str | None = None
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    # Whether ``spec.*`` updates are allowed at all (e.g. ControllerRevision data is immutable).

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def store_prefix(self, namespace: str | None = None) -> str:
        """Store key prefix: ``/<group or core>/<plural>/`` (+ ``<namespace>/``)."""
        g = self.group or "core"
        base = f"/{g}/{self.plural}/"
        if self.namespaced and namespace:
            return f"{base}{namespace}/"
        return base

    def store_key(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"{self.store_prefix(namespace)}{name}"
        return f"{self.store_prefix()}{name}"
