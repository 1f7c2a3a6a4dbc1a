"""DELETE semantics: options, preconditions, graceful deletion, finalizers and propagation policy.

Following ``apiserver/pkg/registry/generic/registry/store.go``:

1. Preconditions (``preconditions.uid`` / ``.resourceVersion``) must match, else 409 Conflict.
2. The propagation policy comes from ``propagationPolicy``, else the legacy ``orphanDependents``, else the
   object's existing finalizers, else the kind's default (Background). ``Foreground`` adds the
   ``foregroundDeletion`` finalizer, ``Orphan`` the ``orphan`` finalizer; the garbage collector removes them.
3. Graceful deletion applies to Pods that are bound to a node and not terminal: ``deletionTimestamp =
   now + grace`` and ``deletionGracePeriodSeconds = grace`` (grace from the options, else the pod's
   ``terminationGracePeriodSeconds``); a later DELETE can only shorten it. The kubelet finishes the delete.
4. An object with finalizers is only marked (``deletionTimestamp`` + ``deletionGracePeriodSeconds: 0``);
   the update that removes the last finalizer deletes it (see storage.py).
5. Otherwise the object is removed now and watchers see ``DELETED``.

Namespaces are special: deletion sets ``status.phase: Terminating`` and waits for ``spec.finalizers``
(``kubernetes``) to be cleared through ``/finalize`` by the namespace controller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ferry.cluster.apiserver import errors
from ferry.cluster.apiserver.objects import meta, now_utc, rfc3339
from ferry.cluster.apiserver.storage import MAX_UPDATE_RETRIES, Storage, WriteResult, dump_object
from ferry.cluster.resources.types import Obj, ResourceType
from ferry.cluster.store import KeyNotFound, RevisionConflict

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
POLICIES = ("Background", "Foreground", "Orphan")


@dataclass
class DeleteOptions:
    propagation_policy: str | None = None
    grace_period_seconds: int | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    orphan_dependents: bool | None = None
    dry_run: bool = False

    @classmethod
    def parse(cls, body: Any, query: dict[str, str]) -> DeleteOptions:
        opts = cls()
        if isinstance(body, dict):
            pp = body.get("propagationPolicy")
            gp = body.get("gracePeriodSeconds")
            pre = body.get("preconditions") or {}
            opts.propagation_policy = pp if isinstance(pp, str) and pp else None
            opts.grace_period_seconds = gp if isinstance(gp, int) and not isinstance(gp, bool) else None
            if isinstance(pre, dict):
                opts.precondition_uid = pre.get("uid") or None
                opts.precondition_rv = pre.get("resourceVersion") or None
            od = body.get("orphanDependents")
            opts.orphan_dependents = od if isinstance(od, bool) else None
            dr = body.get("dryRun")
            if isinstance(dr, list) and "All" in dr:
                opts.dry_run = True
        if "propagationPolicy" in query:
            opts.propagation_policy = query["propagationPolicy"]
        if "gracePeriodSeconds" in query:
            try:
                opts.grace_period_seconds = int(query["gracePeriodSeconds"])
            except ValueError:
                raise errors.bad_request(f'invalid gracePeriodSeconds "{query["gracePeriodSeconds"]}"')
        if "orphanDependents" in query:
            opts.orphan_dependents = query["orphanDependents"] == "true"
        if query.get("dryRun") == "All":
            opts.dry_run = True
        if opts.propagation_policy is not None and opts.propagation_policy not in POLICIES:
            raise errors.invalid(
                "DeleteOptions",
                "",
                "",
                [errors.not_supported("propagationPolicy", opts.propagation_policy, list(POLICIES))],
            )
        if opts.propagation_policy is not None and opts.orphan_dependents is not None:
            raise errors.invalid(
                "DeleteOptions",
                "",
                "",
                [
                    errors.invalid_value(
                        "propagationPolicy",
                        opts.propagation_policy,
                        "orphanDependents and deletionPropagation cannot be both set",
                    )
                ],
            )
        if opts.grace_period_seconds is not None and opts.grace_period_seconds < 0:
            opts.grace_period_seconds = 1
        return opts


def _grace_period(rt: ResourceType, obj: Obj, opts: DeleteOptions) -> int:
    """Seconds of graceful deletion (0 = none), as the pod strategy's CheckGracefulDelete decides."""
    if not (rt.group == "" and rt.kind == "Pod"):
        return 0
    spec = obj.get("spec") or {}
    phase = (obj.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    if opts.grace_period_seconds is not None:
        return opts.grace_period_seconds
    tgps = spec.get("terminationGracePeriodSeconds")
    return int(tgps) if isinstance(tgps, int) else 30


def _finalizers_for(policy: str | None, orphan_dependents: bool | None, current: list[str]) -> list[str]:
    out = (
        [f for f in current if f not in (FOREGROUND, ORPHAN)]
        if policy or orphan_dependents is not None
        else list(current)
    )
    if policy == "Foreground":
        out.append(FOREGROUND)
    elif policy == "Orphan" or (policy is None and orphan_dependents is True):
        out.append(ORPHAN)
    return out


async def delete_object(
    storage: Storage, rt: ResourceType, namespace: str | None, name: str, opts: DeleteOptions
) -> tuple[WriteResult, bool]:
    """Delete one object. Returns (result, deleted_now)."""
    storage.admission.check_delete(rt, name)
    for _ in range(MAX_UPDATE_RETRIES):
        entry = storage.get(rt, namespace, name)
        obj = entry.obj()
        m = meta(obj)
        if opts.precondition_uid and opts.precondition_uid != m.get("uid"):
            raise errors.conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: UID in precondition: {opts.precondition_uid}, UID in object meta: {m.get('uid', '')}",
            )
        if opts.precondition_rv and opts.precondition_rv != str(entry.rev):
            raise errors.conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: ResourceVersion in precondition: {opts.precondition_rv}, "
                f"ResourceVersion in meta: {entry.rev}",
            )
        finalizers = [f for f in (m.get("finalizers") or []) if isinstance(f, str)]
        new_finalizers = _finalizers_for(opts.propagation_policy, opts.orphan_dependents, finalizers)
        grace = _grace_period(rt, obj, opts)
        is_namespace = rt.group == "" and rt.kind == "Namespace"
        pending = (
            bool(new_finalizers)
            or grace > 0
            or (is_namespace and bool((obj.get("spec") or {}).get("finalizers")))
        )
        if not pending:
            if opts.dry_run:
                return WriteResult(obj, entry.raw), True
            try:
                gone = await storage.store.delete(entry.key, expected_rev=entry.rev)
            except RevisionConflict:
                continue
            except KeyNotFound:
                raise errors.not_found(rt.plural, rt.group, name)
            storage.admission.release(rt, obj)
            return WriteResult(None, gone.raw), True
        now = now_utc()
        changed = False
        if new_finalizers != finalizers:
            m["finalizers"] = new_finalizers
            changed = True
        if grace > 0:
            deadline = now + dt.timedelta(seconds=grace)
            current = m.get("deletionTimestamp")
            if not current or rfc3339(deadline) < current:
                m["deletionTimestamp"] = rfc3339(deadline)
                m["deletionGracePeriodSeconds"] = grace
                changed = True
        elif not m.get("deletionTimestamp"):
            m["deletionTimestamp"] = rfc3339(now)
            m["deletionGracePeriodSeconds"] = 0
            changed = True
        if is_namespace and (obj.get("status") or {}).get("phase") != "Terminating":
            obj.setdefault("status", {})["phase"] = "Terminating"
            changed = True
        if changed and rt.generation_keys is not None and m.get("generation"):
            m["generation"] = int(m["generation"]) + 1
        if not changed or opts.dry_run:
            return WriteResult(obj, entry.raw if not changed else dump_object(obj)), False
        try:
            updated = await storage.store.update(entry.key, obj, expected_rev=entry.rev)
        except RevisionConflict:
            continue
        except KeyNotFound:
            raise errors.not_found(rt.plural, rt.group, name)
        return WriteResult(None, updated.raw), False
    raise errors.conflict(rt.plural, rt.group, name)
