"""Apply one app's rendered objects: validate everything, then apply in order, prune, record the inventory.

``apply(api, objects, inventory=InventoryRef(app, namespace))`` runs four phases:

1. **Preflight — a dry-run of ALL objects before any real write.** Each object is labelled
   (``app.kubernetes.io/managed-by: ferry``, ``ferry.dev/app: <app>``), its kind resolved through discovery,
   the live object read, and the object server-side-applied with ``dryRun=All``. Every error is collected
   first (unknown kind, 422 with its causes, 403...) and the first is raised with a count of the others, so
   a set with one invalid object changes *nothing*. The dry-run answers also give the diff (``diff.py``).
   Two kinds of object cannot be dry-run yet and are *deferred* to the real pass: objects in a Namespace
   that this same set creates, and custom resources whose CRD this set installs. They are validated by the
   real apply; if one of them is invalid, the objects before it are already applied. **Residual race:**
   even a clean preflight can be overtaken — a concurrent writer, an admission webhook or a quota that
   answers differently a moment later — so "nothing partially applied" holds for invalid *input*, not for
   a cluster that changes between the dry-run and the write. A retry converges (apply is idempotent).
   An object that exists but that ferry never recorded (made by hand) is adopted: applied and recorded. One
   labelled for *another* ferry app is refused (``ConflictError``): two apps must not fight over an object.
2. **Apply, in tier order** (``ordering.py``): server-side apply, field manager ``ferry``, ``force=True``,
   ``fieldValidation=Strict``. Objects the dry-run found unchanged are not written at all, so a re-apply of
   an unchanged app makes no writes. CRDs are waited on until Established before the next tier.
   *Why force:* ferry is the source of truth for the fields it renders, as Argo CD and Flux are for theirs
   (both apply with force for their own manager). Without force a field once touched by another manager —
   ``kubectl scale``, ``kubectl edit`` — makes every later apply fail with a 409 conflict until a human
   intervenes; with force the rendered value wins and the drift is reverted, which is what GitOps promises.
   Fields ferry does not render stay with whoever owns them (e.g. an HPA's ``replicas`` when the chart omits
   it): force takes only the fields in the applied object.
3. **Prune** (``prune=True``): entries of the previous inventory that are no longer rendered are deleted in
   reverse tier order, with background propagation — unless the live object's uid differs from the recorded
   one (someone re-created it: not ferry's object any more). With ``prune=False`` they are reported as
   ``orphaned`` and stay in the inventory, so a later pruning apply still finds them.
4. **Record the inventory** — only now, after every apply succeeded.

**Crash semantics.** A failure or a crash in phase 1 changes nothing. In phase 2 it leaves some objects
applied and the *old* inventory in place; the retry re-renders, re-applies (idempotent) and prunes against
the old inventory, which is still the truth about what was applied before — so nothing is lost from
pruning's view. The one leak: an object applied for the first time by an apply that then crashed, and no
longer rendered by the next *successful* apply, is in no inventory and is never pruned (it carries the
``ferry.dev/app`` label, so it can be found). A failed delete in phase 3 keeps its entry in the new
inventory, so the next apply retries the prune; the error is raised after the inventory is written.

``diff`` is ``apply(..., dry_run=True)``: phase 1 plus the prune decisions, no writes.

**Plan, then apply** (``apply(..., plan=diff_result)``): a caller that has just shown a diff can hand it to
the apply, which then skips its own phase 1 and reuses the diff's live reads and dry-run answers — one
request per changed object instead of three (GET, dry-run, apply). It is used only when the objects are the
same (a sha256 of the labelled objects) for the same inventory; otherwise the apply runs phase 1 itself.
What this gives up: a change made to the cluster *between* the diff and the apply is not seen by this apply
(an object the diff found unchanged is not written; an object created meanwhile by someone else is not
checked for another app's label), exactly as ``kubectl diff`` followed by ``kubectl apply`` would. The next
diff sees it. The GitOps reconciler does not use it: its drift check and its sync stay separate reads.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ferry.delivery.apply.crds import crd_served_kind, wait_established
from ferry.delivery.apply.diff import Action, ObjectDiff, diff_object
from ferry.delivery.apply.errors import ApplyError, ConflictError, ManifestError, UnknownKindError
from ferry.delivery.apply.inventory import InventoryRef, prune_candidates, read_inventory, write_inventory
from ferry.delivery.apply.kubeapi import KubeApi, ResourceType
from ferry.delivery.apply.objects import APP_LABEL, ObjectRef, labelled, ref_of
from ferry.delivery.apply.ordering import apply_order, prune_order, tier_of

__all__ = ["ApplyResult", "ObjectResult", "apply", "diff"]

T = TypeVar("T")
CONCURRENCY = 8
"""Requests in flight at once within a phase or a tier (order between tiers is kept)."""


@dataclass(frozen=True)
class ObjectResult:
    """What happened (or, in a dry run, would happen) to one object."""

    ref: ObjectRef
    action: Action
    paths: list[str] = field(default_factory=list)
    diff: str = ""
    message: str = ""

    @property
    def tier(self) -> str:
        return tier_of(self.ref.kind)


@dataclass
class _Planned:
    obj: dict[str, Any]
    ref: ObjectRef
    rt: ResourceType | None = None
    deferred: str = ""
    live: dict[str, Any] | None = None
    change: ObjectDiff | None = None


@dataclass(frozen=True)
class _Preflight:
    """A dry run's phase 1, kept on its result for ``apply(..., plan=...)`` (module docstring)."""

    inventory: InventoryRef
    fingerprint: str
    planned: list[_Planned]


