"""Which ReplicaSets a Deployment owns: adoption and release (``ClaimReplicaSets``, §1.2).

Every ReplicaSet in the namespace is considered:

* controlled by another owner → not ours, left alone;
* controlled by this Deployment (UID match): kept if the selector still matches its labels;
  otherwise **released** (unless the Deployment is being deleted) with a strategic-merge patch
  that deletes our owner reference: ``{"metadata": {"uid": <rs>, "ownerReferences":
  [{"$patch": "delete", "uid": <d>}]}}``;
* an orphan whose labels match, neither object being deleted → **adopted** with a strategic-merge
  patch adding ``{apiVersion: apps/v1, kind: Deployment, name, uid, controller: true,
  blockOwnerDeletion: true}``. Adoption never rewrites the RS's selector or labels.

**Race** (kube #42639): the Deployment may have been deleted, or deleted and re-created under the
same name, after the cache was read. Before the *first* adoption of a pass, one uncached GET checks
that it still exists with the same UID and no deletionTimestamp; if not, nothing is adopted. The
``metadata.uid`` in both patches makes the API server refuse a patch aimed at a ReplicaSet that was
replaced in the meantime.

A NotFound answer (the RS vanished) is not an error. Other errors are collected; the claimed list
is still built, then the first error fails the sync, as kube's aggregated error does.
"""

from __future__ import annotations

from ferry.cluster.apiserver.selectors import LabelSelector
from ferry.cluster.controllers.deployment.accessors import (
    DEPLOYMENTS,
    REPLICASETS,
    DeploymentSyncError,
    being_deleted,
    controller_ref,
    controller_ref_to,
    labels,
    meta,
    name,
    namespace,
    uid,
)
from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, Obj


def adopt_patch(d: Obj, rs: Obj) -> Obj:
    return {"metadata": {"ownerReferences": [controller_ref_to(d)], "uid": uid(rs)}}


def release_patch(d: Obj, rs: Obj) -> Obj:
    return {"metadata": {"uid": uid(rs), "ownerReferences": [{"$patch": "delete", "uid": uid(d)}]}}


async def _recheck(d: Obj, client: Client) -> Exception | None:
    """``RecheckDeletionTimestamp``: a live GET; the reason adoption must not happen, or None."""
    try:
        fresh = await client.get(DEPLOYMENTS, namespace(d), name(d))
    except ApiStatusError as err:
        return err
    if uid(fresh) != uid(d):
        return DeploymentSyncError(
            f"original Deployment {namespace(d)}/{name(d)} is gone: got uid {uid(fresh)}, wanted {uid(d)}"
        )
    if being_deleted(fresh):
        return DeploymentSyncError(
            f"{namespace(d)}/{name(d)} has just been deleted at {meta(fresh).get('deletionTimestamp')}"
        )
    return None


class _AdoptionCheck:
    """Runs the live recheck at most once per claim pass (kube's ``sync.Once``)."""

    def __init__(self, d: Obj, client: Client) -> None:
        self.d, self.client = d, client
        self.done = False
        self.error: Exception | None = None

    async def __call__(self) -> Exception | None:
        if not self.done:
            self.error = await _recheck(self.d, self.client)
            self.done = True
        return self.error


async def claim_replica_sets(
    d: Obj, candidates: list[Obj], *, selector: LabelSelector, client: Client
) -> list[Obj]:
    """The ReplicaSets this Deployment owns after adopting and releasing; raise the first error."""
    claimed: list[Obj] = []
    errors: list[Exception] = []
    can_adopt = _AdoptionCheck(d, client)
    for rs in candidates:
        ref = controller_ref(rs)
        matches = selector.matches(labels(rs))
        if ref is not None:
            if ref.get("uid") != uid(d):
                continue
            if matches:
                claimed.append(rs)
            elif not being_deleted(d):
                try:
                    await client.patch(
                        REPLICASETS, namespace(rs), name(rs), release_patch(d, rs), patch_type="strategic"
                    )
                except ApiStatusError as err:
                    if not (err.not_found or err.code == 422):
                        errors.append(err)
            continue
        if being_deleted(d) or not matches or being_deleted(rs):
            continue
        if namespace(d) and namespace(d) != namespace(rs):
            continue
        problem = await can_adopt()
        if problem is not None:
            errors.append(
                DeploymentSyncError(
                    f"can't adopt ReplicaSet {namespace(rs)}/{name(rs)} ({uid(rs)}): {problem}"
                )
            )
            continue
        try:
            adopted = await client.patch(
                REPLICASETS, namespace(rs), name(rs), adopt_patch(d, rs), patch_type="strategic"
            )
        except ApiStatusError as err:
            if not err.not_found:
                errors.append(err)
            continue
        claimed.append(adopted)
    if errors:
        raise errors[0]
    return claimed


def pod_map(selector: LabelSelector, rs_list: list[Obj], *, pods: list[Obj]) -> dict[str, list[Obj]]:
    """``getPodMapForDeployment``: RS UID → the pods (matching the selector) it controls.

    Inactive pods are kept: Recreate must know that no old pod is still running.
    """
    by_rs: dict[str, list[Obj]] = {uid(rs): [] for rs in rs_list}
    for pod in pods:
        if not selector.matches(labels(pod)):
            continue
        ref = controller_ref(pod)
        if ref is not None and ref.get("uid") in by_rs:
            by_rs[str(ref["uid"])].append(pod)
    return by_rs
