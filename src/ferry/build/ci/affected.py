"""Which services a commit range touches.

A service is affected by the range `since..HEAD` when any changed file lies under one of its watched paths
(its `path`, each `dependsOn` path, and its version file), or when its own entry in `ferry.yaml` changed
(a new service, a new test command, a new image name...). Other edits to `ferry.yaml` (`environments:` of the
delivery side, another service's entry) affect nobody.

`since` is None on the first run (no successful CI record yet): then every service is affected, which is
also the answer when the old `ferry.yaml` cannot be parsed: when in doubt, build.

Matching is on path components: `services/order` does not match `services/order-service/app.py`.
Renames count at both ends (`git diff --no-renames`), so moving a file out of a service affects it.

The answer carries a reason per service, shown by the progress output ("services/order-service/app.py
changed and 2 more"), because "why is this being rebuilt" is the first question a user asks of CI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ferry.build.ci.git import changed_files, read_file_at
from ferry.build.project import CONFIG_NAME, Project, ProjectError, Service, parse_project

__all__ = ["Affected", "affected_services", "touches"]


@dataclass(frozen=True)
class Affected:
    """Services to run, in ferry.yaml order, each with a one-line reason."""

    since: str | None
    reasons: dict[str, str]

    @property
    def names(self) -> list[str]:
        return list(self.reasons)


def touches(service: Service, path: str) -> bool:
    """True if a changed repository path lies under one of the service's watched paths."""
    return any(
        path == watched or path.startswith(watched.rstrip("/") + "/") for watched in service.watched_paths
    )


def affected_services(project: Project, repo: Path, since: str | None, until: str = "HEAD") -> Affected:
    """The services `since..until` affects (all of them when `since` is None)."""
    if since is None:
        return Affected(
            None, {name: "first run: no earlier successful CI record" for name in project.services}
        )
    changed = changed_files(repo, since, until)
    old_entries = _old_services(repo, since, project)
    reasons: dict[str, str] = {}
    for name, service in project.services.items():
        hits = [path for path in changed if touches(service, path)]
        if hits:
            more = f" and {len(hits) - 1} more" if len(hits) > 1 else ""
            reasons[name] = f"{hits[0]} changed{more}"
        elif CONFIG_NAME in changed and old_entries is not None and old_entries.get(name) != service:
            reasons[name] = (
                f"new in {CONFIG_NAME}" if name not in old_entries else f"its {CONFIG_NAME} entry changed"
            )
        elif CONFIG_NAME in changed and old_entries is None:
            reasons[name] = f"the {CONFIG_NAME} of {since[:7]} cannot be read"
    return Affected(since, reasons)


def _old_services(repo: Path, since: str, project: Project) -> dict[str, Service] | None:
    """The service entries of ferry.yaml at `since` ({} if it had none, None if it cannot be parsed)."""
    text = read_file_at(repo, since, CONFIG_NAME)
    if text is None:
        return {}
    try:
        return parse_project(text, project.root, check_paths=False).services
    except ProjectError:
        return None
