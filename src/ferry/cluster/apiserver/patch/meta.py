"""Patch metadata: one small type tree that drives strategic merge patch *and* server-side apply.

Kubernetes derives the two from different sources, and they disagree on purpose in places:

* **Strategic merge patch** reads Go struct tags: ``patchStrategy`` (``merge``, ``replace``,
  ``retainKeys``) and ``patchMergeKey``. Maps always merge (even ``mapType=atomic`` ones such as
  ``Service.spec.selector``); lists without a strategy are replaced.
* **Server-side apply** reads OpenAPI extensions: ``x-kubernetes-list-type`` (``atomic``/``set``/``map``),
  ``x-kubernetes-list-map-keys``, ``x-kubernetes-map-type`` and atomic structs (``LabelSelector``,
  ``OwnerReference``, ``LocalObjectReference``...). Lists without a list type are atomic.

So each :class:`TypeNode` records both: ``strategy``/``merge_key`` for SMP and ``list_type``/``keys``/
``atomic`` for SSA. Examples where they differ: container ``ports`` merge on ``containerPort`` but are
keyed by ``containerPort``+``protocol`` (with ``protocol`` defaulting to ``TCP`` for the key); pod
``hostIPs`` and Job ``conditions`` merge by key in SMP but are atomic in SSA.

Only fields with non-default behaviour are declared (facts from ``k8s.io/api`` ``types.go``). Any other
field of a struct resolves to :data:`OPEN`: a granular struct whose unknown fields are again ``OPEN`` and
whose lists are atomic and replaced — exactly kube's default for both mechanisms. ``DEDUCED`` is SSA's
schema-less type (custom resources that preserve unknown fields): its keys are map entries, not named
fields, which changes how ``managedFields`` records them (``.`` members).

``always`` marks Go value structs (``spec``, ``template``, ``strategy``...): kube's empty object already
contains them, so an Update that creates them does not own the struct itself, only what is inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STRUCT, MAP, LIST, SCALAR_KIND, DEDUCED_KIND = "struct", "map", "list", "scalar", "deduced"


@dataclass(frozen=True, eq=False)
class TypeNode:
    kind: str = STRUCT
    fields: dict[str, TypeNode] = field(default_factory=dict)
    elem: TypeNode | None = None  # map values / list items
    atomic: bool = False  # SSA: struct or map owned as one leaf
    list_type: str = "atomic"  # SSA: "atomic" | "set" | "map"
    keys: tuple[str, ...] = ()  # SSA list-map keys
    key_defaults: dict[str, Any] = field(default_factory=dict)
    strategy: str = ""  # SMP: "" | "merge" | "replace"
    merge_key: str = ""  # SMP merge key (lists of maps)
    retain_keys: bool = False  # SMP retainKeys (informational: the server honours $retainKeys anywhere)
    always: bool = False  # a Go value struct / non-omitempty list: present whenever its parent is

    def field(self, name: str) -> TypeNode:
        """The type of key ``name`` of an object of this type."""
        if self.kind == STRUCT:
            return self.fields.get(name, OPEN)
        if self.kind == MAP:
            return self.elem or DEDUCED
        return DEDUCED if self.kind == DEDUCED_KIND else OPEN

    def item(self) -> TypeNode:
        return self.elem or DEDUCED

    def names_field(self, name: str) -> bool:
        """True if ``name`` is a struct field (SSA ``FindField``), False for map entries."""
        return self.kind == STRUCT

    def granular(self) -> bool:
        """SSA: does this node own its children separately (vs. one atomic leaf)?"""
        if self.kind == LIST:
            return self.list_type in ("set", "map")
        return self.kind in (STRUCT, MAP, DEDUCED_KIND) and not self.atomic


OPEN = TypeNode()
DEDUCED = TypeNode(kind=DEDUCED_KIND)
SCALAR = TypeNode(kind=SCALAR_KIND)
ATOMIC_STRUCT = TypeNode(atomic=True)
STRING_MAP = TypeNode(kind=MAP, elem=SCALAR)
ATOMIC_MAP = TypeNode(kind=MAP, elem=SCALAR, atomic=True)
LABEL_SELECTOR = ATOMIC_STRUCT


def struct(**fields: TypeNode) -> TypeNode:
    """A granular struct with these declared fields (others resolve to :data:`OPEN`)."""
    return TypeNode(fields=dict(fields))


def value_struct(**fields: TypeNode) -> TypeNode:
    """A Go value (non-pointer) struct: present in kube's empty object, see ``always``."""
    return TypeNode(fields=dict(fields), always=True)


