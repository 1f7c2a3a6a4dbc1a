"""Driving release records through their states: one writer per release, preconditions, heartbeats, recovery.

``Tracked`` is a release this process holds. Every change goes through ``Tracked.move`` (a state change) or
``Tracked.renew`` (the lease heartbeat), both serialized by one asyncio lock and written with the
resourceVersion of the previous write as precondition. A ``ReleaseConflict`` on any of them means another
process took the release over (``lease.py``); it is raised as ``LostLease`` and the caller stops at once,
without another write. ``Tracked.heartbeat()`` renews the lease every ``RENEW_SECONDS`` while a long step
(an apply, a wait) runs.

``recover`` runs first in every command that reads or changes an app's releases. For each release in an
active state whose lease is stale (dead holder), by state:

* ``pending`` or ``deploying`` → ``failed`` ("interrupted: ..."). The cluster may run some of its objects;
  the command that follows (a deploy or a rollback) applies a complete manifest over them anyway.
* ``rolling-back`` → resumed when the caller can apply (``resume`` given: the target revision's manifest is
  re-applied, then ``rolled-back``), else ``failed`` with the rollback left to do named in the reason.

It also repairs the one inconsistency a crash between two writes can leave: two ``deployed`` revisions
(the new one was marked deployed, the old one not yet superseded) — the older becomes ``superseded``.
An active release with a live lease is returned as ``busy`` for the caller to refuse (``ReleaseBusy``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ferry.delivery.releases.lease import RENEW_SECONDS, Clock, now, stale, utc_now
from ferry.delivery.releases.records import ACTIVE, Release, ReleaseState
from ferry.delivery.releases.store import ReleaseConflict, ReleaseStore, StoredRelease

__all__ = [
    "LostLease",
    "Recovery",
    "ReleaseBusy",
    "ReleaseError",
    "Tracked",
    "current",
    "recover",
    "rollback_target",
]

S = ReleaseState


class ReleaseError(Exception):
    """A release operation refused or failed; the message is one line."""


class ReleaseBusy(ReleaseError):
    """Another live process holds an active release of this app."""


class LostLease(ReleaseError):
    """Our release was taken over (its record changed under us); we stop without writing again."""


class Tracked:
    """A release this process holds, and the resourceVersion of its last write."""

    def __init__(
        self, store: ReleaseStore, release: Release, resource_version: str, *, clock: Clock = utc_now
    ) -> None:
        self.store, self.release, self.resource_version, self.clock = store, release, resource_version, clock
        self.holder = release.lease_holder
        self._lock = asyncio.Lock()

    @classmethod
    async def create(cls, store: ReleaseStore, release: Release, *, clock: Clock = utc_now) -> Tracked:
        """Write a new record (``ReleaseBusy`` if another process wrote that revision first)."""
        release = replace(release, lease_renewed=now(clock), updated_at=now(clock))
        try:
            rv = await store.create(release)
        except ReleaseConflict as exc:
            raise ReleaseBusy(
                f"another ferry created revision {release.version} of {release.service} in {release.env} "
                "at the same time; run the command again"
            ) from exc
        return cls(store, release, rv, clock=clock)

    async def _write(self, release: Release) -> None:
        try:
            self.resource_version = await self.store.update(release, self.resource_version)
        except ReleaseConflict as exc:
            raise LostLease(
                f"revision {release.version} of {release.service} in {release.env} was taken over by another "
                f"ferry process (its record changed under us); stopping"
            ) from exc
        self.release = release

    async def move(self, state: ReleaseState, **changes: Any) -> Release:
        async with self._lock:
            stamp = now(self.clock)
            holder = self.holder if state in ACTIVE else ""
            await self._write(
                self.release.moved(
                    state, updated_at=stamp, lease_renewed=stamp, lease_holder=holder, **changes
                )
            )
            return self.release

    async def renew(self) -> None:
        async with self._lock:
            if self.release.state in ACTIVE:
                await self._write(replace(self.release, lease_renewed=now(self.clock)))

    @contextlib.asynccontextmanager
    async def heartbeat(self, period_seconds: float = RENEW_SECONDS) -> AsyncIterator[None]:
        """Renew the lease every ``period_seconds`` while the body runs; a lost lease cancels the body."""
        body = asyncio.current_task()
        lost: list[LostLease] = []

        async def beat() -> None:
            while True:
                await asyncio.sleep(period_seconds)
                try:
                    await self.renew()
                except LostLease as exc:
                    lost.append(exc)
                    if body is not None:
                        body.cancel()
                    return

        task = asyncio.create_task(beat())
        try:
            yield
        except asyncio.CancelledError:
            if lost:
                raise lost[0] from None
            raise
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def current(releases: Sequence[StoredRelease]) -> Release | None:
    """The deployed revision (the newest, if a crash left two)."""
    deployed = [r for r, _ in releases if r.state is S.DEPLOYED]
    return max(deployed, key=lambda r: r.version) if deployed else None


def rollback_target(releases: Sequence[StoredRelease], *, to: int | None = None) -> Release:
    """The revision ``ferry rollback`` re-applies: ``to``, or the last good one before the deployed one.

    Only revisions that were healthy once (``deployed`` or ``superseded``) qualify, and never the one that
    is deployed now (rolling back to it changes nothing).
    """
    by_version = {r.version: r for r, _ in releases}
    good = [r for r in by_version.values() if r.state in (S.DEPLOYED, S.SUPERSEDED)]
    live = current(releases)
    if to is not None:
        target = by_version.get(to)
        if target is None:
            known = ", ".join(str(v) for v in sorted(by_version)) or "none"
            raise ReleaseError(f"no revision {to} (revisions: {known})")
        if target.state not in (S.DEPLOYED, S.SUPERSEDED):
            ok = ", ".join(str(r.version) for r in sorted(good, key=lambda r: r.version)) or "none"
            raise ReleaseError(f"revision {to} is {target.state}, never deployed: choose one of {ok}")
        if live is not None and target.version == live.version:
            raise ReleaseError(f"revision {to} is the one deployed now: nothing to roll back")
        return target
    candidates = [r for r in good if live is None or r.version < live.version]
    if not candidates:
        raise ReleaseError("no earlier deployed revision to roll back to")
    return max(candidates, key=lambda r: r.version)


@dataclass
class Recovery:
    releases: list[StoredRelease]
    notes: list[str] = field(default_factory=list)  # one line per repaired release
    busy: Release | None = None  # an active release a live process holds

    @property
    def next_version(self) -> int:
        return max((r.version for r, _ in self.releases), default=0) + 1


Resume = Callable[[Release, Release], Awaitable[None]]
"""``resume(failed, target)``: re-apply ``target``'s manifest (and wait), for an interrupted rollback."""


