"""Helm charts, rendered offline into plain Kubernetes objects: the adapter around helm-python-sdk.

ferry uses Helm as its template engine and nothing else (no release storage, no hooks, no ``helm install``):
a chart plus layered values become a `Rendered` list of plain manifests, which the apply engine applies and
the GitOps reconciler compares. The public face::

    render(chart, release=, namespace=, values=[layers], set_values=[...], pin=image_values(...)) -> Rendered
    add_config_checksums(rendered.objects) -> [Change]      config propagation (story 6)
    lint(chart, values=...) -> LintReport                    findings as data
    list_dependencies / update_dependencies / build_dependencies (file:// subcharts)
    values_file(path), image_values(repository, tag, digest) -> values layers

The modules behind it, by step:

    engine        -> the only importer of helm_python; HelmError -> ChartError at the edge
    values        -> layers, merged as Helm merges -f and --set; the image pin; values files
    dependencies  -> subcharts declared vs present; Helm's update/build
    rendering     -> render(), tying it together
    manifests     -> engine output -> objects, hooks, NOTES; namespaces filled
    checksums     -> checksum.ferry.dev/<kind>-<name> pod-template annotations
    linting       -> helm lint --strict as data
    errors        -> ChartError and its subclasses (the tree is drawn there)
"""

from __future__ import annotations

from ferry.charts.checksums import ANNOTATION_PREFIX, Change, ObjectRef, add_config_checksums, config_checksum
from ferry.charts.dependencies import Dependency, build_dependencies, list_dependencies, update_dependencies
from ferry.charts.errors import ChartError, DependencyError, TemplateError, ValuesError
from ferry.charts.linting import Finding, LintReport, lint
from ferry.charts.rendering import ChartInfo, Rendered, render
from ferry.charts.values import ValuesLayer, image_values, merge_layers, values_file

__all__ = [
    "ANNOTATION_PREFIX",
    "Change",
    "ChartError",
    "ChartInfo",
    "Dependency",
    "DependencyError",
    "Finding",
    "LintReport",
    "ObjectRef",
    "Rendered",
    "TemplateError",
    "ValuesError",
    "ValuesLayer",
    "add_config_checksums",
    "build_dependencies",
    "config_checksum",
    "image_values",
    "lint",
    "list_dependencies",
    "merge_layers",
    "render",
    "update_dependencies",
    "values_file",
]
