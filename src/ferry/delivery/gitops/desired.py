"""The desired state of every app, rendered once per change and fingerprinted.

Rendering a chart is the expensive step of a reconcile tick, so ``DesiredStates`` keeps the last render of
each (environment, service) app and re-renders only what may have changed since:

* the apps the config repo's new commits touched (``ConfigRepo.changes(old, new)``; an environment-wide values
  file touches every service of that environment), and
* the apps whose chart directory changed on disk (a fingerprint of the chart's files: the chart lives in the
  app repository, which the config repo's history does not see).

A first refresh (nothing rendered yet) renders everything. An app without a pin in the environment has never
been promoted there and is left out (no status object, nothing applied). An app that cannot be rendered — a
broken template, values failing the chart's schema — is kept with its one-line ``error`` so the reconciler
reports it on that app alone and keeps syncing the others.

``Desired.hash`` is a sha256 over the rendered objects (canonical JSON) and the pin's digest: two renders of
the same inputs give the same hash, so "did the desired state change since the last sync" is one string
comparison against the ``syncedHash`` the status store keeps in the cluster.

Not thread-safe: the loop calls ``refresh`` from one worker thread at a time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ferry.charts import ChartError
from ferry.delivery.apps import AppError, DesiredApp, render_app
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.platform import Platform, PlatformError
from ferry.delivery.repoerrors import ConfigRepoError

__all__ = ["AppKey", "Desired", "DesiredStates", "chart_fingerprint", "desired_hash"]

AppKey = tuple[str, str]
"""``(environment, service)``."""


@dataclass(frozen=True)
class Desired:
    """One app at one config repo commit: the render (or why it failed), its hash and who changed it last."""

    env: str
    service: str
    revision: str
    app: DesiredApp | None
    error: str = ""
    hash: str = ""
    author: str = ""  # the author of the last commit that touched the app in the config repo

    @property
    def key(self) -> AppKey:
        return (self.env, self.service)

    @property
    def name(self) -> str:
        return f"{self.env}/{self.service}"


def desired_hash(app: DesiredApp) -> str:
    canonical = json.dumps(app.objects, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{app.pin.digest}\n{canonical}".encode()).hexdigest()


def chart_fingerprint(chart: Path) -> str:
    """A sha256 over the chart directory's files (paths and bytes); ``""`` when it does not exist."""
    if not chart.is_dir():
        return ""
    h = hashlib.sha256()
    for path in sorted(p for p in chart.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(chart)).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<unreadable>")
    return h.hexdigest()


def render_one(platform: Platform, repo: ConfigRepo, env: str, service: str, revision: str) -> Desired | None:
    """The app at ``revision``; None when the environment has no pin for the service (never promoted)."""
    try:
        if repo.read_pin(env, service, revision=revision) is None:
            return None
    except ConfigRepoError as exc:  # a malformed pin is this app's problem, reported on it
        return Desired(env, service, revision, None, error=str(exc))
    history = repo.history(env, service, limit=1)
    author = history[0].author if history else ""
    try:
        app = render_app(platform, repo, env, service, revision=revision)
    except (ChartError, AppError, ConfigRepoError, PlatformError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        return Desired(env, service, revision, None, error=message, author=author)
    return Desired(env, service, revision, app, hash=desired_hash(app), author=author)


class DesiredStates:
    """The last render of every app; ``refresh(head)`` re-renders what changed (see the module docstring)."""

    def __init__(self, platform: Platform, repo: ConfigRepo) -> None:
        self.platform = platform
        self.repo = repo
        self.revision: str | None = None
        self.apps: dict[AppKey, Desired] = {}
        self._charts: dict[str, str] = {}

    def _gitops_envs(self) -> list[str]:
        """Environments the reconciler owns; `delivery: push` ones belong to ferry deploy."""
        return [e.name for e in self.platform.environments if e.delivery == "gitops"]

    def all_keys(self) -> list[AppKey]:
        return [(e, s) for e in self._gitops_envs() for s in self.platform.services]

    def refresh(self, head: str) -> set[AppKey]:
        """Bring every app to ``head``; returns the apps that were re-rendered."""
        if self.revision is None:
            touched = set(self.all_keys())
        else:
            touched = set()
            for env, service in self.repo.changes(self.revision, head) if self.revision != head else ():
                if env not in self._gitops_envs():
                    continue
                if service is None:
                    touched |= {(env, s) for s in self.platform.services}
                elif service in self.platform.services:
                    touched.add((env, service))
        charts = {s: chart_fingerprint(self.platform.chart_dir(s)) for s in self.platform.services}
        for service, fingerprint in charts.items():
            if self._charts.get(service, fingerprint) != fingerprint:
                touched |= {(e, service) for e in self._gitops_envs()}
        self._charts = charts
        for key in sorted(touched):
            desired = render_one(self.platform, self.repo, key[0], key[1], head)
            if desired is None:
                self.apps.pop(key, None)
            else:
                self.apps[key] = desired
        for key, old in list(self.apps.items()):  # untouched apps are the same at the new commit
            if key not in touched and old.revision != head:
                self.apps[key] = Desired(old.env, old.service, head, old.app, old.error, old.hash, old.author)
        self.revision = head
        return touched

    def at(self, env: str, service: str, revision: str) -> Desired | None:
        """A one-off render at another commit (resuming an operation recorded at an older SHA)."""
        if revision == self.revision and (env, service) in self.apps:
            return self.apps[(env, service)]
        return render_one(self.platform, self.repo, env, service, revision)
