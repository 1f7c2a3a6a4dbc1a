"""Apps whose pin was deleted from the config repo: prune what they applied, or report them orphaned.

An app exists for the reconciler while the config repo pins its image in a GitOps environment
(``envs/<env>/<service>/pin.yaml``). When that pin goes — its directory removed in a commit, or the service
removed from ``ferry.yaml`` — the app's objects and its status ConfigMap are still in the cluster. Every tick,
``sweep`` lists the status ConfigMaps of each GitOps environment (``ferry.dev/kind=app-status``,
``ferry.dev/environment=<env>``, one LIST per environment) and treats each one whose (environment, service) is
no longer a desired app as an orphan. Level-triggered: a reconciler that was down when the pin was deleted
finds the status at its next start, and one killed half-way finds it again.

What happens depends on the environment's ``sync.prune``, as for an object no longer rendered, and mirrors
Argo CD deleting an Application (https://argo-cd.readthedocs.io/en/stable/user-guide/app_deletion/):

* ``prune: true`` — a cascading delete, as with Argo CD's ``resources-finalizer.argocd.argoproj.io``:
  everything the app's inventory recorded is deleted (the apply engine applying an empty set: reverse tier
  order, background propagation, objects whose uid changed since are left alone), then the inventory
  ConfigMap, then — last, because it is what finds the orphan — the status ConfigMap. A crash at any point is
  repaired by the next tick: every step is idempotent, and the status is still there to find. This holds
  under ``mode: manual`` too: deleting the pin is itself the explicit act, as ``argocd app delete`` is
  (there is no pin left that ``ferry sync`` could sync).
* ``prune: false`` — Argo CD's non-cascading delete leaves the resources and forgets them; ferry leaves
  them too, but keeps reporting them: the status says ``OutOfSync`` with ``message`` ``orphaned: ...`` and
  ``drift`` listing each recorded object as ``<Kind ns/name>: orphaned``, until someone deletes them (then
  the status ConfigMap by hand) or re-pins the app.

An orphan whose status records an operation still run by a live process (a ``ferry sync`` on this host) is
left alone until that process ends. Residual race: a pin re-added while its sweep runs; the next sync of the
re-pinned app re-creates whatever the sweep deleted, so the app converges one tick later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container
from dataclasses import replace

from ferry.delivery.apply import ApplyError, InventoryRef, KubeApi, apply
from ferry.delivery.apply.inventory import read_inventory
from ferry.delivery.apps import app_name
from ferry.delivery.environments import Environment
from ferry.delivery.gitops.status import (
    ENV_LABEL,
    SERVICE_LABEL,
    STATUS_KIND_LABEL,
    AppStatus,
    Operation,
    StatusStore,
    decode,
    status_name,
)

__all__ = ["find_orphans", "remove_orphan", "report_orphan", "sweep"]

log = logging.getLogger("ferry.reconcile")


async def find_orphans(
    api: KubeApi, env: Environment, desired: Container[tuple[str, str]]
) -> list[AppStatus]:
    """The status of every app in ``env`` that is no longer among the ``desired`` (environment, service) keys."""
    rt = await api.resource_type("v1", "ConfigMap")
    labels = {STATUS_KIND_LABEL: "app-status", ENV_LABEL: env.name}
    items, _ = await api.list(rt, env.namespace, labels=labels)
    out = []
    for item in items:
        service = str(((item.get("metadata") or {}).get("labels") or {}).get(SERVICE_LABEL) or "")
        if service and (env.name, service) not in desired:
            out.append(decode(env.name, service, dict(item.get("data") or {})))
    return sorted(out, key=lambda s: s.service)


async def remove_orphan(api: KubeApi, env: Environment, status: AppStatus) -> int:
    """The cascading delete (``prune: true``, module docstring); returns how many objects were deleted."""
    inventory = InventoryRef(app_name(env.name, status.service), env.namespace)
    deleted = 0
    if await read_inventory(api, inventory) is not None:
        result = await apply(api, [], inventory=inventory, prune=True)
        deleted = sum(1 for o in result.objects if o.action == "pruned" and not o.message)
    rt = await api.resource_type("v1", "ConfigMap")
    await api.delete(rt, env.namespace, inventory.name)
    await api.delete(rt, env.namespace, status_name(env.name, status.service))
    return deleted


async def report_orphan(api: KubeApi, env: Environment, status: AppStatus, *, revision: str) -> AppStatus:
    """``prune: false``: mark the status OutOfSync/orphaned, listing what is kept (module docstring)."""
    inventory = await read_inventory(api, InventoryRef(app_name(env.name, status.service), env.namespace))
    kept = tuple(f"{ref}: orphaned" for ref in (inventory.entries if inventory else []))
    message = (
        f"orphaned: {status.service} is no longer pinned in {env.name} (config repo at {revision[:7]}); "
        f"{len(kept)} object(s) kept because sync.prune is off"
    )

    def change(s: AppStatus) -> AppStatus:
        return replace(s, sync="OutOfSync", message=message, drift=kept, operation=None)

    return await StatusStore(api).update(env.name, status.service, env.namespace, change)


async def sweep(
    envs: list[Environment],
    api_for: Callable[[Environment], KubeApi],
    desired: Container[tuple[str, str]],
    *,
    revision: str,
    busy: Callable[[Operation], bool],
) -> bool:
    """One pass over every GitOps environment (module docstring); False when removing an orphan failed
    (logged). An environment whose cluster cannot be listed is only logged: an environment nobody promoted
    to yet may well have no cluster up, and its pinned apps report an unreachable cluster themselves."""
    ok = True
    for env in envs:
        try:
            api = api_for(env)
            orphans = await find_orphans(api, env, desired)
        except ApplyError as exc:  # not a failure of its own: that environment's apps report the cluster
            log.warning("%s: cannot look for deleted apps: %s", env.name, exc)
            continue
        for status in orphans:
            name = f"{env.name}/{status.service}"
            if status.operation is not None and busy(status.operation):
                log.info(
                    "%s: pin deleted, but %s is still syncing it; leaving it", name, status.operation.owner
                )
                continue
            try:
                if env.sync.prune:
                    deleted = await remove_orphan(api, env, status)
                    log.info(
                        "%s: pin deleted from the config repo (at %s): pruned %d object(s), status removed",
                        name,
                        revision[:7],
                        deleted,
                    )
                else:
                    after = await report_orphan(api, env, status, revision=revision)
                    if after.message != status.message:
                        log.warning("%s: %s", name, after.message)
            except ApplyError as exc:
                log.error("%s: pin deleted, but removing the app failed: %s", name, exc)
                ok = False
    return ok