@dataclass(frozen=True)
class ApplyResult:
    """Per object, in apply order then prune order. ``writes`` is what changed (or would change)."""

    app: str
    dry_run: bool
    objects: list[ObjectResult]
    inventory_written: bool = False
    preflight: _Preflight | None = field(default=None, repr=False, compare=False)

    @property
    def writes(self) -> list[ObjectResult]:
        return [o for o in self.objects if o.action in ("created", "changed", "pruned")]

    @property
    def applied(self) -> list[ObjectRef]:
        """The rendered objects (with uids once applied): what ``wait_healthy`` should watch."""
        return [o.ref for o in self.objects if o.action in ("created", "changed", "unchanged")]

    def get(self, kind: str, name: str) -> ObjectResult:
        for o in self.objects:
            if o.ref.kind == kind and o.ref.name == name:
                return o
        raise KeyError(f"{kind} {name}")


async def _bounded(aws: Iterable[Awaitable[T]]) -> list[T | BaseException]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(aw: Awaitable[T]) -> T:
        async with gate:
            return await aw

    return await asyncio.gather(*(one(aw) for aw in aws), return_exceptions=True)


def _validate(objects: Sequence[Mapping[str, Any]], inv: InventoryRef) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, str]] = set()
    for index, obj in enumerate(objects):
        if not isinstance(obj, Mapping):
            raise ManifestError(f"object #{index + 1} is not a mapping")
        ref = ref_of(obj)
        if not ref.version or not ref.kind or not ref.name:
            missing = [
                f
                for f, v in (("apiVersion", ref.version), ("kind", ref.kind), ("metadata.name", ref.name))
                if not v
            ]
            raise ManifestError(
                f"object #{index + 1} ({ref.kind or '?'} {ref.name or '?'}) has no {', '.join(missing)}"
            )
        if ref.key in seen:
            raise ManifestError(f"{ref} is rendered twice")
        if ref.kind == "ConfigMap" and ref.name == inv.name:
            raise ManifestError(f"{ref}: the name is reserved for ferry's inventory of app {inv.app}")
        seen.add(ref.key)
        out.append(labelled(obj, app=inv.app))
    return out


def _fingerprint(prepared: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(prepared, sort_keys=True, default=str).encode()).hexdigest()


def _reuse(plan: ApplyResult | None, inventory: InventoryRef, fingerprint: str) -> list[_Planned] | None:
    """The dry run's phase 1 when it was made for these very objects (a copy: the apply mutates it)."""
    pre = plan.preflight if plan is not None and plan.dry_run else None
    if pre is None or pre.inventory != inventory or pre.fingerprint != fingerprint:
        return None
    return copy.deepcopy(pre.planned)


