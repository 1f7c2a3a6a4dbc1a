"""The app-status store: per app, Synced/OutOfSync, health, the last syncs and the in-flight operation.

One ConfigMap per app, ``ferry-app-<env>-<service>`` in the environment's namespace, labelled
``app.kubernetes.io/managed-by: ferry``, ``ferry.dev/kind: app-status``, ``ferry.dev/environment`` and
``ferry.dev/service`` (so ``kubectl get cm -A -l ferry.dev/kind=app-status`` lists every app). Its ``data``:

=============  =================================================================================================
``sync``       ``Synced`` | ``OutOfSync`` | ``Unknown`` (never compared, or the desired state cannot be rendered)
``health``     ``Healthy`` | ``Progressing`` | ``Degraded`` | ``Missing`` | ``Suspended`` | ``Unknown``
``healthReason`` the object that decided the health, e.g. ``Deployment shop-qa/web: ProgressDeadlineExceeded``
``revision``   the config repo commit where the current desired state (``desiredHash``) was first seen
``tag``/``digest`` the image pin of the last synced desired state (what the cluster should run)
``healthySince`` RFC 3339: since when the app has been Healthy at that digest (``""`` when it is not)
``desiredHash`` sha256 of the rendered objects and the pin at ``revision``
``syncedHash`` / ``syncedRevision`` what the last *successful* sync applied
``message``    why the app is OutOfSync or Unknown, or the last error, one line
``drift``      JSON list of what differs between desired and live (``Deployment shop-qa/web: spec.replicas``)
``operation``  JSON ``{sha, hash, phase, reason, owner, startedAt}`` while a sync runs, else ``""``
``lastSync``   JSON ``{sha, time, result, who, message}`` (result ``Succeeded`` | ``Failed``)
``history``    JSON list of such records, newest first, at most ``HISTORY_LIMIT``
``updatedAt``  RFC 3339, when this object last changed
=============  =================================================================================================

Every value is a string (a ConfigMap's data is), and JSON values are compact with sorted keys.

**In the cluster, not in the reconciler**: the status must be readable by ``ferry status`` from anywhere with a
kubeconfig, and must survive the reconciler (the in-flight ``operation`` is what a restarted reconciler resumes).

**Writes** are read-modify-write with the read's resourceVersion as a precondition: ``update`` re-reads and
re-applies its change on a 409, so a ``ferry sync`` and the reconciler writing one app's status at once never
lose a history entry. An update that changes nothing (``updatedAt`` aside) writes nothing, so a steady
cluster costs one GET per app per interval here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ferry.delivery.apply import MANAGED_BY_LABEL, MANAGER, ConflictError, KubeApi

__all__ = [
    "HISTORY_LIMIT",
    "STATUS_KIND_LABEL",
    "AppStatus",
    "Operation",
    "StatusStore",
    "SyncRecord",
    "decode",
    "encode",
    "ensure_namespace",
    "now",
    "status_name",
]

HISTORY_LIMIT = 10
STATUS_KIND_LABEL = "ferry.dev/kind"
ENV_LABEL = "ferry.dev/environment"
SERVICE_LABEL = "ferry.dev/service"
CONFLICT_RETRIES = 5


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_name(env: str, service: str) -> str:
    return f"ferry-app-{env}-{service}"


@dataclass(frozen=True)
class SyncRecord:
    """One sync: the config repo commit, when, the result, who (the commit's author) and a one-line message."""

    sha: str
    time: str
    result: str  # Succeeded | Failed
    who: str
    message: str = ""


@dataclass(frozen=True)
class Operation:
    """A sync in flight, recorded before its first write (see ``ferry.delivery.gitops.loop`` for resume)."""

    sha: str
    hash: str
    phase: str  # Applying | WaitingHealthy
    reason: str  # new revision | self-heal | ferry sync | resume
    owner: str  # <host>/<pid> of the process running it
    started_at: str


@dataclass(frozen=True)
class AppStatus:
    env: str
    service: str
    sync: str = "Unknown"
    health: str = "Unknown"
    health_reason: str = ""
    healthy_since: str = ""
    revision: str = ""
    tag: str = ""
    digest: str = ""
    desired_hash: str = ""
    synced_hash: str = ""
    synced_revision: str = ""
    message: str = ""
    drift: tuple[str, ...] = ()
    operation: Operation | None = None
    last_sync: SyncRecord | None = None
    history: tuple[SyncRecord, ...] = field(default_factory=tuple)
    updated_at: str = ""

    def with_health(self, health: str, reason: str, digest: str) -> AppStatus:
        """Health now, running ``digest``: ``healthySince`` is kept while both stay the same, else restarts."""
        if health != "Healthy":
            since = ""
        elif self.health == "Healthy" and self.digest == digest and self.healthy_since:
            since = self.healthy_since
        else:
            since = now()
        return replace(self, health=health, health_reason=reason, healthy_since=since, digest=digest)

    def with_sync(self, record: SyncRecord) -> AppStatus:
        """Record a finished sync: ``lastSync`` and the bounded history, newest first."""
        return replace(self, last_sync=record, history=(record, *self.history)[:HISTORY_LIMIT])


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _record(d: Any) -> SyncRecord | None:
    if not isinstance(d, dict):
        return None
    return SyncRecord(
        str(d.get("sha", "")),
        str(d.get("time", "")),
        str(d.get("result", "")),
        str(d.get("who", "")),
        str(d.get("message", "")),
    )


def _record_dict(r: SyncRecord) -> dict[str, str]:
    return {"sha": r.sha, "time": r.time, "result": r.result, "who": r.who, "message": r.message}


def encode(s: AppStatus) -> dict[str, str]:
    """The ConfigMap's ``data`` (the format in the module docstring)."""
    op = s.operation
    return {
        "environment": s.env,
        "service": s.service,
        "sync": s.sync,
        "health": s.health,
        "healthReason": s.health_reason,
        "healthySince": s.healthy_since,
        "revision": s.revision,
        "tag": s.tag,
        "digest": s.digest,
        "desiredHash": s.desired_hash,
        "syncedHash": s.synced_hash,
        "syncedRevision": s.synced_revision,
        "message": s.message,
        "drift": _json(list(s.drift)),
        "operation": ""
        if op is None
        else _json(
            {
                "sha": op.sha,
                "hash": op.hash,
                "phase": op.phase,
                "reason": op.reason,
                "owner": op.owner,
                "startedAt": op.started_at,
            }
        ),
        "lastSync": "" if s.last_sync is None else _json(_record_dict(s.last_sync)),
        "history": _json([_record_dict(r) for r in s.history]),
        "updatedAt": s.updated_at,
    }


def _load(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None  # a hand-edited, broken field reads as absent; the next write repairs it


def decode(env: str, service: str, data: dict[str, Any]) -> AppStatus:
    """Read a status ConfigMap's ``data``; unknown or broken fields read as their defaults."""
    g = {k: str(v) for k, v in data.items()}
    op = _load(g.get("operation", ""))
    drift = _load(g.get("drift", ""))
    history = _load(g.get("history", ""))
    records = [r for r in (_record(h) for h in history or []) if r is not None]
    return AppStatus(
        env=env,
        service=service,
        sync=g.get("sync", "Unknown") or "Unknown",
        health=g.get("health", "Unknown") or "Unknown",
        health_reason=g.get("healthReason", ""),
        healthy_since=g.get("healthySince", ""),
        revision=g.get("revision", ""),
        tag=g.get("tag", ""),
        digest=g.get("digest", ""),
        desired_hash=g.get("desiredHash", ""),
        synced_hash=g.get("syncedHash", ""),
        synced_revision=g.get("syncedRevision", ""),
        message=g.get("message", ""),
        drift=tuple(str(d) for d in drift) if isinstance(drift, list) else (),
        operation=Operation(
            str(op.get("sha", "")),
            str(op.get("hash", "")),
            str(op.get("phase", "")),
            str(op.get("reason", "")),
            str(op.get("owner", "")),
            str(op.get("startedAt", "")),
        )
        if isinstance(op, dict)
        else None,
        last_sync=_record(_load(g.get("lastSync", ""))),
        history=tuple(records[:HISTORY_LIMIT]),
        updated_at=g.get("updatedAt", ""),
    )


async def ensure_namespace(api: KubeApi, namespace: str) -> bool:
    """Create the environment's namespace when it does not exist (labelled managed-by ferry); True if created."""
    rt = await api.resource_type("v1", "Namespace")
    if await api.get(rt, "", namespace) is not None:
        return False
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {MANAGED_BY_LABEL: MANAGER}},
    }
    await api.apply(rt, body, dry_run=False)
    return True


