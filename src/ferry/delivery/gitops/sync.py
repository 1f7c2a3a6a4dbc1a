"""One sync of one app: record the operation, apply, wait for health, record the result.

The order of writes is what makes a crash at any point safe:

1. **Record the operation** (``operation: {sha, hash, phase: Applying, reason, owner}``) in the app's status
   ConfigMap *before* the first write to the app's objects.
2. **Apply** the rendered objects (``ferry.delivery.apply.apply``: dry-run everything, apply in order, prune per
   the environment's policy, record the inventory). Phase becomes ``WaitingHealthy``.
3. **Wait for health** (watch, bounded by ``health_timeout_seconds``; a Degraded app ends the wait early).
4. **Record the result** in one write: ``lastSync`` and the history entry (SHA, time, result, who), ``syncedHash``
   and ``syncedRevision``, Synced, the health, and the operation cleared.

A process killed between 1 and 4 leaves the operation in the status. The next reconciler to look at the app
finds it (its owner is gone) and runs the same operation again: same SHA, so the same render. That converges
because every step is idempotent — server-side apply of the same objects changes nothing that already matches
and writes nothing for unchanged objects, prune works from the inventory the last *successful* apply wrote
(still the truth about what was applied before), and the inventory write carries a resourceVersion
precondition — so re-running from the top reaches the same end state as an uninterrupted run, and step 4
is only ever written after a complete run. Without the record, a restarted reconciler whose app is under a
manual sync policy would never finish the sync that ``ferry sync`` started, and nothing would say that a sync
had been cut short.

A failed apply records ``Failed`` with the error's one line and leaves ``syncedHash`` alone, so the next
interval tries again; nothing of a preflight failure was applied (the apply engine's guarantee).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import replace

from ferry.delivery.apply import ApplyError, HealthStatus, KubeApi, apply, wait_healthy
from ferry.delivery.gitops.desired import Desired
from ferry.delivery.gitops.status import AppStatus, Operation, StatusStore, SyncRecord, ensure_namespace, now

__all__ = ["OWNER", "run_sync", "short"]

OWNER = f"{socket.gethostname()}/{os.getpid()}"
"""Who runs an operation: a restarted process (another pid) treats its predecessor's operations as abandoned."""

log = logging.getLogger("ferry.reconcile")


def short(sha: str) -> str:
    return sha[:7] if sha else "-"


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


async def run_sync(
    api: KubeApi,
    desired: Desired,
    *,
    reason: str,
    prune: bool,
    health_timeout_seconds: float,
    who: str | None = None,
    owner: str = OWNER,
) -> AppStatus:
    """Sync one rendered app (see the module docstring); the status as written at the end."""
    app = desired.app
    if app is None:
        raise ValueError(f"{desired.name} has no rendered objects: {desired.error}")
    store = StatusStore(api)
    env, service, ns, sha = desired.env, desired.service, app.namespace, desired.revision
    author = who if who is not None else desired.author
    if await ensure_namespace(api, ns):
        log.info("%s: created namespace %s", desired.name, ns)
    op = Operation(sha, desired.hash, "Applying", reason, owner, now())

    def begin(s: AppStatus) -> AppStatus:
        return replace(s, operation=op, revision=sha, desired_hash=desired.hash)

    await store.update(env, service, ns, begin)
    log.info("%s: sync %s started (%s), operation recorded", desired.name, short(sha), reason)
    try:
        result = await apply(api, app.objects, inventory=app.inventory, prune=prune)
    except ApplyError as exc:
        record = SyncRecord(sha, now(), "Failed", author, f"{reason}: {_line(exc)}")
        log.warning("%s: sync %s failed: %s", desired.name, short(sha), record.message)

        def failed(s: AppStatus) -> AppStatus:
            return replace(s.with_sync(record), operation=None, sync="OutOfSync", message=record.message)

        return await store.update(env, service, ns, failed)
    counts = {a: sum(1 for o in result.objects if o.action == a) for a in ("created", "changed", "pruned")}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "no changes"
    log.info("%s: applied %s: %s; waiting for health", desired.name, short(sha), summary)

    def waiting(s: AppStatus) -> AppStatus:
        return replace(s, operation=replace(op, phase="WaitingHealthy"))

    await store.update(env, service, ns, waiting)
    health = await wait_healthy(
        api, result.applied, app=app.name, timeout_seconds=health_timeout_seconds, fail_fast=True
    )
    record = SyncRecord(sha, now(), "Succeeded", author, f"{reason}: {summary}; {health.status.value}")
    level = logging.INFO if health.status is HealthStatus.HEALTHY else logging.WARNING
    log.log(
        level,
        "%s: sync %s succeeded: %s%s",
        desired.name,
        short(sha),
        health.status.value,
        f" ({health.reason})" if health.reason else "",
    )

    def finished(s: AppStatus) -> AppStatus:
        return replace(
            s.with_health(health.status.value, health.reason, app.pin.digest).with_sync(record),
            operation=None,
            sync="Synced",
            revision=sha,
            tag=app.pin.tag,
            desired_hash=desired.hash,
            synced_hash=desired.hash,
            synced_revision=sha,
            message="",
            drift=(),
        )

    return await store.update(env, service, ns, finished)
