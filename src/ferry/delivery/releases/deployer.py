"""A push deploy (way A), start to finish: record, apply, wait with progress, and roll back on failure.

``deploy(api, store, plan)`` is the one code path behind ``ferry deploy`` and ``ferry rollback`` (a rollback
is a deploy of an older revision's stored manifest as a new revision, as ``helm rollback`` does):

1. ``recover`` the app's releases (``machine.py``): finish or fail what dead processes left, refuse with
   ``ReleaseBusy`` when a live one is at work.
2. Write revision N+1 as ``pending`` **before** touching anything, with the full manifest in it, then move it
   to ``deploying`` and apply (the apply engine: dry-run of everything first, then apply, prune, inventory).
3. Wait for the app's health (``wait_healthy``, fail fast on Degraded, ``timeout_seconds``) while a
   ``RolloutObserver`` is polled for the progress lines; the lease is renewed all along (``heartbeat``).
4. Healthy: ``deployed``, and the previous deployed revision becomes ``superseded``. Not healthy (timeout,
   ``ProgressDeadlineExceeded``, Degraded) or the apply failed: ``failed`` with the most specific reason
   the cluster gives, then — when an earlier revision is deployed — ``rolling-back``: its stored manifest is
   re-applied and waited for, and the failed revision ends ``rolled-back`` (``rolled_back_to`` says where).

Crash at any point: the record says how far it got and the lease stops being renewed; the next command's
``recover`` takes over (``lease.py`` has the rule). Nothing is left "in progress" forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ferry.delivery.apply import ApplyError, HealthStatus, InventoryRef, KubeApi, apply, wait_healthy
from ferry.delivery.pins import Pin
from ferry.delivery.releases.lease import Clock, now, utc_now
from ferry.delivery.releases.machine import ReleaseBusy, Tracked, recover
from ferry.delivery.releases.progress import POLL_SECONDS, RolloutObserver
from ferry.delivery.releases.records import Release, ReleaseState
from ferry.delivery.releases.store import ReleaseConflict, ReleaseStore

__all__ = ["DeployPlan", "Outcome", "Reporter", "deploy", "manifest_digest", "reapply"]

S = ReleaseState


def manifest_digest(objects: Sequence[dict[str, Any]]) -> str:
    """``sha256:`` of the canonical JSON of the objects: equal for equal manifests, whatever the key order."""
    return "sha256:" + hashlib.sha256(json.dumps(list(objects), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class DeployPlan:
    """What to release: one app's objects and where they came from."""

    service: str
    env: str
    namespace: str
    app: str  # the apply engine's app name (inventory, labels): ``<env>-<service>``
    pin: Pin
    objects: list[dict[str, Any]]
    who: str
    set_values: tuple[str, ...] = ()
    config_revision: str | None = None
    kind: str = "deploy"  # or "rollback"
    source_version: int | None = None


@dataclass(frozen=True)
class Outcome:
    release: Release  # the new revision, in its final state
    ok: bool
    message: str  # one line: what happened
    notes: list[str] = field(default_factory=list)  # what recovery repaired first


class Reporter(Protocol):
    def note(self, line: str) -> None:
        """A step: "v3 pending", "applied 3 objects (1 changed)", "rolling back to v2"..."""

    def progress(self, observer: RolloutObserver) -> None:
        """Called after each read of the rollout; ``observer.lines()`` / ``observer.table()`` describe it."""


class _Silent:
    def note(self, line: str) -> None:
        pass

    def progress(self, observer: RolloutObserver) -> None:
        pass


async def _wait(
    api: KubeApi,
    objects: Sequence[dict[str, Any]],
    refs: Sequence[Any],
    *,
    app: str,
    namespace: str,
    since: str,
    timeout_seconds: float,
    reporter: Reporter,
) -> tuple[bool, str]:
    """Wait for health with progress; ``(healthy, reason)``."""
    observer = RolloutObserver.for_objects(api, namespace, objects, since=since)
    waiter = asyncio.create_task(
        wait_healthy(api, refs, app=app, timeout_seconds=timeout_seconds, fail_fast=True)
    )
    try:
        while not waiter.done():
            with contextlib.suppress(ApplyError):
                await observer.read()
                reporter.progress(observer)
            await asyncio.wait([waiter], timeout=POLL_SECONDS)
        result = waiter.result()
        with contextlib.suppress(ApplyError):
            await observer.read()
            reporter.progress(observer)
    finally:
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
    if result.status is HealthStatus.HEALTHY:
        return True, ""
    specific = observer.failure()
    if result.status is HealthStatus.DEGRADED:
        excerpt = observer.log_excerpt()
        if result.reason and excerpt:
            return False, f"{result.reason}; {excerpt}"
        return False, result.reason or specific
    if specific:
        return False, specific
    return False, f"not healthy after {timeout_seconds:g} s: {result.status}: {result.reason}"


async def reapply(
    api: KubeApi,
    target: Release,
    *,
    app: str,
    timeout_seconds: float,
    reporter: Reporter,
    clock: Clock = utc_now,
) -> tuple[bool, str]:
    """Re-apply ``target``'s stored manifest and wait for it (a rollback's work); ``(healthy, reason)``."""
    since = now(clock)
    result = await apply(api, target.manifest, inventory=InventoryRef(app, target.namespace))
    reporter.note(f"re-applied v{target.version} ({target.tag}): {len(result.writes)} object(s) changed")
    return await _wait(
        api,
        target.manifest,
        result.applied,
        app=app,
        namespace=target.namespace,
        since=since,
        timeout_seconds=timeout_seconds,
        reporter=reporter,
    )


