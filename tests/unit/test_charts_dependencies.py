"""file:// subcharts: declared vs present, Helm's update and build, and render refusing a missing subchart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ferry.charts import (
    DependencyError,
    ValuesError,
    build_dependencies,
    list_dependencies,
    render,
    update_dependencies,
)
from tests.unit.charts_support import make_chart

SUB_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"


def parent_and_sub(tmp_path: Path) -> Path:
    make_chart(
        tmp_path,
        {"cm.yaml": SUB_CM},
        name="sub",
        values="greeting: hi\n",
        schema={"type": "object", "properties": {"greeting": {"maxLength": 5}}},
    )
    return make_chart(
        tmp_path,
        {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: parent-cm\ndata: {}\n"},
        name="parent",
        values="sub:\n  enabled: true\n",
        dependencies=[
            {"name": "sub", "version": "0.1.0", "repository": "file://../sub", "condition": "sub.enabled"}
        ],
    )


def test_missing_subchart_is_refused_before_rendering(tmp_path: Path) -> None:
    parent = parent_and_sub(tmp_path)
    assert [(d.name, d.status, d.satisfied) for d in list_dependencies(parent)] == [("sub", "missing", False)]
    with pytest.raises(DependencyError) as err:
        render(parent, release="r", namespace="ns")
    assert str(err.value) == (
        f"{parent}/Chart.yaml: subcharts not in charts/: sub 0.1.0 (missing); "
        "run a dependency update (or build from Chart.lock)"
    )


def test_update_vendors_the_subchart_and_writes_the_lock(tmp_path: Path) -> None:
    parent = parent_and_sub(tmp_path)
    deps = update_dependencies(parent)
    assert [(d.name, d.version, d.repository, d.status) for d in deps] == [
        ("sub", "0.1.0", "file://../sub", "ok")
    ]
    assert (parent / "charts" / "sub-0.1.0.tgz").is_file() and (parent / "Chart.lock").is_file()
    rendered = render(parent, release="r", namespace="ns", values=[{"sub": {"greeting": "hey"}}])
    data = {o["metadata"]["name"]: o.get("data") for o in rendered.objects}
    assert data == {"sub-cm": {"greeting": "hey"}, "parent-cm": {}}  # parent values reach the subchart
    off = render(parent, release="r", namespace="ns", set_values=["sub.enabled=false"])
    assert [o["metadata"]["name"] for o in off.objects] == ["parent-cm"]


def test_build_recreates_charts_from_the_lock(tmp_path: Path) -> None:
    parent = parent_and_sub(tmp_path)
    update_dependencies(parent)
    shutil.rmtree(parent / "charts")
    assert list_dependencies(parent)[0].status == "missing"
    assert [d.status for d in build_dependencies(parent)] == ["ok"]
    assert (parent / "charts" / "sub-0.1.0.tgz").is_file()


def test_build_without_a_lock_is_refused(tmp_path: Path) -> None:
    parent = parent_and_sub(tmp_path)
    with pytest.raises(DependencyError, match=r"no Chart\.lock to build from; update the dependencies first"):
        build_dependencies(parent)


def test_update_with_an_unresolvable_repository_is_one_line(tmp_path: Path) -> None:
    parent = make_chart(
        tmp_path,
        {},
        name="lonely",
        dependencies=[{"name": "ghost", "version": "0.1.0", "repository": "file://../ghost"}],
    )
    with pytest.raises(DependencyError) as err:
        update_dependencies(parent)
    assert str(err.value).startswith(f"{parent}: dependency update failed: ") and "\n" not in str(err.value)


def test_subchart_schema_error_names_the_values_path_through_the_parent(tmp_path: Path) -> None:
    parent = parent_and_sub(tmp_path)
    update_dependencies(parent)
    with pytest.raises(ValuesError) as err:
        render(parent, release="r", namespace="ns", values=[{"sub": {"greeting": "far too long"}}])
    assert str(err.value) == (
        "values do not match parent/values.schema.json: sub.greeting: maxLength: got 12, want 5 "
        "in subchart sub's schema (set by values layer 1)"
    )


def test_not_a_chart_directory(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match=r"not a chart directory \(no Chart\.yaml\)"):
        update_dependencies(tmp_path)