async def _preflight_one(
    api: KubeApi, p: _Planned, *, inv: InventoryRef, crd_kinds: set[tuple[str, str]], new_ns: set[str]
) -> None:
    try:
        p.rt = await api.resource_type(p.ref.api_version, p.ref.kind)
    except UnknownKindError:
        if (p.ref.group, p.ref.kind) in crd_kinds:
            p.deferred = "its CRD is installed by this apply"
            return
        raise
    meta = p.obj["metadata"]
    if p.rt.namespaced:
        meta["namespace"] = meta.get("namespace") or inv.namespace
    else:
        meta.pop("namespace", None)
    p.ref = ref_of(p.obj)
    if p.rt.namespaced and p.ref.namespace in new_ns:
        p.deferred = f"namespace {p.ref.namespace} is created by this apply"
        return
    p.live = await api.get(p.rt, p.ref.namespace, p.ref.name)
    owner = str((((p.live or {}).get("metadata") or {}).get("labels") or {}).get(APP_LABEL) or "")
    if owner and owner != inv.app:
        raise ConflictError(
            f"{p.ref}: belongs to ferry app {owner}, not {inv.app}; refusing to take it over",
            code=409,
            reason="OwnedByAnotherApp",
            ref=p.ref,
        )
    would_be = await api.apply(p.rt, p.obj, dry_run=True)
    p.change = diff_object(p.live, would_be, name=f"{p.ref.kind}/{p.ref.name}")


async def _preflight(api: KubeApi, objects: list[dict[str, Any]], inv: InventoryRef) -> list[_Planned]:
    planned = [_Planned(obj, ref_of(obj)) for obj in apply_order(objects, lambda o: str(o.get("kind")))]
    crd_kinds = {crd_served_kind(p.obj) for p in planned if p.ref.kind == "CustomResourceDefinition"}
    rendered_ns = [p.ref.name for p in planned if p.ref.kind == "Namespace" and not p.ref.group]
    new_ns: set[str] = set()
    if rendered_ns:
        ns_rt = await api.resource_type("v1", "Namespace")
        found = await _bounded(api.get(ns_rt, "", name) for name in rendered_ns)
        for name, live in zip(rendered_ns, found, strict=True):
            if isinstance(live, BaseException):
                raise live
            if live is None:
                new_ns.add(name)
    outcomes = await _bounded(
        _preflight_one(api, p, inv=inv, crd_kinds=crd_kinds, new_ns=new_ns) for p in planned
    )
    errors = [e for e in outcomes if isinstance(e, BaseException)]
    for e in errors:
        if not isinstance(e, ApplyError):
            raise e
    if errors:
        first = errors[0]
        if len(errors) > 1:
            first.args = (f"{first} (and {len(errors) - 1} more invalid objects; nothing was applied)",)
        else:
            first.args = (f"{first} (nothing was applied)",)
        raise first
    return planned


async def _apply_one(api: KubeApi, p: _Planned, *, crd_timeout_seconds: float) -> ObjectResult:
    name = f"{p.ref.kind}/{p.ref.name}"
    if p.change is not None and p.change.action == "unchanged":
        return ObjectResult(
            p.ref.with_uid(str(((p.live or {}).get("metadata") or {}).get("uid") or "")), "unchanged"
        )
    if p.rt is None:  # deferred until its CRD was established
        p.rt = await api.resource_type(p.ref.api_version, p.ref.kind)
        if p.rt.namespaced:
            p.obj["metadata"]["namespace"] = p.obj["metadata"].get("namespace") or p.ref.namespace
        p.ref = ref_of(p.obj)
    if p.change is None:
        p.live = await api.get(p.rt, p.ref.namespace, p.ref.name)
    result = await api.apply(p.rt, p.obj, dry_run=False)
    change = p.change or diff_object(p.live, result, name=name)
    if p.ref.kind == "CustomResourceDefinition":
        await wait_established(api, p.ref.name, timeout_seconds=crd_timeout_seconds)
    uid = str((result.get("metadata") or {}).get("uid") or "")
    return ObjectResult(
        p.ref.with_uid(uid),
        change.action,
        change.paths,
        change.text,
        p.deferred and f"deferred: {p.deferred}",
    )


