"""Cache indexes shared by controllers (client-go's ``Indexers``; kube's ``controller_utils.go``).

``CONTROLLER_UID`` files every object under its namespace and the UID of its controller (the
ownerReference with ``controller: true``), and an object without one under ``orphan_key(namespace)``.
The namespace is part of the value because an ownerReference can only name an owner of its own
namespace: a pod elsewhere naming the same UID is not the owner's (kube filters those out). With it, "the pods
this ReplicaSet controls, plus the orphans it might adopt" is two dictionary lookups instead of a walk
over every pod of the namespace (kube's ``FilterPodsByOwner`` with ``includeOrphanedPods``). That walk
made each ReplicaSet sync O(pods in the namespace), and a rollout O(pods²).

The index is computed from the cached object itself, so it is exactly as current as the cache: an
ownerReference added by an adoption moves the pod from the orphan bucket to its owner's bucket when the
informer sees the patched pod, never before.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.controllers.runtime.types import Lister, Obj

CONTROLLER_UID = "controllerUID"
_ORPHAN = "_ORPHAN_POD"


def controller_of(obj: Obj) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true``, if any (``metav1.GetControllerOf``)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


def orphan_key(namespace: str | None) -> str:
    return f"{_ORPHAN}/{namespace or ''}"


def owned_key(namespace: str | None, uid: str) -> str:
    return f"{namespace or ''}/{uid}"


def controller_uid_index(obj: Obj) -> list[str]:
    namespace = (obj.get("metadata") or {}).get("namespace")
    ref = controller_of(obj)
    if ref is not None and ref.get("uid"):
        return [owned_key(namespace, str(ref["uid"]))]
    return [orphan_key(namespace)]


def controlled_by(lister: Lister, owner: Obj, *, include_orphans: bool) -> list[Obj]:
    """Objects of ``owner``'s namespace it controls (by UID), and the orphans there when asked.

    The result is a new list, in the lister's index order (no particular order for an informer).

    ``lister`` must have the ``CONTROLLER_UID`` index (``lister.add_index(CONTROLLER_UID,
    controller_uid_index)``). Objects of another namespace naming the owner's UID are left out.
    """
    meta = owner.get("metadata") or {}
    namespace = meta.get("namespace")
    out = lister.by_index(CONTROLLER_UID, owned_key(namespace, str(meta.get("uid"))))
    if include_orphans:
        out += lister.by_index(CONTROLLER_UID, orphan_key(namespace))
    return out
