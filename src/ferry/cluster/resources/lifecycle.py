"""Per-kind ``PrepareForCreate`` / ``PrepareForUpdate``: what the server itself sets or resets.

These are the bits of ``pkg/registry/*/strategy.go`` that are not defaulting or validation: a new Pod's
status is ``Pending`` with its QoS class, a new Namespace is ``Active``, a new Deployment starts with an empty
status, a new CustomResourceDefinition is accepted and established at once (there is no separate
apiextensions controller in the embedded cluster, so the API server plays its part).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ferry.cluster.resources.types import Obj, ResourceType

PrepareCreate = Callable[[Obj], None]


def _containers(pod_spec: Any) -> list[dict[str, Any]]:
    if not isinstance(pod_spec, dict):
        return []
    out = []
    for key in ("initContainers", "containers"):
        for c in pod_spec.get(key) or []:
            if isinstance(c, dict):
                out.append(c)
    return out


def qos_class(pod: Obj) -> str:
    """Guaranteed / Burstable / BestEffort, as ``qos.GetPodQOS`` decides from cpu and memory."""
    from ferry.cluster.resources.quantity import parse_quantity

    def q(v: Any) -> Any:
        try:
            return parse_quantity(str(v))
        except (ValueError, TypeError):
            return None

    containers = _containers(pod.get("spec"))
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req = res.get("requests") or {}
        lim = res.get("limits") or {}
        relevant_req = {k: v for k, v in req.items() if k in ("cpu", "memory") and q(v) not in (None, 0)}
        relevant_lim = {k: v for k, v in lim.items() if k in ("cpu", "memory") and q(v) not in (None, 0)}
        if relevant_req or relevant_lim:
            any_set = True
        if set(relevant_lim) != {"cpu", "memory"}:
            guaranteed = False
            continue
        for k, v in relevant_req.items():
            if q(v) != q(relevant_lim[k]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _pod(obj: Obj) -> None:
    obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj)}


def _namespace(obj: Obj) -> None:
    obj["status"] = {"phase": "Active"}


def _service(obj: Obj) -> None:
    obj["status"] = {"loadBalancer": {}}


def _crd(obj: Obj) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec, dict) else None
    now = obj.get("metadata", {}).get("creationTimestamp")
    obj["status"] = {
        "acceptedNames": dict(names) if isinstance(names, dict) else {},
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "lastTransitionTime": now,
                "reason": "NoConflicts",
                "message": "no conflicts found",
            },
            {
                "type": "Established",
                "status": "True",
                "lastTransitionTime": now,
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
            },
        ],
        "storedVersions": [
            v.get("name") for v in (spec.get("versions") or []) if isinstance(v, dict) and v.get("storage")
        ]
        if isinstance(spec, dict)
        else [],
    }


_PREPARE_CREATE: dict[tuple[str, str], PrepareCreate] = {
    ("", "Pod"): _pod,
    ("", "Namespace"): _namespace,
    ("", "Service"): _service,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}

# Kinds whose client-supplied status is kept on create (the kubelet registers Nodes with their status).
_KEEP_STATUS_ON_CREATE = {("", "Node")}


def prepare_for_create(rt: ResourceType, obj: Obj) -> None:
    hook = _PREPARE_CREATE.get((rt.group, rt.kind))
    if hook is not None:
        hook(obj)
        return
    if rt.status_key and "status" in rt.subresources and (rt.group, rt.kind) not in _KEEP_STATUS_ON_CREATE:
        obj.pop(rt.status_key, None)
        if rt.crd_name is None:
            obj[rt.status_key] = {}


# Service fields the allocator and defaulting filled in: an update that omits them keeps the stored values
# (kube's service REST "patchAllocatedValues"), so a PUT of the original manifest does not try to change them.
_SERVICE_ALLOCATED = ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort")


def prepare_for_update(rt: ResourceType, obj: Obj, old: Obj) -> None:
    """What an update to the main resource may not change, restored from the stored object.

    Status belongs to ``/status`` when the kind has that subresource; a Namespace's ``spec.finalizers``
    belong to ``/finalize``; a Service keeps its allocated addresses unless the update names them.
    """
    if rt.status_key and "status" in rt.subresources:
        if rt.status_key in old:
            obj[rt.status_key] = old[rt.status_key]
        else:
            obj.pop(rt.status_key, None)
    if rt.group == "" and rt.kind == "Namespace":
        old_finalizers = (old.get("spec") or {}).get("finalizers")
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            if old_finalizers is None:
                spec.pop("finalizers", None)
            else:
                spec["finalizers"] = old_finalizers
    if rt.group == "" and rt.kind == "Service":
        old_spec = old.get("spec") or {}
        spec = obj.get("spec")
        if isinstance(spec, dict) and spec.get("type", "ClusterIP") != "ExternalName":
            for key in _SERVICE_ALLOCATED:
                if key not in spec and key in old_spec:
                    spec[key] = old_spec[key]


def prepare_for_status_update(rt: ResourceType, obj: Obj, old: Obj) -> None:
    """A /status write changes only status (and, like kube, annotations; Pods keep their labels too)."""
    new_status = obj.get(rt.status_key or "status")
    new_meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    for k in list(obj):
        if k not in ("metadata", rt.status_key):
            del obj[k]
    for k, v in old.items():
        if k not in ("metadata", rt.status_key):
            obj[k] = v
    meta = dict(old.get("metadata") or {})
    if isinstance(new_meta, dict):
        if "annotations" in new_meta:
            meta["annotations"] = new_meta["annotations"]
        else:
            meta.pop("annotations", None)
        if rt.group == "" and rt.kind == "Pod" and "labels" in new_meta:
            meta["labels"] = new_meta["labels"]
        if "resourceVersion" in new_meta:
            meta["resourceVersion"] = new_meta["resourceVersion"]
    obj["metadata"] = meta
    if new_status is None:
        obj.pop(rt.status_key or "status", None)
    else:
        obj[rt.status_key or "status"] = new_status