async def _prune_one(
    api: KubeApi, entry: ObjectRef, *, dry_run: bool, prune: bool
) -> tuple[ObjectResult, bool]:
    """The result and whether the entry stays in the inventory."""
    try:
        rt = await api.resource_type(entry.api_version, entry.kind)
    except UnknownKindError:
        return ObjectResult(entry, "pruned", message="its kind is no longer served (already gone)"), False
    live = await api.get(rt, entry.namespace if rt.namespaced else "", entry.name)
    if live is None:
        return ObjectResult(entry, "pruned", message="already deleted"), False
    uid = str((live.get("metadata") or {}).get("uid") or "")
    if entry.uid and uid and uid != entry.uid:
        return ObjectResult(
            entry, "orphaned", message="re-created by someone else since (uid differs); left alone"
        ), False
    if not prune:
        return ObjectResult(entry, "orphaned", message="no longer rendered; kept because prune is off"), True
    if not dry_run:
        await api.delete(rt, entry.namespace if rt.namespaced else "", entry.name)
    return ObjectResult(entry, "pruned"), False


async def apply(
    api: KubeApi,
    objects: Sequence[Mapping[str, Any]],
    *,
    inventory: InventoryRef,
    dry_run: bool = False,
    prune: bool = True,
    crd_timeout_seconds: float = 60.0,
    plan: ApplyResult | None = None,
) -> ApplyResult:
    """Apply (or with ``dry_run`` plan) one app's objects; see the module docstring for the phases.
    ``plan``: the result of a ``diff`` of the same objects just before, whose phase 1 is reused."""
    prepared = _validate(objects, inventory)
    fingerprint = _fingerprint(prepared) if dry_run or plan is not None else ""
    reused = None if dry_run else _reuse(plan, inventory, fingerprint)
    planned = reused if reused is not None else await _preflight(api, prepared, inventory)
    kept_plan = _Preflight(inventory, fingerprint, planned) if dry_run else None  # not mutated by a dry run
    previous = await read_inventory(api, inventory)
    candidates = prune_order(
        prune_candidates(previous.entries if previous else [], (p.ref.key for p in planned), inv=inventory),
        lambda e: e.kind,
    )
    results: list[ObjectResult] = []
    if dry_run:
        for p in planned:
            if p.change is None:
                results.append(ObjectResult(p.ref, "created", message=f"not dry-run: {p.deferred}"))
            else:
                results.append(ObjectResult(p.ref, p.change.action, p.change.paths, p.change.text))
        for entry in candidates:
            results.append((await _prune_one(api, entry, dry_run=True, prune=prune))[0])
        return ApplyResult(inventory.app, True, results, preflight=kept_plan)

    tiers: dict[str, list[_Planned]] = {}
    for p in planned:
        tiers.setdefault(tier_of(p.ref.kind), []).append(p)
    for group in tiers.values():
        outcomes = await _bounded(_apply_one(api, p, crd_timeout_seconds=crd_timeout_seconds) for p in group)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            results.append(outcome)
        if any(p.ref.kind == "CustomResourceDefinition" for p in group):
            api.forget_discovery()  # the Established CRDs' kinds are served now

    kept: list[ObjectRef] = []
    prune_error: BaseException | None = None
    for entry in candidates:
        try:
            result, keep = await _prune_one(api, entry, dry_run=False, prune=prune)
        except ApplyError as exc:
            prune_error = prune_error or exc
            kept.append(entry)
            continue
        results.append(result)
        if keep:
            kept.append(entry)
    recorded = [o.ref for o in results if o.action in ("created", "changed", "unchanged")] + kept
    try:
        written = await write_inventory(api, inventory, recorded, previous=previous)
    except ConflictError as exc:
        raise ConflictError(
            f"{inventory.ref}: another apply of app {inventory.app} recorded its inventory meanwhile; "
            "re-run to reconcile",
            code=409,
            reason=exc.reason,
            ref=inventory.ref,
        ) from exc
    if prune_error is not None:
        raise prune_error
    return ApplyResult(inventory.app, False, results, written)


async def diff(
    api: KubeApi, objects: Sequence[Mapping[str, Any]], *, inventory: InventoryRef, prune: bool = True
) -> ApplyResult:
    """What ``apply`` would do: a dry-run of every object, compared with live state, and the prune decisions."""
    return await apply(api, objects, inventory=inventory, dry_run=True, prune=prune)
