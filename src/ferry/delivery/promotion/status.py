"""``ferry status``: every environment by service, with what it runs, whether it is in sync and healthy.

One row per (environment, service) in ``ferry.yaml`` order:

    env   service        version         digest               sync       health     last change
    sit   order-service  1.4.2-a8f3d21   sha256:ab12cd34ef56…  Synced     Healthy    2026-11-27T05:10:00Z alice: promote ...

* **version, digest** — the config repo's pin (what the environment *should* run); ``-`` when never pinned.
* **sync, health** — ``ferry.delivery.promotion.observe``: the reconciler's status ConfigMap when it exists,
  else a live dry-run diff; health always live. ``Unknown`` with the reason when the cluster cannot be
  reached or the app cannot be rendered: one broken environment does not hide the others.
* **last change** — the newest commit in ``ConfigRepo.history`` for the service's directory (author date,
  author, subject).

The apps are observed concurrently (one client per environment, at most ``CONCURRENCY`` reads in flight), so
the command costs about one round of reads, not one per app.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.pins import short_digest
from ferry.delivery.platform import Platform
from ferry.delivery.promotion.observe import AppState, Observer

__all__ = ["CONCURRENCY", "StatusRow", "collect_status"]

CONCURRENCY = 8


@dataclass(frozen=True)
class StatusRow:
    env: str
    service: str
    tag: str | None
    digest: str | None
    sync: str
    health: str
    reason: str  # why not Healthy / Synced, or why Unknown
    changed_at: str | None
    changed_by: str | None
    change: str | None  # the commit subject
    commit: str | None

    @property
    def short_digest(self) -> str:
        return short_digest(self.digest) if self.digest else "-"

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.env,
            "service": self.service,
            "version": self.tag,
            "digest": self.digest,
            "sync": self.sync,
            "health": self.health,
            "reason": self.reason,
            "lastChange": None
            if self.commit is None
            else {
                "time": self.changed_at,
                "author": self.changed_by,
                "subject": self.change,
                "commit": self.commit,
            },
        }


async def collect_status(platform: Platform, repo: ConfigRepo, observer: Observer) -> list[StatusRow]:
    """The rows, environments in promotion order, services in ``ferry.yaml`` order."""
    limit = asyncio.Semaphore(CONCURRENCY)
    cells = [(env, name) for env in platform.environments for name in platform.services]
    pins = {(env.name, name): repo.read_pin(env.name, name) for env, name in cells}

    async def one(env_name: str, name: str) -> AppState:
        async with limit:
            return await observer.observe(platform.environment(env_name), name, pins[(env_name, name)])

    states = await asyncio.gather(*(one(env.name, name) for env, name in cells))
    rows = []
    for (env, name), state in zip(cells, states, strict=True):
        pin = pins[(env.name, name)]
        last = repo.history(env.name, name, limit=1)
        entry = last[0] if last else None
        if pin is None:
            sync, health, reason = "-", "-", "never promoted"
        else:
            sync, health = state.sync, state.health
            reason = state.reason if health != "Healthy" else state.sync_reason
        rows.append(
            StatusRow(
                env=env.name,
                service=name,
                tag=pin.tag if pin else None,
                digest=pin.digest if pin else None,
                sync=sync,
                health=health,
                reason=reason,
                changed_at=entry.time if entry else None,
                changed_by=entry.author if entry else None,
                change=entry.subject if entry else None,
                commit=entry.sha if entry else None,
            )
        )
    return rows
