"""Deciding what one `ferry ci` run will do, before it does anything.

The plan fixes the repository root, the project (`ferry.yaml`), the HEAD commit, the commit range and the
services to run. Everything that is the user's mistake is found here and raised as `CiConfigError` (exit
status 2), so a bad `--since`, an unknown `--service` or a typo in `ferry.yaml` never runs half a pipeline.

The range starts at `--since REV` when given, else at the SHA of the last fully successful run
(`.ferry/ci/last-success`), else nowhere (the first run builds every service). A recorded SHA that is no
longer in the clone (a shallow checkout, a force-push) also means "build everything", with that reason shown.

`--service NAME` narrows the run to those services (still only if affected); `--all` ignores the range.

A dirty work tree is refused: the image would be tagged `<version>-<sha7>` while containing code that is
not in that commit. `--allow-dirty` builds it anyway, tagged `<version>-<sha7>-dirty` so the tag does not lie,
and the run never counts as the last success.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ferry.build.ci.affected import Affected, affected_services
from ferry.build.ci.git import Commit, GitError, dirty_files, head_commit, resolve, toplevel
from ferry.build.ci.records import read_last_success
from ferry.build.project import Project, ProjectError, Service, load_project

__all__ = ["CiConfigError", "Plan", "make_plan"]

DIRTY_SUFFIX = "-dirty"


class CiConfigError(Exception):
    """A usage or configuration error: nothing was run (exit status 2)."""


@dataclass(frozen=True)
class Plan:
    root: Path
    project: Project
    commit: Commit
    affected: Affected
    services: list[Service]
    dirty: list[str]
    narrowed: bool  # --service or --all: a success does not move last-success

    @property
    def tag_suffix(self) -> str:
        return DIRTY_SUFFIX if self.dirty else ""

    @property
    def records_last_success(self) -> bool:
        return not self.dirty and not self.narrowed


def make_plan(
    repo: Path,
    *,
    since: str | None = None,
    only: Sequence[str] = (),
    all_services: bool = False,
    allow_dirty: bool = False,
) -> Plan:
    try:
        root = toplevel(repo.resolve())
        project = load_project(root)
        commit = head_commit(root)
    except (GitError, ProjectError) as exc:
        raise CiConfigError(str(exc)) from None
    if not project.services:
        raise CiConfigError(f"{root / 'ferry.yaml'}: no services: declare them under `services:`")
    for name in only:
        if name not in project.services:
            close = difflib.get_close_matches(name, list(project.services), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(project.services)})"
            raise CiConfigError(f"--service {name}: no such service in ferry.yaml{hint}")
    dirty = dirty_files(root)
    if dirty and not allow_dirty:
        shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        raise CiConfigError(
            f"the work tree has uncommitted changes ({shown}): an image tagged "
            f"...-{commit.short} would not be that commit; commit them, or pass --allow-dirty "
            f"(tags get {DIRTY_SUFFIX!r})"
        )
    affected = _affected(project, root, since, all_services)
    names = [n for n in affected.reasons if not only or n in only]
    return Plan(
        root=root,
        project=project,
        commit=commit,
        affected=Affected(affected.since, {n: affected.reasons[n] for n in names}),
        services=[project.services[n] for n in names],
        dirty=dirty,
        narrowed=bool(only) or all_services,
    )


def _affected(project: Project, root: Path, since: str | None, all_services: bool) -> Affected:
    if all_services:
        return Affected(None, {name: "--all" for name in project.services})
    if since is not None:
        try:
            start = resolve(root, since)
        except GitError as exc:
            raise CiConfigError(f"--since: {exc}") from None
        return affected_services(project, root, start)
    recorded = read_last_success(root)
    if recorded is None:
        return affected_services(project, root, None)
    try:
        start = resolve(root, recorded)
    except GitError:
        why = f"the last successful CI commit {recorded[:7]} is not in this clone"
        return Affected(None, {name: why for name in project.services})
    return affected_services(project, root, start)
