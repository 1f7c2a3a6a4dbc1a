"""The apply engine: server-side apply of one app's rendered objects, with diff, prune, inventory and health.

An *app* is one service in one environment; its objects are the plain dicts a chart renders. The engine:

* ``apply`` / ``diff`` (``engine``) — dry-run every object first (nothing is written if any is invalid),
  then server-side apply in dependency order (``ordering``) with field manager ``ferry``, prune what the
  previous apply recorded (``inventory``) and this one no longer renders, and record the new inventory.
* ``ObjectResult.paths`` (``diff``) — the changed field paths as data, e.g.
  ``spec.template.spec.containers[name=web].image``, for "what will this change do".
* ``health`` / ``read_health`` / ``wait_healthy`` (``health``, rules in ``kstatus``) — per-object kstatus and the app roll-up.
* ``LightkubeApi`` (``lightkube_api``) — the only cluster access, through a kubeconfig; ``KubeApi``
  (``kubeapi``) is the seam the unit tests fake.

Errors form one tree (``errors``), each a one-line message naming the object and the cause.

Usage::

    async with LightkubeApi.connect(ClientConfig(kubeconfig=path, context="sit")) as api:
        plan = await diff(api, rendered.objects, inventory=InventoryRef("sit-web", "sit"))
        result = await apply(api, rendered.objects, inventory=InventoryRef("sit-web", "sit"))
        state = await wait_healthy(api, result.applied, app="sit-web", timeout_seconds=120)
"""

from ferry.delivery.apply.diff import Action, ObjectDiff, changed_paths, normalize
from ferry.delivery.apply.engine import ApplyResult, ObjectResult, apply, diff
from ferry.delivery.apply.errors import (
    ApiRejectedError,
    ApplyError,
    Cause,
    ClusterUnreachableError,
    ConflictError,
    ForbiddenError,
    InvalidObjectError,
    ManifestError,
    TimeoutError_,
    UnknownKindError,
)
from ferry.delivery.apply.health import AppHealth, ObjectHealth, health, read_health, wait_healthy
from ferry.delivery.apply.inventory import InventoryRef
from ferry.delivery.apply.kstatus import HealthStatus, ResourceHealth, resource_health
from ferry.delivery.apply.kubeapi import KubeApi, PodLogApi, ResourceType
from ferry.delivery.apply.lightkube_api import ClientConfig, LightkubeApi
from ferry.delivery.apply.objects import APP_LABEL, MANAGED_BY_LABEL, MANAGER, ObjectRef

__all__ = [
    "APP_LABEL",
    "MANAGED_BY_LABEL",
    "MANAGER",
    "Action",
    "ApiRejectedError",
    "AppHealth",
    "ApplyError",
    "ApplyResult",
    "Cause",
    "ClientConfig",
    "ClusterUnreachableError",
    "ConflictError",
    "ForbiddenError",
    "HealthStatus",
    "InvalidObjectError",
    "InventoryRef",
    "KubeApi",
    "LightkubeApi",
    "ManifestError",
    "ObjectDiff",
    "ObjectHealth",
    "ObjectRef",
    "ObjectResult",
    "PodLogApi",
    "ResourceHealth",
    "ResourceType",
    "TimeoutError_",
    "UnknownKindError",
    "apply",
    "changed_paths",
    "diff",
    "health",
    "normalize",
    "read_health",
    "resource_health",
    "wait_healthy",
]
