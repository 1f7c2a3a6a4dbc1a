"""What an app (one service in one environment) is doing *now*: the digest it runs, its health, its sync.

The promotion gates and ``ferry status`` ask the same question of every app, through the ``Observer`` seam
(the unit tests pass a fake; ``ClusterObserver`` asks the cluster through the kubeconfig of the environment):

* **digests** — what the live workloads' pod templates run: the ``sha256:`` digests in the images of every
  Deployment, StatefulSet and DaemonSet the app renders (``repository@digest``, as the pin layer writes it).
  "Synced at the digest" for a gate means: every one of them carries it.
* **health** — the apply engine's roll-up (``read_health``) over the objects the app renders at its pin.
* **sync** — ``Synced`` / ``OutOfSync`` / ``Unknown``. Two sources, best first:

  1. the reconciler's per-app status, a ConfigMap ``ferry-app-<env>-<service>`` in the environment's namespace
     (written by ``ferry reconcile``, ``ferry.delivery.gitops.status``). ``reconciler_status`` reads its
     ``sync``, ``digest``, ``message`` and (if present) ``healthySince`` keys, flat in ``data`` or inside a
     JSON document in ``data.status``. A status whose ``digest`` is not the pin's is about an older commit:
     OutOfSync. ``healthySince``, when the reconciler writes it, is when the app became Healthy at its digest.
  2. without it (no reconciler running, or a format this reader does not understand), a **dry-run diff**
     (``ferry.delivery.apply.diff``) of the app rendered at the config repo's pin against the live objects:
     Synced when nothing would be written. This is exactly the reconciler's own test, run once.

Health is always read live, even when the reconciler reports one: a gate must not pass on a status written a
poll interval ago. Races: the three reads are not one snapshot; a rollout that starts between them makes the
app read Progressing or OutOfSync, which refuses a promotion (the safe direction) and the next try passes.

A cluster that cannot be reached, or an app that cannot be rendered, is ``Unknown`` with the reason, never an
exception: ``ferry status`` shows every other cell, and a gate refuses naming that reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ferry.charts import ChartError
from ferry.delivery.apply import (
    ApplyError,
    ClientConfig,
    InventoryRef,
    KubeApi,
    LightkubeApi,
    diff,
    read_health,
)
from ferry.delivery.apply.objects import ref_of
from ferry.delivery.apps import AppError, app_name, client_config, render_app
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.environments import Environment
from ferry.delivery.pins import DIGEST, Pin
from ferry.delivery.platform import Platform
from ferry.delivery.repoerrors import ConfigRepoError

__all__ = [
    "AppState",
    "ClusterObserver",
    "Observer",
    "live_digests",
    "parse_time",
    "reconciler_status",
    "status_configmap_name",
]

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
UNKNOWN = "Unknown"


@dataclass(frozen=True)
class AppState:
    env: str
    service: str
    health: str  # Healthy | Progressing | Degraded | Missing | Suspended | Unknown
    sync: str  # Synced | OutOfSync | Unknown
    digests: tuple[str, ...] = ()  # what the live workloads run
    reason: str = ""  # why it is not Healthy (the deciding object), or why it is Unknown
    sync_reason: str = ""  # why it is OutOfSync: the first object a sync would write
    healthy_since: datetime | None = None  # from the reconciler's status, when it says
    source: str = "live"  # "reconciler" when the sync came from its status ConfigMap

    def runs(self, digest: str) -> bool:
        """True when every live workload runs ``digest`` (and there is at least one)."""
        return bool(self.digests) and all(d == digest for d in self.digests)


class Observer(Protocol):
    async def observe(self, env: Environment, service: str, pin: Pin | None) -> AppState:
        """The app's state now; ``pin`` is what the config repo says it should run (None: never pinned)."""
        ...


def status_configmap_name(env: str, service: str) -> str:
    """The reconciler's per-app status ConfigMap."""
    return f"ferry-app-{app_name(env, service)}"


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 time (``Z`` or an offset), or None when absent or unreadable."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def reconciler_status(configmap: Mapping[str, Any] | None) -> dict[str, str] | None:
    """``{sync, health?, healthySince?}`` from the reconciler's ConfigMap, or None when it says no sync state."""
    if not configmap:
        return None
    data: dict[str, Any] = dict(configmap.get("data") or {})
    if isinstance(data.get("status"), str):
        try:
            nested = json.loads(data["status"])
        except ValueError:
            nested = None
        if isinstance(nested, dict):
            data = {**data, **nested}
    sync = data.get("sync")
    if isinstance(sync, dict):  # {"status": "Synced", ...}
        sync = sync.get("status")
    if sync not in ("Synced", "OutOfSync"):
        return None
    out = {"sync": str(sync)}
    for key in ("health", "healthySince", "digest", "message"):
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("status") if key == "health" else None
        if isinstance(value, str) and value:
            out[key] = value
    return out