def keyed(
    elem: TypeNode,
    merge_key: str,
    *,
    ssa_keys: tuple[str, ...] | None = None,
    defaults: dict[str, Any] | None = None,
    retain: bool = False,
    smp: bool = True,
    ssa: bool = True,
    always: bool = False,
) -> TypeNode:
    """A list of objects identified by key: SMP ``merge`` on ``merge_key``, SSA ``map`` on ``ssa_keys``."""
    return TypeNode(
        kind=LIST,
        elem=elem,
        list_type="map" if ssa else "atomic",
        keys=(ssa_keys or (merge_key,)) if ssa else (),
        key_defaults=dict(defaults or {}),
        strategy="merge" if smp else "",
        merge_key=merge_key if smp else "",
        retain_keys=retain,
        always=always,
    )


def primitive_set(*, smp: bool = True) -> TypeNode:
    """A list of scalars: SMP union (``merge`` without key), SSA ``set``."""
    return TypeNode(kind=LIST, elem=SCALAR, list_type="set", strategy="merge" if smp else "")


CONDITIONS = keyed(OPEN, "type")
STATUS = value_struct(conditions=CONDITIONS)

OBJECT_META = value_struct(
    labels=STRING_MAP,
    annotations=STRING_MAP,
    finalizers=primitive_set(),
    ownerReferences=keyed(ATOMIC_STRUCT, "uid"),
)

_ENV_VAR = struct(
    valueFrom=struct(
        configMapKeyRef=ATOMIC_STRUCT,
        secretKeyRef=ATOMIC_STRUCT,
        fieldRef=ATOMIC_STRUCT,
        resourceFieldRef=ATOMIC_STRUCT,
        fileKeyRef=ATOMIC_STRUCT,
    )
)
RESOURCES = value_struct(
    limits=STRING_MAP,
    requests=STRING_MAP,
    claims=keyed(OPEN, "name", smp=False),
)
CONTAINER = struct(
    ports=keyed(OPEN, "containerPort", ssa_keys=("containerPort", "protocol"), defaults={"protocol": "TCP"}),
    env=keyed(_ENV_VAR, "name"),
    volumeMounts=keyed(OPEN, "mountPath"),
    volumeDevices=keyed(OPEN, "devicePath"),
    resources=RESOURCES,
)
_AFFINITY = struct(nodeAffinity=struct(requiredDuringSchedulingIgnoredDuringExecution=ATOMIC_STRUCT))
POD_SPEC = value_struct(
    volumes=keyed(OPEN, "name", retain=True),
    initContainers=keyed(CONTAINER, "name"),
    containers=keyed(CONTAINER, "name", always=True),  # json:"containers", no omitempty
    ephemeralContainers=keyed(CONTAINER, "name"),
    imagePullSecrets=keyed(ATOMIC_STRUCT, "name"),
    hostAliases=keyed(OPEN, "ip"),
    topologySpreadConstraints=keyed(
        struct(labelSelector=LABEL_SELECTOR), "topologyKey", ssa_keys=("topologyKey", "whenUnsatisfiable")
    ),
    schedulingGates=keyed(OPEN, "name"),
    resourceClaims=keyed(OPEN, "name", retain=True),
    nodeSelector=ATOMIC_MAP,
    affinity=_AFFINITY,
    overhead=STRING_MAP,
)
POD_STATUS = value_struct(
    conditions=CONDITIONS,
    podIPs=keyed(OPEN, "ip"),
    hostIPs=keyed(OPEN, "ip", ssa=False),
    resourceClaimStatuses=keyed(OPEN, "name", retain=True),
)
POD_TEMPLATE = value_struct(metadata=OBJECT_META, spec=POD_SPEC)
_SELECTED = {"selector": LABEL_SELECTOR, "template": POD_TEMPLATE}
JOB_SPEC = value_struct(**_SELECTED)
SERVICE_SPEC = value_struct(
    ports=keyed(OPEN, "port", ssa_keys=("port", "protocol"), defaults={"protocol": "TCP"}),
    selector=ATOMIC_MAP,
)


