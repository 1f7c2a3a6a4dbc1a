"""`render`: one chart, one release, layered values in, plain Kubernetes objects out.

    layers (defaults → env files → --set → pin)          values.merge_layers (Helm's mergeMaps)
          │
          ▼
    dependencies present?  ── no ──► DependencyError    dependencies.check_present
          │
          ▼
    Helm engine: coalesce with chart defaults, validate values.schema.json, execute templates
          │                                              engine.render_files (SchemaFailure → ValuesError)
          ▼
    split into objects / hooks / NOTES, fill namespaces  manifests.split_files, manifests.fill_namespaces
          │
          ▼
    Rendered (plain dicts; the caller owns them and may mutate them, e.g. add_config_checksums)

Nothing is cached and nothing touches a cluster: ``lookup`` returns an empty map, ``.Capabilities`` are Helm's
defaults unless `kube_version` says otherwise. A render is a pure function of (chart files, layers, release,
namespace, revision, is_upgrade, kube_version), so the GitOps reconciler can compare two renders to decide
whether an app changed. Errors come out as one `ChartError` line before anything is returned: a caller never
gets half a release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.charts import engine
from ferry.charts.dependencies import check_present
from ferry.charts.errors import ChartError, ValuesError
from ferry.charts.manifests import fill_namespaces, split_files
from ferry.charts.values import merge_layers, set_layers, source_of

__all__ = ["ChartInfo", "Rendered", "render"]


@dataclass(frozen=True)
class ChartInfo:
    """What ``Chart.yaml`` says about the rendered chart."""

    name: str
    version: str
    app_version: str


@dataclass
class Rendered:
    """One release's desired state.

    ``objects`` are plain manifests in template order (CRDs from ``crds/`` first), each namespaced one with
    ``metadata.namespace`` set; ``sources[i]`` is the template that produced ``objects[i]``. ``hooks`` are the
    objects annotated ``helm.sh/hook``: ferry does not run hooks in this version and never applies them.
    ``values`` are the merged values the templates saw (chart defaults included).
    """

    chart: ChartInfo
    release: str
    namespace: str
    revision: int
    objects: list[dict[str, Any]]
    hooks: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


def render(
    chart: Path,
    *,
    release: str,
    namespace: str,
    values: Sequence[Mapping[str, Any]] = (),
    set_values: Sequence[str] = (),
    pin: Mapping[str, Any] | None = None,
    kube_version: str | None = None,
    revision: int = 1,
    is_upgrade: bool = False,
) -> Rendered:
    """Render *chart* as release *release* in *namespace*.

    Layers, later wins: the chart's ``values.yaml``, then each of *values* (e.g. environment values files read
    with `values_file`), then each ``--set`` string of *set_values*, then *pin* (e.g. `image_values(...)`).
    Raises `ChartError` (`ValuesError`, `TemplateError`, `DependencyError`) with one line naming the cause.
    """
    engine.validate_release_name(release)
    kube = engine.normalize_kube_version(kube_version)
    layers: list[Mapping[str, Any]] = [*values, *set_layers(set_values)]
    if pin is not None:
        layers.append(pin)
    merged = merge_layers(layers)
    chart = Path(chart)
    if chart.is_dir():
        if not (chart / "Chart.yaml").is_file():
            raise ChartError(f"{chart}: not a chart (no Chart.yaml)")
        check_present(chart)
    with engine.loaded(chart) as loaded:
        meta = engine.metadata(loaded)
        info = ChartInfo(
            str(meta.get("name", "")), str(meta.get("version", "")), str(meta.get("appVersion", ""))
        )
        try:
            files = engine.render_files(
                loaded,
                merged,
                release=release,
                namespace=namespace,
                revision=revision,
                is_upgrade=is_upgrade,
                kube_version=kube,
            )
        except engine.SchemaFailure as failure:
            raise _schema_error(failure, info.name, meta, layers)
        final = engine.merge_values(loaded, merged)
        crds = engine.crds(loaded)
    split = split_files(files, chart_name=info.name, crds=crds)
    fill_namespaces(split.objects, namespace)
    fill_namespaces(split.hooks, namespace, also_cluster=split.objects)
    return Rendered(
        chart=info,
        release=release,
        namespace=namespace,
        revision=revision,
        objects=split.objects,
        hooks=split.hooks,
        notes=split.notes,
        values=final,
        sources=split.sources,
    )


def _schema_error(
    failure: engine.SchemaFailure, top: str, meta: Mapping[str, Any], layers: Sequence[Mapping[str, Any]]
) -> ValuesError:
    aliases = {
        str(d.get("name")): str(d.get("alias") or d.get("name")) for d in meta.get("dependencies") or []
    }
    parts = []
    for v in failure.violations:
        path = [p.replace("~1", "/").replace("~0", "~") for p in v.pointer.split("/")[1:]]
        sub = bool(v.chart) and v.chart != top
        if sub and v.chart in aliases:
            path = [aliases[v.chart], *path]
        where = f" in subchart {v.chart}'s schema" if sub else ""
        if path:
            parts.append(f"{'.'.join(path)}: {v.rule}{where} (set by {source_of(path, layers)})")
        else:
            parts.append(f"{v.rule}{where}")
    return ValuesError(f"values do not match {top}/values.schema.json: {'; '.join(parts)}")
