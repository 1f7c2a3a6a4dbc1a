"""Typed reads of the Deployment, ReplicaSet and Pod fields the controller uses, with kube's defaults.

Objects are plain JSON dicts straight from the informer cache. Go reads ``*rs.Spec.Replicas`` and
``rs.Status.AvailableReplicas``: a pointer the API server always defaults, and ints whose zero value
is omitted on the wire. These helpers give the same answers for a dict where such a field is
missing, so the rest of the package never spells ``.get("spec", {}).get(...)`` chains.

Nothing here writes. The error raised for a Deployment the controller cannot work with (an invalid
selector, an unknown strategy) is :class:`DeploymentSyncError`; API failures stay
:class:`~ferry.cluster.controllers.runtime.types.ApiStatusError`. Both make the sync fail, and the
runtime requeues the key with back-off::

    Exception
    ├── ApiStatusError          (runtime.types: a non-2xx answer, with its Status)
    └── DeploymentSyncError     (this package: a Deployment the controller cannot reconcile as is)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ferry.cluster.apiserver.selectors import LabelSelector, SelectorError, label_selector_from_object
from ferry.cluster.controllers.runtime.types import Obj

DEPLOYMENTS = "apps/v1/deployments"
REPLICASETS = "apps/v1/replicasets"
PODS = "v1/pods"

HASH_LABEL = "pod-template-hash"
MAX_INT32 = 2**31 - 1


class DeploymentSyncError(Exception):
    """The Deployment cannot be reconciled as it stands; the sync fails and is retried with back-off."""


# -- metadata -----------------------------------------------------------------------------------------
def meta(obj: Obj) -> dict[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def name(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def namespace(obj: Obj) -> str | None:
    ns = meta(obj).get("namespace")
    return str(ns) if ns else None


def uid(obj: Obj) -> str:
    return str(meta(obj).get("uid", ""))


def generation(obj: Obj) -> int:
    return int(meta(obj).get("generation") or 0)


def labels(obj: Obj) -> dict[str, str]:
    value = meta(obj).get("labels")
    return value if isinstance(value, dict) else {}


def annotations_of(obj: Obj) -> dict[str, str]:
    """The annotations, read-only (an empty dict when there are none)."""
    value = meta(obj).get("annotations")
    return value if isinstance(value, dict) else {}


def mutable_annotations(obj: Obj) -> dict[str, str]:
    """The annotations of a *working copy*, created when missing. Never call this on a cached object."""
    m = obj.setdefault("metadata", {})
    if not isinstance(m.get("annotations"), dict):
        m["annotations"] = {}
    result: dict[str, str] = m["annotations"]
    return result


def being_deleted(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def controller_ref(obj: Obj) -> dict[str, Any] | None:
    """``metav1.GetControllerOf``: the owner reference with ``controller: true``, if any."""
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


def controller_ref_to(d: Obj) -> dict[str, Any]:
    """``metav1.NewControllerRef(d, apps/v1 Deployment)``."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": name(d),
        "uid": uid(d),
        "controller": True,
        "blockOwnerDeletion": True,
    }


# -- time -----------------------------------------------------------------------------------------------
def format_time(when: dt.datetime) -> str:
    """``metav1.Time`` on the wire: RFC 3339, UTC, whole seconds."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_ZERO_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


def creation_key(obj: Obj) -> tuple[dt.datetime, str]:
    """``ReplicaSetsByCreationTimestamp``: older first, ties broken by name (a missing time is oldest)."""
    return (parse_time(meta(obj).get("creationTimestamp")) or _ZERO_TIME, name(obj))


def by_creation(objs: Iterable[Obj], *, newest_first: bool = False) -> list[Obj]:
    return sorted(objs, key=creation_key, reverse=newest_first)


# -- spec and status ------------------------------------------------------------------------------------
def spec(obj: Obj) -> dict[str, Any]:
    s = obj.get("spec")
    return s if isinstance(s, dict) else {}


def status(obj: Obj) -> dict[str, Any]:
    s = obj.get("status")
    return s if isinstance(s, dict) else {}


def replicas(obj: Obj) -> int:
    """``*spec.replicas``; the API defaults a missing value to 1 for Deployments and ReplicaSets."""
    value = spec(obj).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Obj, field: str) -> int:
    return int(status(obj).get(field) or 0)


def min_ready_seconds(obj: Obj) -> int:
    return int(spec(obj).get("minReadySeconds") or 0)


def template(obj: Obj) -> dict[str, Any]:
    t = spec(obj).get("template")
    return t if isinstance(t, dict) else {}


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    """``FilterActiveReplicaSets``: the ReplicaSets with spec.replicas > 0 (None entries dropped)."""
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def present(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None]


def strategy_type(d: Obj) -> str:
    strategy = spec(d).get("strategy")
    value = strategy.get("type") if isinstance(strategy, dict) else None
    return str(value or "RollingUpdate")


def is_rolling_update(d: Obj) -> bool:
    return strategy_type(d) == "RollingUpdate"


def paused(d: Obj) -> bool:
    return spec(d).get("paused") is True


def has_progress_deadline(d: Obj) -> bool:
    value = spec(d).get("progressDeadlineSeconds")
    return value is not None and int(value) != MAX_INT32


def progress_deadline_seconds(d: Obj) -> int:
    return int(spec(d).get("progressDeadlineSeconds") or 0)


def revision_history_limit(d: Obj) -> int | None:
    """The limit, or None when cleanup is off (unset, or MaxInt32)."""
    value = spec(d).get("revisionHistoryLimit")
    if value is None or int(value) == MAX_INT32:
        return None
    return int(value)


def selector_of(d: Obj) -> LabelSelector:
    """``metav1.LabelSelectorAsSelector(d.spec.selector)``."""
    try:
        return label_selector_from_object(spec(d).get("selector"))
    except SelectorError as err:
        raise DeploymentSyncError(
            f"deployment {namespace(d)}/{name(d)} has invalid label selector: {err}"
        ) from err
