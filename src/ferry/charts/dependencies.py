"""Subcharts: what ``Chart.yaml`` declares, whether ``charts/`` holds it, and Helm's update/build to fix that.

ferry's example charts vendor their subcharts with ``repository: file://../<dir>``; ``update`` resolves the
declared ranges and writes ``charts/<name>-<version>.tgz`` plus ``Chart.lock``, ``build`` recreates ``charts/``
from the lock (what CI does on a clean checkout). Both run Helm's own dependency manager (in a private temporary
Helm configuration: the user's ``~/.config/helm`` is neither read nor written). Remote ``https://`` and
``oci://`` repositories work the same way but need the network, which ferry's tests never use.

Why `render` checks first: the Helm engine renders a chart whose declared subchart is absent *without it*,
silently (only the helm CLI's install command calls ``CheckDependencies``). A GitOps sync that quietly drops a
subchart's objects would then prune them from the cluster, so a missing or mismatched subchart is a
`DependencyError` before anything renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ferry.charts import engine
from ferry.charts.errors import DependencyError

__all__ = ["Dependency", "build_dependencies", "check_present", "list_dependencies", "update_dependencies"]

#: Statuses of `helm dependency list` that mean "charts/ holds what Chart.yaml asks for".
_SATISFIED = frozenset({"ok", "unpacked"})


@dataclass(frozen=True)
class Dependency:
    """One ``dependencies:`` entry of ``Chart.yaml`` and its state in ``charts/``.

    ``status`` is Helm's word: ``ok`` (archive present), ``unpacked`` (directory present), ``missing``,
    ``wrong version``, ``invalid version``, ``corrupt``, ``misnamed``, ``too many matches``.
    """

    name: str
    version: str
    repository: str
    status: str

    @property
    def satisfied(self) -> bool:
        return self.status in _SATISFIED


def list_dependencies(chart: Path) -> list[Dependency]:
    """Every dependency the chart directory declares, with its status."""
    return [
        Dependency(
            str(d.get("name", "")),
            str(d.get("version", "")),
            str(d.get("repository", "")),
            str(d.get("status", "")),
        )
        for d in engine.dependency_list(_directory(chart))
    ]


def update_dependencies(chart: Path) -> list[Dependency]:
    """Resolve ``Chart.yaml``'s dependencies into ``charts/`` and write ``Chart.lock``; returns the new state."""
    engine.dependency_update(_directory(chart))
    return _all_satisfied(chart, "update")


def build_dependencies(chart: Path) -> list[Dependency]:
    """Recreate ``charts/`` from ``Chart.lock`` (refused when the lock is out of date with Chart.yaml)."""
    directory = _directory(chart)
    if list_dependencies(directory) and not (directory / "Chart.lock").exists():
        raise DependencyError(f"{directory}: no Chart.lock to build from; update the dependencies first")
    engine.dependency_build(directory)
    return _all_satisfied(chart, "build")


def check_present(chart: Path) -> None:
    """Raise `DependencyError` unless every declared subchart is in ``charts/`` at an allowed version."""
    bad = [d for d in list_dependencies(chart) if not d.satisfied]
    if bad:
        listed = ", ".join(f"{d.name} {d.version} ({d.status})" for d in bad)
        raise DependencyError(
            f"{chart}/Chart.yaml: subcharts not in charts/: {listed}; run a dependency update (or build from Chart.lock)"
        )


def _all_satisfied(chart: Path, action: str) -> list[Dependency]:
    deps = list_dependencies(chart)
    bad = [d for d in deps if not d.satisfied]
    if bad:
        listed = ", ".join(f"{d.name} ({d.status})" for d in bad)
        raise DependencyError(f"{chart}: dependency {action} left subcharts unresolved: {listed}")
    return deps


def _directory(chart: Path) -> Path:
    chart = Path(chart)
    if not (chart / "Chart.yaml").is_file():
        raise DependencyError(f"{chart}: not a chart directory (no Chart.yaml)")
    return chart
