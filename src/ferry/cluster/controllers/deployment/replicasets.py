"""New vs old ReplicaSets, revision sync, and creating the new ReplicaSet (§1.3).

**New** = the *oldest* owned ReplicaSet (creationTimestamp, then name) whose template equals the
Deployment's ignoring ``pod-template-hash``; **old** = every other owned one. Only the template
decides: replicas, strategy, minReadySeconds, paused and the deadlines never create a ReplicaSet.

``get_all_replica_sets_and_sync_revision`` runs on every path of a sync:

* existing new RS: copy the Deployment's annotations and raise its revision to max(old) + 1 if
  lower. If that or minReadySeconds changed, Update the RS and stop there (its watch event brings
  the next sync). Otherwise the Deployment's revision annotation takes the RS's value, and a
  Deployment with a deadline but no Progressing condition yet gets ``FoundNewReplicaSet``.
* no new RS and ``create``: build ``<deployment>-<hash>`` (labels and selector += the hash label,
  controller ref, minReadySeconds, annotations) at ``new_rs_new_replicas`` and create it.

**Races on create.** AlreadyExists means either our own earlier create (a stale cache, or a restart
after the create but before anything else): the existing RS is ours and has our template, so it is
used. Or a real hash collision with some other RS of that name: ``status.collisionCount`` is
incremented (nil → 1) through /status and the sync fails; the retry hashes with the new count and
so picks a new name. The name is a function of (template, collisionCount), which is what makes a
crash between "create RS" and "record it" harmless.
"""

from __future__ import annotations

import copy

from ferry.cluster.controllers.deployment.accessors import (
    HASH_LABEL,
    REPLICASETS,
    annotations_of,
    by_creation,
    controller_ref,
    controller_ref_to,
    has_progress_deadline,
    min_ready_seconds,
    name,
    namespace,
    spec,
    status,
    template,
    uid,
)
from ferry.cluster.controllers.deployment.annotations import (
    REVISION,
    max_revision,
    set_deployment_revision,
    set_new_rs_annotations,
)
from ferry.cluster.controllers.deployment.conditions import (
    FAILED_RS_CREATE,
    FOUND_NEW_RS,
    NEW_RS_CREATED,
    PROGRESSING,
    get_condition,
    new_condition,
    set_condition,
)
from ferry.cluster.controllers.deployment.fenceposts import new_rs_new_replicas
from ferry.cluster.controllers.deployment.hashing import compute_hash, equal_ignore_hash
from ferry.cluster.controllers.deployment.state import NORMAL, SCALING_REPLICA_SET, WARNING, SyncState
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj

NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


def find_new_replica_set(d: Obj, rs_list: list[Obj]) -> Obj | None:
    """``FindNewReplicaSet``: the oldest RS whose template equals the Deployment's (hash ignored)."""
    for rs in by_creation(rs_list):
        if equal_ignore_hash(template(rs), template(d)):
            return rs
    return None


def find_old_replica_sets(d: Obj, rs_list: list[Obj]) -> list[Obj]:
    """``FindOldReplicaSets`` (all of them, active or not), oldest first."""
    new_rs = find_new_replica_set(d, rs_list)
    return [rs for rs in by_creation(rs_list) if new_rs is None or uid(rs) != uid(new_rs)]


async def get_all_replica_sets_and_sync_revision(
    state: SyncState, *, create: bool
) -> tuple[Obj | None, list[Obj]]:
    """(new RS or None, all old RSs), with the new RS's and the Deployment's revision synced."""
    old_rss = find_old_replica_sets(state.d, state.rs_list)
    new_rs = await get_new_replica_set(state, old_rss, create=create)
    return new_rs, old_rss


def _set_min_ready(rs_spec: Obj, seconds: int) -> None:
    if seconds:
        rs_spec["minReadySeconds"] = seconds
    else:
        rs_spec.pop("minReadySeconds", None)


async def get_new_replica_set(state: SyncState, old_rss: list[Obj], *, create: bool) -> Obj | None:
    d = state.d
    existing = find_new_replica_set(d, state.rs_list)
    new_revision = str(max_revision(old_rss) + 1)
    if existing is not None:
        return await _sync_existing(state, existing, new_revision=new_revision)
    if not create:
        return None
    return await _create(state, old_rss, new_revision=new_revision)


