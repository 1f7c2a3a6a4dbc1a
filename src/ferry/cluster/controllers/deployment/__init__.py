"""The Deployment controller, with Kubernetes' exact rollout semantics (k8s-semantics.md §1).

Where things live (one module per concept):

* ``controller``: the ``sync(key)`` orchestration and the event handlers;
* ``claiming``: which ReplicaSets a Deployment owns (adopt / release);
* ``replicasets``: new vs old ReplicaSet, revision sync, creating the new one (hash collisions);
* ``hashing``: ``pod-template-hash`` and template equality ignoring it;
* ``annotations``: revision, revision-history, desired/max-replicas, annotation copying;
* ``fenceposts``: maxSurge / maxUnavailable arithmetic and the new RS's allowed size;
* ``rolling``: one RollingUpdate step (scale the new RS up, or old ones down);
* ``recreate``: Recreate (all old pods gone before the new RS is created);
* ``scaling``: scaling events, paused Deployments, proportional scaling;
* ``rollback``: the deprecated ``deprecated.deployment.rollback.to`` annotation;
* ``cleanup``: revisionHistoryLimit;
* ``status`` and ``conditions``: status counts, conditions, the progress deadline;
* ``state``: one sync's working copy and every write the controller makes;
* ``accessors``: typed reads of the objects' fields, with kube's defaults.
"""

from __future__ import annotations

from ferry.cluster.controllers.deployment.accessors import DeploymentSyncError
from ferry.cluster.controllers.deployment.controller import DeploymentController, ResourceHandlers
from ferry.cluster.controllers.deployment.state import SyncResult

__all__ = ["DeploymentController", "DeploymentSyncError", "ResourceHandlers", "SyncResult"]
