"""revisionHistoryLimit: deleting old ReplicaSets beyond the limit (``cleanupDeployment``, §1.9).

Old ReplicaSets are the rollback history (``rollout undo`` reuses them), so they are kept up to
``spec.revisionHistoryLimit`` (off when unset or MaxInt32). Candidates are the old ReplicaSets not
already being deleted; the ``count - limit`` with the lowest revision (ties and unparsable
revisions by creation time) are deleted, but **only** when fully scaled down and settled:
``spec.replicas == 0``, ``status.replicas == 0`` and ``generation <= status.observedGeneration``
(the ReplicaSet controller has seen the scale-down). Skipped ones still count against the limit,
so nothing newer is deleted in their place. Deletes use default options (Background cascade).

It runs only when a rollout is complete, or in a paused Deployment's sync. A NotFound on delete is
fine; any other error stops the pass (kube: do not hammer an API server that is failing).
"""

from __future__ import annotations

import functools

from ferry.cluster.controllers.deployment.accessors import (
    REPLICASETS,
    being_deleted,
    creation_key,
    generation,
    name,
    namespace,
    replicas,
    revision_history_limit,
    status_int,
)
from ferry.cluster.controllers.deployment.annotations import revision
from ferry.cluster.controllers.deployment.state import SyncState
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj


def _by_revision(a: Obj, b: Obj) -> int:
    """``ReplicaSetsByRevision``: revision ascending; creation order on a tie or a parse error."""
    try:
        ra, rb = revision(a), revision(b)
    except ValueError:
        ra = rb = 0
    if ra == rb:
        ka, kb = creation_key(a), creation_key(b)
        return -1 if ka < kb else (1 if ka > kb else 0)
    return -1 if ra < rb else 1


def deletable(rs: Obj) -> bool:
    return (
        status_int(rs, "replicas") == 0
        and replicas(rs) == 0
        and generation(rs) <= status_int(rs, "observedGeneration")
        and not being_deleted(rs)
    )


async def cleanup_deployment(state: SyncState, old_rss: list[Obj]) -> None:
    limit = revision_history_limit(state.d)
    if limit is None:
        return
    candidates = [rs for rs in old_rss if not being_deleted(rs)]
    diff = len(candidates) - limit
    if diff <= 0:
        return
    candidates.sort(key=functools.cmp_to_key(_by_revision))
    for rs in candidates[:diff]:
        if not deletable(rs):
            continue
        try:
            await state.client.delete(REPLICASETS, namespace(rs), name(rs))
        except ApiStatusError as err:
            if not err.not_found:
                raise