async def _sync_existing(state: SyncState, existing: Obj, *, new_revision: str) -> Obj:
    d = state.d
    rs_copy = copy.deepcopy(existing)
    annotations_changed = set_new_rs_annotations(d, rs_copy, new_revision=new_revision, exists=True)
    if annotations_changed or min_ready_seconds(rs_copy) != min_ready_seconds(d):
        _set_min_ready(rs_copy.setdefault("spec", {}), min_ready_seconds(d))
        return await state.update_replica_set(rs_copy)
    needs_update = set_deployment_revision(d, str(annotations_of(rs_copy).get(REVISION, "")))
    if has_progress_deadline(d) and get_condition(status(d), PROGRESSING) is None:
        message = f'Found new replica set "{name(rs_copy)}"'
        set_condition(
            d.setdefault("status", {}),
            new_condition(PROGRESSING, "True", reason=FOUND_NEW_RS, message=message, now=state.now()),
        )
        needs_update = True
    if needs_update:
        await state.update_status()
    return rs_copy


def _new_replica_set(d: Obj, pod_template_hash: str) -> Obj:
    new_template = copy.deepcopy(template(d))
    t_meta = new_template.setdefault("metadata", {})
    rs_labels = {**(t_meta.get("labels") or {}), HASH_LABEL: pod_template_hash}
    t_meta["labels"] = rs_labels
    selector = copy.deepcopy(spec(d).get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_template_hash}
    rs_meta: Obj = {
        "name": f"{name(d)}-{pod_template_hash}",
        "namespace": namespace(d),
        "labels": dict(rs_labels),
        "ownerReferences": [controller_ref_to(d)],
    }
    rs_spec: Obj = {"replicas": 0, "selector": selector, "template": new_template}
    _set_min_ready(rs_spec, min_ready_seconds(d))
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta, "spec": rs_spec}


def _namespace_terminating(err: ApiStatusError) -> bool:
    causes = (err.status.get("details") or {}).get("causes") or []
    return any(isinstance(c, dict) and c.get("type") == NAMESPACE_TERMINATING_CAUSE for c in causes)


async def _create(state: SyncState, old_rss: list[Obj], *, new_revision: str) -> Obj:
    d = state.d
    collision_count = status(d).get("collisionCount")
    new_rs = _new_replica_set(d, compute_hash(template(d), collision_count))
    count = new_rs_new_replicas(d, [*old_rss, new_rs], new_rs=new_rs)
    new_rs["spec"]["replicas"] = count
    set_new_rs_annotations(d, new_rs, new_revision=new_revision, exists=False)
    rs_name = name(new_rs)
    already_exists = False
    try:
        created = await state.client.create(REPLICASETS, namespace(d), new_rs)
    except ApiStatusError as err:
        if err.already_exists:
            created = await _existing_or_collision(state, rs_name, err=err)
            already_exists = True
        elif _namespace_terminating(err):
            raise
        else:
            message = f'Failed to create new replica set "{rs_name}": {err}'
            if has_progress_deadline(d):
                cond = new_condition(
                    PROGRESSING, "False", reason=FAILED_RS_CREATE, message=message, now=state.now()
                )
                set_condition(d.setdefault("status", {}), cond)
                try:
                    await state.update_status()
                except ApiStatusError:
                    pass  # the create error is the one worth reporting
            state.event(WARNING, FAILED_RS_CREATE, message)
            raise
    if not already_exists and count > 0:
        state.event(NORMAL, SCALING_REPLICA_SET, f"Scaled up replica set {name(created)} to {count}")
    state.track(created)
    needs_update = set_deployment_revision(d, new_revision)
    if not already_exists and has_progress_deadline(d):
        message = f'Created new replica set "{name(created)}"'
        set_condition(
            d.setdefault("status", {}),
            new_condition(PROGRESSING, "True", reason=NEW_RS_CREATED, message=message, now=state.now()),
        )
        needs_update = True
    if needs_update:
        await state.update_status()
    return created


async def _existing_or_collision(state: SyncState, rs_name: str, *, err: ApiStatusError) -> Obj:
    """AlreadyExists: our own RS (use it) or a hash collision (bump collisionCount, fail the sync)."""
    d = state.d
    existing = state.rs_lister.get(namespace(d), rs_name)
    if existing is None:
        raise err
    ref = controller_ref(existing)
    if ref is not None and ref.get("uid") == uid(d) and equal_ignore_hash(template(d), template(existing)):
        return existing
    d_status = d.setdefault("status", {})
    d_status["collisionCount"] = int(d_status.get("collisionCount") or 0) + 1
    try:
        await state.update_status()
    except ApiStatusError:
        pass  # the sync fails either way; the next attempt recomputes the count
    raise err