async def recover(
    store: ReleaseStore,
    namespace: str,
    service: str,
    *,
    holder: str,
    resume: Resume | None = None,
    clock: Clock = utc_now,
    pid_alive: Callable[[int], bool] | None = None,
) -> Recovery:
    """Read the app's releases and repair what dead processes left (see the module docstring)."""
    listed = await store.list(namespace, service)
    result = Recovery(listed)
    by_version = {r.version: r for r, _ in listed}
    for release, rv in listed:
        if release.state not in ACTIVE:
            continue
        kwargs = {"pid_alive": pid_alive} if pid_alive is not None else {}
        why = stale(release.lease_holder, release.lease_renewed, clock=clock, **kwargs)
        if not why:
            result.busy = release
            continue
        tracked = Tracked(store, replace(release, lease_holder=holder), rv, clock=clock)
        try:
            await tracked.renew()  # take the lease first: a concurrent recoverer loses here
        except LostLease:
            continue
        target = by_version.get(release.rolled_back_to or -1)
        if release.state is S.ROLLING_BACK and resume is not None and target is not None:
            async with tracked.heartbeat():  # the resumed apply and wait may outlast the lease
                await resume(tracked.release, target)
            await tracked.move(
                S.ROLLED_BACK, reason=f"{release.reason}; rollback to v{target.version} resumed"
            )
            result.notes.append(
                f"v{release.version}: interrupted rollback to v{target.version} finished ({why})"
            )
        elif release.state is S.ROLLING_BACK:
            await tracked.move(
                S.FAILED, reason=f"interrupted while rolling back to v{target and target.version}"
            )
            result.notes.append(f"v{release.version}: interrupted rollback marked failed ({why})")
        else:
            await tracked.move(S.FAILED, reason=f"interrupted while {release.state} ({why})")
            result.notes.append(f"v{release.version}: left {release.state}, marked failed ({why})")
    deployed = sorted((item for item in listed if item[0].state is S.DEPLOYED), key=lambda i: i[0].version)
    for release, rv in deployed[:-1]:
        with contextlib.suppress(ReleaseConflict):
            await store.update(release.moved(S.SUPERSEDED, updated_at=now(clock)), rv)
            result.notes.append(f"v{release.version}: superseded by v{deployed[-1][0].version}")
    if result.notes:
        result.releases = await store.list(namespace, service)
    return result
