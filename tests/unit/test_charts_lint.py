"""`lint`: Helm's strict linter, findings returned as data, with values layered as for `render`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.charts import ChartError, Finding, lint, values_file
from tests.unit.charts_support import EXAMPLE_SERVICES, EXAMPLES, echo_values_chart, make_chart


@pytest.mark.parametrize("service", EXAMPLE_SERVICES)
def test_example_charts_are_clean(service: str) -> None:
    report = lint(EXAMPLES / service)
    assert report.clean, [str(f) for f in report.findings]
    assert report.findings == (Finding("info", "Chart.yaml", "icon is recommended"),)


def test_broken_yaml_is_an_error_finding_not_an_exception(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path, {"bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [unclosed\n"}
    )
    report = lint(chart)
    assert not report.clean
    [error] = report.errors
    assert error.path == "templates/bad.yaml" and error.message.startswith("unable to parse YAML")


def test_values_layers_are_linted_against_the_schema(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"replicaCount": {"type": "integer", "minimum": 1}}}
    chart = echo_values_chart(tmp_path, values="replicaCount: 1\n", schema=schema)
    assert lint(chart).clean
    prod = tmp_path / "prod.yaml"
    prod.write_text("replicaCount: 0\n")
    report = lint(chart, values=[values_file(prod)])
    assert not report.clean
    assert Finding("error", "values.yaml", "- at '/replicaCount': minimum: got 0, want 1") in report.findings
    assert all("\n" not in f.message for f in report.findings)
    assert not lint(chart, set_values=["replicaCount=0"]).clean


def test_a_missing_chart_raises(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match="no chart here"):
        lint(tmp_path / "missing")
