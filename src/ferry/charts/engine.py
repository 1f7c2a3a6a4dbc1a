"""The only module that touches `helm_python` (helm-python-sdk 0.2.2, Helm Go SDK v4.2.3 behind ctypes).

Design: ferry uses Helm as a *template engine* only, the way Argo CD does: charts are rendered offline and the
result is applied by ferry's own engine; no Helm release storage, no `helm install`. Keeping every call to the
SDK in this one module (a) confines a young single-maintainer dependency to ~200 lines that can be swapped,
(b) turns every `HelmError` into a one-line `ChartError` at the edge, and (c) holds the two places where the
wrapper is not enough and the pinned C ABI is called directly:

* `render_files(..., kube_version=...)`: the Python wrapper does not expose `kube_version` (its default
  `.Capabilities.KubeVersion` is v1.36.0 whatever the cluster runs), but `helm_render` accepts it in its
  options JSON, so we call `_native.call_string("helm_render", ...)` ourselves. Pinned: `helm-python-sdk==0.2.2`.
* Schema failures arrive as one `HelmValuesError` whose text lists `chart:` headers and `- at '/ptr': rule`
  lines; `SchemaFailure` carries them parsed, so callers can say which values layer set the offending key.

Threads: a loaded chart is immutable on the Go side and ctypes releases the GIL, so renders may run on many
threads at once. Handles are freed deterministically (`loaded` is a context manager); nothing is cached.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
from helm_python import _native

from ferry.charts.errors import ChartError, DependencyError, TemplateError, ValuesError, one_line

__all__ = [
    "SchemaFailure",
    "Violation",
    "crds",
    "dependency_build",
    "dependency_list",
    "dependency_update",
    "lint",
    "loaded",
    "merge_values",
    "metadata",
    "normalize_kube_version",
    "parse_set",
    "render_files",
    "validate_release_name",
]

_KUBE_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")
_SCHEMA_LINE = re.compile(r"^- at '(?P<ptr>[^']*)': (?P<rule>.*)$")
_EXEC_AT = re.compile(r'^(?P<loc>\S+:\d+:\d+)\s+executing "[^"]*" at <(?P<expr>[^>]*)>:\s*(?P<msg>.*)$', re.S)
_ERROR_AT = re.compile(r"^(?:parse|execution) error at \((?P<loc>[^)]*)\): (?P<msg>.*)$", re.S)


@dataclass(frozen=True)
class Violation:
    """One schema rule broken: the chart whose schema says so, a JSON pointer into its values, the rule."""

    chart: str
    pointer: str
    rule: str


class SchemaFailure(Exception):
    """The merged values break the schema of the chart or of a subchart (parsed from Helm's message)."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(f"{v.chart}{v.pointer}: {v.rule}" for v in violations))
        self.violations = violations


def normalize_kube_version(version: str | None) -> str | None:
    """``"1.30"`` / ``"v1.30.2"`` → ``"v1.30.0"`` / ``"v1.30.2"``; anything else is a `ChartError`."""
    if version is None:
        return None
    m = _KUBE_VERSION.match(version.strip())
    if m is None:
        raise ChartError(f"kube_version {version!r} must look like v1.30 or v1.30.2")
    return f"v{m[1]}.{m[2]}.{m[3] or 0}"


def validate_release_name(name: str) -> None:
    try:
        helm.validate_release_name(name)
    except helm.HelmError as err:
        raise ChartError(f"release name {name!r} is not valid: {one_line(err.detail)}")


@contextmanager
def loaded(path: Path) -> Iterator[Any]:
    """The chart at *path* (a directory or a .tgz), freed on exit."""
    if not path.exists():
        raise ChartError(f"{path}: no chart here (the path does not exist)")
    try:
        chart = helm.Chart.load(path)
    except helm.HelmError as err:
        raise ChartError(f"{path}: not a loadable chart: {one_line(err.detail)}")
    try:
        yield chart
    finally:
        chart.close()


def metadata(chart: Any) -> dict[str, Any]:
    meta: dict[str, Any] = chart.metadata
    return meta


def crds(chart: Any) -> list[dict[str, str]]:
    """The chart's (and its subcharts') ``crds/`` files: ``[{"name", "filename", "data"}]``."""
    files: list[dict[str, str]] = chart.crds
    return files


def merge_values(chart: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Chart defaults coalesced with the user's values, exactly as a render sees them (null deletes a key)."""
    try:
        merged: dict[str, Any] = chart.merge_values(dict(values))
    except helm.HelmError as err:
        raise ValuesError(f"values cannot be merged with the chart defaults: {one_line(err.detail)}")
    return merged


def parse_set(expression: str) -> dict[str, Any]:
    """One ``--set`` string (``"image.tag=v3,replicaCount=2"``) as a nested dict, by Helm's own parser."""
    try:
        return helm.parse_set_string(expression)
    except helm.HelmError as err:
        raise ValuesError(f"--set {expression!r}: {one_line(err.detail)}")


def render_files(
    chart: Any,
    values: Mapping[str, Any],
    *,
    release: str,
    namespace: str,
    revision: int,
    is_upgrade: bool,
    kube_version: str | None,
) -> dict[str, str]:
    """``{template path: rendered text}``; NOTES.txt included, partials (``_*.tpl``) not."""
    opts: dict[str, Any] = {
        "name": release,
        "namespace": namespace,
        "revision": revision,
        "is_install": not is_upgrade,
        "is_upgrade": is_upgrade,
    }
    if kube_version is not None:
        opts["kube_version"] = kube_version
    try:
        payload = json.dumps(dict(values))
    except (TypeError, ValueError) as err:
        raise ValuesError(f"values must be plain YAML/JSON data: {err}")
    try:
        out = _native.call_string("helm_render", chart._raw(), payload, json.dumps(opts))
    except helm.HelmValuesError as err:
        raise _values_error(err.detail)
    except helm.HelmError as err:
        raise _template_error(err.detail)
    files: dict[str, str] = json.loads(out)
    return files


def lint(
    path: Path, values: Mapping[str, Any], *, namespace: str, kube_version: str | None
) -> dict[str, Any]:
    """``helm lint --strict`` as data: ``{"messages": [{"severity", "path", "error"}], "errors": [...]}``."""
    if not path.exists():
        raise ChartError(f"{path}: no chart here (the path does not exist)")
    try:
        report: dict[str, Any] = helm.lint(
            path,
            dict(values),
            strict=True,
            namespace=namespace,
            with_subcharts=True,
            kube_version=kube_version,
        )
    except helm.HelmError as err:
        raise ChartError(f"{path}: lint failed to run: {one_line(err.detail)}")
    return report


def dependency_list(path: Path) -> list[dict[str, Any]]:
    try:
        return helm.dependency_list(path)
    except helm.HelmError as err:
        raise DependencyError(f"{path}/Chart.yaml: dependencies cannot be read: {one_line(err.detail)}")


def dependency_update(path: Path) -> None:
    try:
        helm.dependency_update(path)
    except helm.HelmError as err:
        raise DependencyError(f"{path}: dependency update failed: {one_line(err.detail)}")


def dependency_build(path: Path) -> None:
    try:
        helm.dependency_build(path)
    except helm.HelmError as err:
        raise DependencyError(f"{path}: dependency build failed: {one_line(err.detail)}")


def _values_error(detail: str) -> Exception:
    violations: list[Violation] = []
    chart = ""
    for raw in detail.splitlines():
        line = raw.strip()
        m = _SCHEMA_LINE.match(line)
        if m is not None:
            violations.append(Violation(chart, m["ptr"], m["rule"]))
        elif line.endswith(":") and " " not in line:
            chart = line[:-1]
    if violations:
        return SchemaFailure(violations)
    return ValuesError(f"values refused by the chart: {one_line(detail)}")


def _template_error(detail: str) -> TemplateError:
    text = detail.strip()
    m = _EXEC_AT.match(text)
    if m is not None:
        return TemplateError(f"template {m['loc']}: {one_line(m['msg'])} (at <{m['expr']}>)")
    m = _ERROR_AT.match(text)
    if m is not None:
        return TemplateError(f"template {m['loc']}: {one_line(m['msg'])}")
    return TemplateError(f"rendering failed: {one_line(text)}")
