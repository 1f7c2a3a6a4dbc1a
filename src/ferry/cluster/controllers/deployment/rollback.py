"""The deprecated server-side rollback: ``deprecated.deployment.rollback.to`` (§1.11).

``kubectl rollout undo`` no longer uses this (it patches the template itself, client side), but the
annotation is still honoured, as apps/v1beta1-era clients set it. The value is a revision number;
``0`` means "the previous one" (the second-highest revision). An unparsable value is ignored
altogether, as kube ignores it.

The controller finds (or first creates) the new RS, then looks for the RS with that revision:

* found, template differs → the Deployment's template becomes that RS's template (without the
  hash label), its annotations become its own skip-list keys plus the RS's other annotations, and
  a Normal ``DeploymentRollback`` event says ``Rolled back deployment "<d>" to revision <n>``;
* found, same template → Warning ``DeploymentRollbackTemplateUnchanged``;
* not found (or no previous revision) → Warning ``DeploymentRollbackRevisionNotFound``.

In every case the annotation is removed with a normal Update of the Deployment, so the rollback is
not re-entered. The template change then drives an ordinary rollout in the following syncs, where
the reused RS gets its revision renumbered and the old number recorded in revision-history.
"""

from __future__ import annotations

import copy

from ferry.cluster.controllers.deployment.accessors import HASH_LABEL, annotations_of, name, spec, template
from ferry.cluster.controllers.deployment.annotations import (
    ROLLBACK_TO,
    last_revision,
    parse_int64,
    revision,
    set_deployment_annotations_to,
)
from ferry.cluster.controllers.deployment.hashing import equal_ignore_hash
from ferry.cluster.controllers.deployment.replicasets import get_all_replica_sets_and_sync_revision
from ferry.cluster.controllers.deployment.state import NORMAL, WARNING, SyncState
from ferry.cluster.controllers.runtime.types import Obj

REVISION_NOT_FOUND = "DeploymentRollbackRevisionNotFound"
TEMPLATE_UNCHANGED = "DeploymentRollbackTemplateUnchanged"
ROLLBACK_DONE = "DeploymentRollback"


def get_rollback_to(d: Obj) -> int | None:
    """The requested revision, or None when the annotation is absent, empty or unparsable."""
    text = annotations_of(d).get(ROLLBACK_TO, "")
    if not text:
        return None
    try:
        return parse_int64(str(text))
    except ValueError:
        return None


async def _clear_and_update(state: SyncState) -> None:
    annotations_ = (state.d.get("metadata") or {}).get("annotations")
    if isinstance(annotations_, dict):
        annotations_.pop(ROLLBACK_TO, None)
    await state.update_deployment()


def _set_from_replica_set_template(d: Obj, rs: Obj) -> None:
    """``SetFromReplicaSetTemplate``: the RS's template, minus the pod-template-hash label."""
    new_template = copy.deepcopy(template(rs))
    labels = (new_template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    spec(d)["template"] = new_template


async def rollback(state: SyncState) -> None:
    d = state.d
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(state, create=True)
    all_rss = [rs for rs in [*old_rss, new_rs] if rs is not None]
    target = get_rollback_to(d) or 0
    if target == 0:
        target = last_revision(all_rss)
        if target == 0:
            state.event(WARNING, REVISION_NOT_FOUND, "Unable to find last revision.")
            await _clear_and_update(state)
            return
    for rs in all_rss:
        try:
            if revision(rs) != target:
                continue
        except ValueError:
            continue
        if equal_ignore_hash(template(d), template(rs)):
            message = f'The rollback revision contains the same template as current deployment "{name(d)}"'
            state.event(WARNING, TEMPLATE_UNCHANGED, message)
            await _clear_and_update(state)
            return
        _set_from_replica_set_template(d, rs)
        set_deployment_annotations_to(d, rs)
        await _clear_and_update(state)
        state.event(NORMAL, ROLLBACK_DONE, f'Rolled back deployment "{name(d)}" to revision {target}')
        return
    state.event(WARNING, REVISION_NOT_FOUND, "Unable to find the revision to rollback to.")
    await _clear_and_update(state)
