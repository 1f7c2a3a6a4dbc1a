"""The annotations the Deployment controller keeps on ReplicaSets and on the Deployment (§1.4).

* ``deployment.kubernetes.io/revision``: a decimal **int64** on every ReplicaSet and on the
  Deployment. The new ReplicaSet gets max(revision of the old ones) + 1, but only if its own value
  is lower, so a rollback renumbers the reused ReplicaSet instead of creating one. Unparsable values
  are skipped, never fatal. Python ints are unbounded, so the parse checks the int64 range itself.
* ``deployment.kubernetes.io/revision-history``: when a ReplicaSet's revision is replaced, the old
  value is appended (``1``, then ``1,3``), dropping the oldest entries to stay within 2000 chars.
* ``desired-replicas`` / ``max-replicas``: spec.replicas and spec.replicas + maxSurge, written with
  every scale of a ReplicaSet; proportional scaling divides by ``max-replicas`` later.
* Every other Deployment annotation is copied onto the new ReplicaSet (so ``kubernetes.io/change-
  cause`` reaches ``rollout history``) except the skip list; a rollback copies the other way.

Functions that take a ReplicaSet or Deployment *mutate it* and report whether anything changed:
call them on working copies only, never on objects from a lister.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ferry.cluster.controllers.deployment.accessors import annotations_of, mutable_annotations, replicas
from ferry.cluster.controllers.deployment.fenceposts import max_surge
from ferry.cluster.controllers.runtime.types import Obj

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

SKIP_ON_COPY = frozenset(
    {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO}
)
MAX_REVISION_HISTORY_CHARS = 2000

_INT = re.compile(r"[+-]?[0-9]+")


def parse_int64(text: str) -> int:
    """``strconv.ParseInt(text, 10, 64)``: raise ValueError on syntax or range errors."""
    if not _INT.fullmatch(text):
        raise ValueError(f'parsing "{text}": invalid syntax')
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(f'parsing "{text}": value out of range')
    return value


def revision(obj: Obj) -> int:
    """``Revision``: 0 without the annotation; ValueError when it does not parse."""
    text = annotations_of(obj).get(REVISION)
    return 0 if text is None else parse_int64(str(text))


def _parsable_revisions(rss: Iterable[Obj | None]) -> list[int]:
    out = []
    for rs in rss:
        if rs is None:
            continue
        try:
            out.append(revision(rs))
        except ValueError:
            continue
    return out


def max_revision(rss: Iterable[Obj | None]) -> int:
    """``MaxRevision``: the highest parsable revision, 0 if none."""
    return max([0, *_parsable_revisions(rss)])


def last_revision(rss: Iterable[Obj | None]) -> int:
    """``LastRevision``: the second-highest revision (a duplicate maximum counts twice)."""
    top = second = 0
    for v in _parsable_revisions(rss):
        if v >= top:
            top, second = v, top
        elif v > second:
            second = v
    return second


def int_annotation(obj: Obj, key: str) -> int | None:
    """``getIntFromAnnotation``: the value as an int, None when missing or unparsable."""
    text = annotations_of(obj).get(key)
    if text is None:
        return None
    try:
        return parse_int64(str(text))
    except ValueError:
        return None


def copy_deployment_annotations(d: Obj, rs: Obj) -> bool:
    """``copyDeploymentAnnotationsToReplicaSet``: overwrite, never remove; the skip list stays out."""
    changed = False
    target = mutable_annotations(rs)
    for key, value in annotations_of(d).items():
        if key in SKIP_ON_COPY or target.get(key) == value:
            continue
        target[key] = value
        changed = True
    return changed


def set_replicas_annotations(rs: Obj, desired: int, *, maximum: int) -> bool:
    """``SetReplicasAnnotations``: write desired/max replicas; True if either changed."""
    target = mutable_annotations(rs)
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if target.get(key) != value:
            target[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, *, maximum: int) -> bool:
    current = annotations_of(rs)
    return current.get(DESIRED_REPLICAS) != str(desired) or current.get(MAX_REPLICAS) != str(maximum)


def _append_history(history: str, old_revision: str) -> str | None:
    """The revision-history value with ``old_revision`` appended, or None when it cannot fit."""
    parts = history.split(",")
    if not parts[0]:
        return old_revision
    total = len(history) + len(old_revision) + 1
    start = 0
    while total > MAX_REVISION_HISTORY_CHARS and start < len(parts):
        total -= len(parts[start]) + 1
        start += 1
    if total > MAX_REVISION_HISTORY_CHARS:
        return None
    return ",".join([*parts[start:], old_revision])


def set_new_rs_annotations(d: Obj, rs: Obj, *, new_revision: str, exists: bool) -> bool:
    """``SetNewReplicaSetAnnotations``: copy the Deployment's annotations, raise the revision, keep history.

    Mirrors kube's early exit: an RS whose current revision does not parse reports "unchanged" even
    when annotations were copied (so it is left alone rather than renumbered).
    """
    changed = copy_deployment_annotations(d, rs)
    target = mutable_annotations(rs)
    had_revision = REVISION in target
    old_text = str(target.get(REVISION, ""))
    try:
        old_value = parse_int64(old_text)
    except ValueError:
        if old_text:
            return False
        old_value = 0
    try:
        new_value = parse_int64(new_revision)
    except ValueError:
        return False
    if old_value < new_value:
        target[REVISION] = new_revision
        changed = True
        if had_revision:
            history = _append_history(str(target.get(REVISION_HISTORY, "")), old_text)
            if history is not None:
                target[REVISION_HISTORY] = history
    if not exists and set_replicas_annotations(rs, replicas(d), maximum=replicas(d) + max_surge(d)):
        changed = True
    return changed


def set_deployment_revision(d: Obj, value: str) -> bool:
    """``SetDeploymentRevision``: True if the Deployment's revision annotation changed."""
    target = mutable_annotations(d)
    if target.get(REVISION) == value:
        return False
    target[REVISION] = value
    return True


def set_deployment_annotations_to(d: Obj, rs: Obj) -> None:
    """``SetDeploymentAnnotationsTo`` (rollback): keep the Deployment's skip-list keys, take the rest from the RS."""
    kept = {k: v for k, v in annotations_of(d).items() if k in SKIP_ON_COPY}
    kept.update({k: v for k, v in annotations_of(rs).items() if k not in SKIP_ON_COPY})
    d.setdefault("metadata", {})["annotations"] = kept