def _pinned_digest(objects: Sequence[Mapping[str, Any]]) -> str | None:
    """The digest the rendered workloads pin (the first one found)."""
    found = [d for d in live_digests([o for o in objects if o.get("kind") in WORKLOADS]) if d != "?"]
    return found[0] if found else None


def live_digests(live: Sequence[Mapping[str, Any] | None]) -> tuple[str, ...]:
    """The digest of every container image of the given live workloads (``?`` for one pinned by tag only)."""
    out: list[str] = []
    for obj in live:
        if obj is None:
            continue
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            image = str(container.get("image") or "")
            _, _, tail = image.rpartition("@")
            out.append(tail if DIGEST.fullmatch(tail) else "?")
    return tuple(out)


class ClusterObserver:
    """An ``Observer`` over the environments' clusters (one lightkube client per environment, opened lazily)."""

    def __init__(self, platform: Platform, repo: ConfigRepo | None) -> None:
        self.platform = platform
        self.repo = repo
        self._apis: dict[str, LightkubeApi] = {}

    async def __aenter__(self) -> ClusterObserver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        apis, self._apis = list(self._apis.values()), {}
        for api in apis:
            await api.close()

    def _api(self, env: Environment) -> LightkubeApi:
        if env.name not in self._apis:
            config: ClientConfig = client_config(env)
            self._apis[env.name] = LightkubeApi.connect(config)
        return self._apis[env.name]

    async def observe(self, env: Environment, service: str, pin: Pin | None) -> AppState:
        if pin is None:
            return AppState(env.name, service, "Missing", UNKNOWN, reason=f"nothing is pinned in {env.name}")
        try:
            api = self._api(env)
            app = render_app(self.platform, self.repo, env.name, service, pin=pin)
            return await observe_app(api, app.objects, env=env, service=service, inventory=app.inventory)
        except (ApplyError, ChartError, AppError, ConfigRepoError) as exc:
            return AppState(env.name, service, UNKNOWN, UNKNOWN, reason=str(exc))


async def observe_app(
    api: KubeApi,
    objects: list[dict[str, Any]],
    *,
    env: Environment,
    service: str,
    inventory: InventoryRef,
) -> AppState:
    """One app's state from the cluster behind ``api``, given the objects it should be (see the docstring)."""
    refs = [ref_of(o) for o in objects]
    rolled = await read_health(api, refs)
    workloads = []
    for ref in refs:
        if ref.kind in WORKLOADS:
            rt = await api.resource_type(ref.api_version, ref.kind)
            workloads.append(await api.get(rt, ref.namespace, ref.name))
    digests = live_digests(workloads)
    cm_type = await api.resource_type("v1", "ConfigMap")
    reported = reconciler_status(
        await api.get(cm_type, env.namespace, status_configmap_name(env.name, service))
    )
    detail = ""
    if reported is not None:
        sync, source = reported["sync"], "reconciler"
        since = parse_time(reported.get("healthySince"))
        detail = reported.get("message", "") if sync != "Synced" else ""
        pinned = _pinned_digest(objects)
        if reported.get("digest") and pinned and reported["digest"] != pinned:
            # Its status is about an older commit: it has not synced this pin yet.
            sync, since = "OutOfSync", None
            detail = f"the reconciler has not synced {pinned} yet (its status is for {reported['digest']})"
    else:
        plan = await diff(api, objects, inventory=inventory, prune=env.sync.prune)
        sync, source, since = ("OutOfSync" if plan.writes else "Synced"), "live", None
        if plan.writes:
            first = plan.writes[0]
            detail = f"{first.ref} would be {first.action}"
            if first.paths:
                detail += f" ({', '.join(first.paths[:3])})"
    return AppState(
        env.name,
        service,
        rolled.status.value,
        sync,
        digests,
        reason=rolled.reason,
        sync_reason=detail,
        healthy_since=since,
        source=source,
    )
