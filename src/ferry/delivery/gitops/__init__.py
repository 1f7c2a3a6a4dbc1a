"""The GitOps reconciler (way B): keep every (environment, service) app synced with the config repo.

* ``loop`` — ``Reconciler``: the tick (refresh → plan → sync each changed or drifted app, bounded
  concurrency), ``run`` (every interval or on a webhook), ``sync_now`` (``ferry sync``).
* ``desired`` — renders apps once per change (``ConfigRepo.changes``, chart fingerprints) and hashes them.
* ``drift`` — live vs desired through the apply engine's dry-run diff, as changed paths.
* ``sync`` — one sync operation: persisted before it writes, resumed after a crash (why that converges).
* ``status`` — the per-app status ConfigMap ``ferry-app-<env>-<service>`` (the format ``ferry status`` reads).
* ``webhook`` — ``POST /hooks/git`` (aiohttp) for immediate refreshes.

Nothing here imports ``ferry.cluster``: clusters are reached through kubeconfigs (``ferry.delivery.apply``).
"""

from ferry.delivery.gitops.desired import AppKey, Desired, DesiredStates, desired_hash
from ferry.delivery.gitops.drift import Comparison, compare
from ferry.delivery.gitops.loop import Clusters, Options, Reconciler, sync_now
from ferry.delivery.gitops.status import (
    HISTORY_LIMIT,
    AppStatus,
    Operation,
    StatusStore,
    SyncRecord,
    status_name,
)
from ferry.delivery.gitops.sync import OWNER, run_sync
from ferry.delivery.gitops.webhook import HOOK_PATH, Webhook, parse_listen

__all__ = [
    "HISTORY_LIMIT",
    "HOOK_PATH",
    "OWNER",
    "AppKey",
    "AppStatus",
    "Clusters",
    "Comparison",
    "Desired",
    "DesiredStates",
    "Operation",
    "Options",
    "Reconciler",
    "StatusStore",
    "SyncRecord",
    "Webhook",
    "compare",
    "desired_hash",
    "parse_listen",
    "run_sync",
    "status_name",
    "sync_now",
]