def root(*, spec: TypeNode | None = None, status: TypeNode | None = None, **extra: TypeNode) -> TypeNode:
    """A top-level kind: ``metadata`` is always ObjectMeta; ``status`` conditions merge by ``type``."""
    fields: dict[str, TypeNode] = {"metadata": OBJECT_META, **extra}
    if spec is not None:
        fields["spec"] = spec
    fields["status"] = status or STATUS
    return TypeNode(fields=fields)


_DATA = {"data": STRING_MAP, "binaryData": STRING_MAP}
_BUILTIN: dict[tuple[str, str], TypeNode] = {
    ("", "Pod"): root(spec=POD_SPEC, status=POD_STATUS),
    ("", "PodTemplate"): root(template=POD_TEMPLATE),
    ("", "ReplicationController"): root(spec=value_struct(selector=ATOMIC_MAP, template=POD_TEMPLATE)),
    ("", "Service"): root(spec=SERVICE_SPEC),
    ("", "Node"): root(
        spec=value_struct(podCIDRs=primitive_set()),
        status=value_struct(conditions=CONDITIONS, addresses=keyed(OPEN, "type")),
    ),
    ("", "Namespace"): root(spec=value_struct()),
    ("", "ServiceAccount"): root(secrets=keyed(ATOMIC_STRUCT, "name")),
    ("", "Endpoints"): root(),
    ("", "ConfigMap"): root(**_DATA),
    ("", "Secret"): root(data=STRING_MAP, stringData=STRING_MAP),
    ("", "Event"): root(involvedObject=ATOMIC_STRUCT),
    ("", "PersistentVolumeClaim"): root(
        spec=value_struct(dataSource=ATOMIC_STRUCT, selector=LABEL_SELECTOR, resources=RESOURCES)
    ),
    ("", "PersistentVolume"): root(spec=value_struct(nodeAffinity=struct(required=ATOMIC_STRUCT))),
    ("", "LimitRange"): root(spec=value_struct()),
    ("", "ResourceQuota"): root(spec=value_struct(hard=STRING_MAP, scopeSelector=ATOMIC_STRUCT)),
    ("apps", "Deployment"): root(
        spec=value_struct(strategy=TypeNode(always=True, retain_keys=True), **_SELECTED)
    ),
    ("apps", "ReplicaSet"): root(spec=value_struct(**_SELECTED)),
    ("apps", "StatefulSet"): root(spec=value_struct(**_SELECTED)),
    ("apps", "DaemonSet"): root(spec=value_struct(**_SELECTED)),
    ("apps", "ControllerRevision"): root(),
    ("batch", "Job"): root(
        spec=JOB_SPEC,
        status=value_struct(
            conditions=keyed(OPEN, "type", ssa=False),
            uncountedTerminatedPods=struct(
                succeeded=primitive_set(smp=False), failed=primitive_set(smp=False)
            ),
        ),
    ),
    ("batch", "CronJob"): root(
        spec=value_struct(jobTemplate=value_struct(metadata=OBJECT_META, spec=JOB_SPEC))
    ),
    ("networking.k8s.io", "Ingress"): root(spec=value_struct()),
    ("networking.k8s.io", "IngressClass"): root(spec=value_struct()),
    ("networking.k8s.io", "NetworkPolicy"): root(spec=value_struct(podSelector=LABEL_SELECTOR)),
    ("discovery.k8s.io", "EndpointSlice"): root(),
    ("rbac.authorization.k8s.io", "Role"): root(),
    ("rbac.authorization.k8s.io", "ClusterRole"): root(),
    ("rbac.authorization.k8s.io", "RoleBinding"): root(roleRef=ATOMIC_STRUCT),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): root(roleRef=ATOMIC_STRUCT),
    ("policy", "PodDisruptionBudget"): root(
        spec=value_struct(selector=TypeNode(atomic=True, strategy="replace"))
    ),
    ("autoscaling", "HorizontalPodAutoscaler"): root(spec=value_struct()),
    ("autoscaling", "Scale"): root(spec=value_struct()),
    ("coordination.k8s.io", "Lease"): root(spec=value_struct()),
    ("events.k8s.io", "Event"): root(regarding=ATOMIC_STRUCT),
    ("storage.k8s.io", "StorageClass"): root(),
    ("storage.k8s.io", "CSINode"): root(spec=value_struct(drivers=keyed(OPEN, "name"))),
    ("scheduling.k8s.io", "PriorityClass"): root(),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): root(spec=value_struct()),
}
_WEBHOOK = struct(matchConditions=keyed(OPEN, "name"))
for _kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
    _BUILTIN[("admissionregistration.k8s.io", _kind)] = root(webhooks=keyed(_WEBHOOK, "name"))