async def deploy(
    api: KubeApi,
    store: ReleaseStore,
    plan: DeployPlan,
    *,
    holder: str,
    timeout_seconds: float = 300.0,
    wait: bool = True,
    reporter: Reporter | None = None,
    clock: Clock = utc_now,
    pid_alive: Callable[[int], bool] | None = None,
) -> Outcome:
    """Release ``plan`` as a new revision (see the module docstring). Raises ``ReleaseError`` subclasses
    (busy, lost lease) and ``ApplyError`` for an unreachable cluster before anything was recorded."""
    out = reporter or _Silent()

    async def resume(failed: Release, target: Release) -> None:
        out.note(f"finishing the interrupted rollback of v{failed.version} to v{target.version}")
        await reapply(api, target, app=plan.app, timeout_seconds=timeout_seconds, reporter=out, clock=clock)

    recovery = await recover(
        store, plan.namespace, plan.service, holder=holder, resume=resume, clock=clock, pid_alive=pid_alive
    )
    for line in recovery.notes:
        out.note(f"recovered {line}")
    if recovery.busy is not None:
        b = recovery.busy
        raise ReleaseBusy(
            f"{plan.service} in {plan.env}: revision {b.version} is {b.state} by {b.lease_holder} "
            f"(lease renewed {b.lease_renewed}); try again when it ends, or 30 s after its holder stops"
        )
    previous = next((r for r, _ in reversed(recovery.releases) if r.state is S.DEPLOYED), None)
    stamp = now(clock)
    release = Release(
        service=plan.service,
        env=plan.env,
        namespace=plan.namespace,
        version=recovery.next_version,
        state=S.PENDING,
        tag=plan.pin.tag,
        digest=plan.pin.digest,
        repository=plan.pin.repository,
        manifest=list(plan.objects),
        manifest_digest=manifest_digest(plan.objects),
        set_values=plan.set_values,
        config_revision=plan.config_revision,
        created_at=stamp,
        who=plan.who,
        kind=plan.kind,
        source_version=plan.source_version,
        lease_holder=holder,
    )
    tracked = await Tracked.create(store, release, clock=clock)
    out.note(
        f"v{release.version} {plan.service} {plan.pin.tag} ({plan.pin.digest[:19]}…) → {plan.env}: pending"
    )
    name = f"{plan.service} in {plan.env}"
    async with tracked.heartbeat():
        await tracked.move(S.DEPLOYING)
        since = now(clock)
        try:
            applied = await apply(api, plan.objects, inventory=InventoryRef(plan.app, plan.namespace))
        except ApplyError as exc:
            ok, reason = False, f"apply failed: {exc}"
        else:
            out.note(f"v{release.version} deploying: {len(applied.writes)} object(s) changed")
            if not wait:
                await tracked.move(S.DEPLOYED, reason="applied; health not awaited (--no-wait)")
                ok, reason = True, ""
            else:
                try:
                    ok, reason = await _wait(
                        api,
                        plan.objects,
                        applied.applied,
                        app=plan.app,
                        namespace=plan.namespace,
                        since=since,
                        timeout_seconds=timeout_seconds,
                        reporter=out,
                    )
                except (
                    ApplyError
                ) as exc:  # the watch broke (cluster gone): judged failed, rolled back if possible
                    ok, reason = False, f"lost sight of the rollout: {exc}"
                if ok:
                    await tracked.move(S.DEPLOYED, reason="healthy")
        if ok:
            if previous is not None:
                await _supersede(store, plan, previous.version, clock)
            return Outcome(tracked.release, True, f"{name}: v{release.version} ({plan.pin.tag}) deployed",
                           recovery.notes)  # fmt: skip
        failed = f"rollout of {name} failed: {reason}"
        await tracked.move(S.FAILED, reason=reason)
        out.note(f"v{release.version} failed: {reason}")
        if previous is None:
            return Outcome(
                tracked.release, False, f"{failed} (no earlier release to roll back to)", recovery.notes
            )
        out.note(f"rolling back to v{previous.version} ({previous.tag})")
        await tracked.move(S.ROLLING_BACK, rolled_back_to=previous.version)
        try:
            healthy, why = await reapply(
                api, previous, app=plan.app, timeout_seconds=timeout_seconds, reporter=out, clock=clock
            )
        except ApplyError as exc:
            healthy, why = False, str(exc)
        if not healthy:
            await tracked.move(S.FAILED, reason=f"{reason}; rollback to v{previous.version} failed: {why}")
            return Outcome(tracked.release, False, f"{failed}; rollback to v{previous.version} failed: {why}",
                           recovery.notes)  # fmt: skip
        await tracked.move(S.ROLLED_BACK, reason=reason)
        return Outcome(tracked.release, False, f"{failed}; rolled back to v{previous.version} ({previous.tag})",
                       recovery.notes)  # fmt: skip


async def _supersede(store: ReleaseStore, plan: DeployPlan, version: int, clock: Clock) -> None:
    """Move the previously deployed revision to ``superseded`` (re-read: recovery may have touched it)."""
    for _ in range(3):
        for release, rv in await store.list(plan.namespace, plan.service):
            if release.version == version and release.state is S.DEPLOYED:
                try:
                    await store.update(release.moved(S.SUPERSEDED, updated_at=now(clock)), rv)
                except ReleaseConflict:
                    break
                return
        else:
            return
