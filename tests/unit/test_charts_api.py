"""The public face of `ferry.charts` is the contract delivery code (apply, GitOps, deploy) codes against."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import ferry.charts
from ferry.charts import ChartError, DependencyError, Rendered, TemplateError, ValuesError, render

PACKAGE = Path(ferry.charts.__file__).parent


def test_public_names() -> None:
    assert sorted(ferry.charts.__all__) == [
        "ANNOTATION_PREFIX", "Change", "ChartError", "ChartInfo", "Dependency", "DependencyError", "Finding",
        "LintReport", "ObjectRef", "Rendered", "TemplateError", "ValuesError", "ValuesLayer",
        "add_config_checksums", "build_dependencies", "config_checksum", "image_values", "lint",
        "list_dependencies", "merge_layers", "render", "update_dependencies", "values_file",
    ]  # fmt: skip
    for name in ferry.charts.__all__:
        assert getattr(ferry.charts, name) is not None


def test_render_signature_matches_the_contract() -> None:
    params = inspect.signature(render).parameters
    assert list(params)[:6] == ["chart", "release", "namespace", "values", "set_values", "pin"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for name, p in params.items() if name != "chart")
    fields = [f.name for f in dataclasses.fields(Rendered)]
    assert {"objects", "hooks", "notes", "values", "release", "namespace", "chart"} <= set(fields)


def test_error_tree() -> None:
    for cls in (ValuesError, TemplateError, DependencyError):
        assert issubclass(cls, ChartError)
    assert str(ChartError("first line\n  second\n")) == "first line; second"


def test_only_the_engine_module_imports_helm_python() -> None:
    importers = []
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        if any(name.split(".")[0] == "helm_python" for name in names):
            importers.append(path.name)
    assert importers == ["engine.py"]