GENERIC_ROOT = root()


def patch_meta(group: str, kind: str) -> TypeNode | None:
    """The type tree of a built-in kind; ``None`` for anything else (SMP on those is a 415)."""
    return _BUILTIN.get((group, kind))


def schema_meta(schema: dict[str, Any]) -> TypeNode:
    """A TypeNode for a custom resource from its CRD ``openAPIV3Schema`` (SSA list/map types)."""
    node = _from_schema(schema if isinstance(schema, dict) else {})
    fields = dict(node.fields) if node.kind == STRUCT else {}
    fields["metadata"] = OBJECT_META
    return TypeNode(fields=fields)


def _from_schema(schema: dict[str, Any]) -> TypeNode:
    typ = schema.get("type")
    if schema.get("x-kubernetes-int-or-string") or typ in ("string", "integer", "number", "boolean"):
        return SCALAR
    if typ == "array" or "items" in schema:
        items = schema.get("items")
        elem = _from_schema(items) if isinstance(items, dict) else DEDUCED
        list_type = schema.get("x-kubernetes-list-type") or "atomic"
        if list_type == "map":
            keys = tuple(str(k) for k in schema.get("x-kubernetes-list-map-keys") or ())
            props = (items or {}).get("properties") or {}
            defaults = {
                k: props[k]["default"]
                for k in keys
                if isinstance(props.get(k), dict) and "default" in props[k]
            }
            return TypeNode(kind=LIST, elem=elem, list_type="map", keys=keys, key_defaults=defaults)
        return TypeNode(kind=LIST, elem=elem, list_type="set" if list_type == "set" else "atomic")
    atomic = schema.get("x-kubernetes-map-type") == "atomic"
    props = schema.get("properties")
    if isinstance(props, dict) and props:
        fields = {str(k): _from_schema(v) for k, v in props.items() if isinstance(v, dict)}
        if schema.get("x-kubernetes-embedded-resource"):
            fields.setdefault("metadata", OBJECT_META)
        return TypeNode(fields=fields, atomic=atomic)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        return TypeNode(kind=MAP, elem=_from_schema(extra), atomic=atomic)
    if schema.get("x-kubernetes-preserve-unknown-fields") or typ is None:
        return DEDUCED
    return TypeNode(kind=MAP, elem=DEDUCED, atomic=atomic) if typ == "object" else SCALAR