class StatusStore:
    """Reads and updates app status ConfigMaps through one cluster's ``KubeApi``."""

    def __init__(self, api: KubeApi) -> None:
        self.api = api

    async def read(self, env: str, service: str, namespace: str) -> tuple[AppStatus, str]:
        """The status and its resourceVersion (``""`` and a default status when there is none yet)."""
        rt = await self.api.resource_type("v1", "ConfigMap")
        live = await self.api.get(rt, namespace, status_name(env, service))
        if live is None:
            return AppStatus(env, service), ""
        rv = str((live.get("metadata") or {}).get("resourceVersion") or "")
        return decode(env, service, dict(live.get("data") or {})), rv

    async def update(
        self, env: str, service: str, namespace: str, change: Callable[[AppStatus], AppStatus]
    ) -> AppStatus:
        """Apply ``change`` to the current status and write it (precondition: the read's resourceVersion),
        re-reading on a conflict; nothing is written when the change changes nothing."""
        rt = await self.api.resource_type("v1", "ConfigMap")
        for attempt in range(CONFLICT_RETRIES):
            current, rv = await self.read(env, service, namespace)
            new = change(current)
            if rv and encode(replace(new, updated_at="")) == encode(replace(current, updated_at="")):
                return current
            new = replace(new, updated_at=now())
            body: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": status_name(env, service),
                    "namespace": namespace,
                    "labels": {
                        MANAGED_BY_LABEL: MANAGER,
                        STATUS_KIND_LABEL: "app-status",
                        ENV_LABEL: env,
                        SERVICE_LABEL: service,
                    },
                },
                "data": encode(new),
            }
            if rv:
                body["metadata"]["resourceVersion"] = rv
            try:
                await self.api.apply(rt, body, dry_run=False)
            except ConflictError:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                continue
            return new
        raise AssertionError("unreachable")
