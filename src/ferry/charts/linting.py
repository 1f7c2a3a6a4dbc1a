"""`lint`: Helm's chart linter (``helm lint --strict --with-subcharts``), its findings returned as data.

A finding is not an exception: a chart with problems still yields a report, which the CLI prints and a
policy can gate on (`LintReport.clean`: no warning and no error). Only a chart that cannot be linted at all
(no such path) raises `ChartError`. Values are layered exactly as for `render`, so an environment's values file
is linted against the chart's schema and templates the way it will be rendered.

Helm's messages can span lines (schema errors list one rule per line); each is folded into one line here.
Severity follows Helm: ``info`` (e.g. "icon is recommended"), ``warning``, ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ferry.charts import engine
from ferry.charts.errors import one_line
from ferry.charts.values import merge_layers, set_layers

__all__ = ["Finding", "LintReport", "Severity", "lint"]

Severity = Literal["unknown", "info", "warning", "error"]
_SEVERITIES: dict[int, Severity] = {0: "unknown", 1: "info", 2: "warning", 3: "error"}


@dataclass(frozen=True)
class Finding:
    """One linter message: how bad, which file of the chart (``templates/x.yaml``), what."""

    severity: Severity
    path: str
    message: str

    def __str__(self) -> str:
        return f"[{self.severity.upper()}] {self.path}: {self.message}"


@dataclass(frozen=True)
class LintReport:
    chart: Path
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        """True when nothing is worse than ``info``: what ``helm lint --strict`` accepts."""
        return not any(f.severity in ("warning", "error", "unknown") for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")


def lint(
    chart: Path,
    *,
    values: Sequence[Mapping[str, Any]] = (),
    set_values: Sequence[str] = (),
    pin: Mapping[str, Any] | None = None,
    namespace: str = "default",
    kube_version: str | None = None,
) -> LintReport:
    """Lint the chart directory (or .tgz) with the same layered values a render would use."""
    layers: list[Mapping[str, Any]] = [*values, *set_layers(set_values)]
    if pin is not None:
        layers.append(pin)
    report = engine.lint(
        Path(chart),
        merge_layers(layers),
        namespace=namespace,
        kube_version=engine.normalize_kube_version(kube_version),
    )
    findings = tuple(
        Finding(
            _SEVERITIES.get(int(m.get("severity", 0)), "unknown"),
            str(m.get("path", "")),
            one_line(str(m.get("error", ""))),
        )
        for m in report.get("messages") or []
    )
    known = {f.message for f in findings}
    extra = tuple(
        Finding("error", "", one_line(str(e)))
        for e in report.get("errors") or []
        if one_line(str(e)) not in known
    )
    return LintReport(Path(chart), findings + extra)
