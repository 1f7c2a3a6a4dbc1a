"""Push deploys (way A): releases as persisted state machines in the cluster, with history and rollback.

A *release* is one revision of one app (a service in an environment), stored as a ferry-owned Secret
``ferry.release.<service>.v<N>`` in the environment's namespace (``records``). Its state moves
pending → deploying → deployed | failed → rolling-back → rolled-back, and an older deployed one becomes
superseded; every write is conditional on the resourceVersion last read (``store``), and an active release
carries a lease that its process renews, so a dead process's release is taken over by the next command
(``lease``, ``machine.recover``) instead of blocking the app forever.

Modules: ``records`` (the record and its transitions), ``store`` (where records live: Secrets through
lightkube, or memory), ``lease`` (the takeover rule), ``machine`` (writing transitions, heartbeats,
recovery, the rollback target), ``progress`` (what a rollout is doing, in words), ``deployer`` (deploy and
rollback end to end).
"""

from ferry.delivery.releases.deployer import DeployPlan, Outcome, Reporter, deploy, manifest_digest, reapply
from ferry.delivery.releases.lease import STALE_SECONDS, holder_id, stale
from ferry.delivery.releases.machine import (
    LostLease,
    Recovery,
    ReleaseBusy,
    ReleaseError,
    Tracked,
    current,
    recover,
    rollback_target,
)
from ferry.delivery.releases.progress import RolloutObserver, Snapshot
from ferry.delivery.releases.records import (
    TRANSITIONS,
    Release,
    ReleaseState,
    TransitionError,
    decode,
    encode,
    record_name,
)
from ferry.delivery.releases.store import KubeReleaseStore, MemoryReleaseStore, ReleaseConflict, ReleaseStore

__all__ = [
    "STALE_SECONDS",
    "TRANSITIONS",
    "DeployPlan",
    "KubeReleaseStore",
    "LostLease",
    "MemoryReleaseStore",
    "Outcome",
    "Recovery",
    "Release",
    "ReleaseBusy",
    "ReleaseConflict",
    "ReleaseError",
    "ReleaseState",
    "ReleaseStore",
    "Reporter",
    "RolloutObserver",
    "Snapshot",
    "Tracked",
    "TransitionError",
    "current",
    "decode",
    "deploy",
    "encode",
    "holder_id",
    "manifest_digest",
    "reapply",
    "record_name",
    "recover",
    "rollback_target",
    "stale",
]
