"""The ReplicaSet controller (k8s-semantics.md §3): keeps ``spec.replicas`` active pods per ReplicaSet.

Modules, one concept each: ``controller`` (event handlers and ``sync``: claim, manage, status),
``podcontrol`` (slow-start creation batches, deletion, expectations bookkeeping, events), ``ranking``
(which pods go first on scale-down) and ``status`` (the status and ``ReplicaFailure`` condition, and
the ``/status`` write with one retry). ``SPEC`` registers it with the controller manager.
"""

from ferry.cluster.controllers.replicaset.controller import (
    BURST_REPLICAS,
    NAME,
    SPEC,
    ReplicaSetController,
    build,
)
from ferry.cluster.controllers.replicaset.podcontrol import Expectations, PodControlError

__all__ = [
    "BURST_REPLICAS",
    "NAME",
    "SPEC",
    "Expectations",
    "PodControlError",
    "ReplicaSetController",
    "build",
]
