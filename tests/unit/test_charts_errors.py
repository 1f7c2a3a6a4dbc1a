"""Bad charts and bad values: one `ChartError` line naming the template, the schema rule, or the values layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.charts import ChartError, TemplateError, ValuesError, image_values, render, values_file
from tests.unit.charts_support import echo_values_chart, make_chart

SCHEMA = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "replicaCount": {"type": "integer", "minimum": 1},
        "image": {
            "type": "object",
            "required": ["repository"],
            "properties": {"repository": {"type": "string"}},
        },
    },
}
DEFAULTS = "replicaCount: 1\nimage: {repository: repo/app}\n"


def message(err: pytest.ExceptionInfo[ChartError]) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_schema_error_names_path_rule_and_the_layer_that_set_it(tmp_path: Path) -> None:
    chart = echo_values_chart(tmp_path, values=DEFAULTS, schema=SCHEMA)
    prod = tmp_path / "prod.yaml"
    prod.write_text("replicaCount: 0\n")
    with pytest.raises(ValuesError) as err:
        render(chart, release="r", namespace="ns", values=[values_file(prod)])
    assert message(err) == (
        f"values do not match app/values.schema.json: replicaCount: minimum: got 0, want 1 (set by {prod})"
    )


def test_schema_errors_from_set_and_plain_layers(tmp_path: Path) -> None:
    chart = echo_values_chart(tmp_path, values=DEFAULTS, schema=SCHEMA)
    with pytest.raises(ValuesError) as err:
        render(
            chart,
            release="r",
            namespace="ns",
            values=[{"image": {"repository": 5}}],
            set_values=["replicaCount=-1"],
        )
    text = message(err)
    assert "replicaCount: minimum: got -1, want 1 (set by --set 'replicaCount=-1')" in text
    assert "image.repository: got number, want string (set by values layer 1)" in text


def test_schema_error_for_a_deleted_required_key(tmp_path: Path) -> None:
    chart = echo_values_chart(tmp_path, values=DEFAULTS, schema=SCHEMA)
    with pytest.raises(ValuesError) as err:
        render(chart, release="r", namespace="ns", values=[{"image": None}])
    assert message(err) == "values do not match app/values.schema.json: missing property 'image'"


def test_schema_error_on_a_default_names_the_chart_defaults(tmp_path: Path) -> None:
    chart = echo_values_chart(tmp_path, values="replicaCount: 0\nimage: {repository: r}\n", schema=SCHEMA)
    with pytest.raises(ValuesError, match=r"replicaCount: minimum: got 0, want 1 \(set by chart defaults\)"):
        render(chart, release="r", namespace="ns")


def test_image_pin_is_named_when_it_breaks_the_schema(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"image": {"type": "object", "properties": {"tag": {"not": {"const": "latest"}}}}},
    }
    chart = echo_values_chart(tmp_path, values=DEFAULTS, schema=schema)
    with pytest.raises(ValuesError, match=r"image\.tag: .* \(set by image pin\)"):
        render(chart, release="r", namespace="ns", pin=image_values("repo/app", "latest"))


def test_broken_template_names_the_template_and_line(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path,
        {
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: {{ .Values.nope.deeper }}\n"
        },
    )
    with pytest.raises(TemplateError) as err:
        render(chart, release="r", namespace="ns")
    assert message(err).startswith("template app/templates/cm.yaml:5:")
    assert "nil pointer evaluating interface {}.deeper (at <.Values.nope.deeper>)" in message(err)


def test_template_syntax_error_names_the_template(tmp_path: Path) -> None:
    chart = make_chart(tmp_path, {"syntax.yaml": "data: {{ if }}\n"})
    with pytest.raises(TemplateError) as err:
        render(chart, release="r", namespace="ns")
    assert message(err) == "template app/templates/syntax.yaml:1: missing value for if"


def test_fail_in_a_template_names_it(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path, {"guard.yaml": '{{- if not .Values.ok }}{{ fail "set ok to true" }}{{ end }}\n'}
    )
    with pytest.raises(TemplateError) as err:
        render(chart, release="r", namespace="ns")
    assert message(err) == "template app/templates/guard.yaml:1:27: set ok to true"


def test_rendered_yaml_that_does_not_parse_names_the_template(tmp_path: Path) -> None:
    chart = make_chart(
        tmp_path, {"bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [unclosed\n"}
    )
    with pytest.raises(
        TemplateError, match=r"^template app/templates/bad\.yaml:\d+: rendered output is not valid YAML"
    ):
        render(chart, release="r", namespace="ns")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("just a string\n", "rendered a str, not a Kubernetes object"),
        ("metadata: {name: x}\n", "an object without apiVersion and kind"),
        ("apiVersion: v1\nkind: ConfigMap\ndata: {}\n", "ConfigMap without metadata.name"),
    ],
)
def test_output_that_is_not_an_object(tmp_path: Path, text: str, needle: str) -> None:
    chart = make_chart(tmp_path, {"odd.yaml": text})
    with pytest.raises(TemplateError, match=needle) as err:
        render(chart, release="r", namespace="ns")
    assert "app/templates/odd.yaml" in message(err)


def test_missing_chart_and_bad_release_name(tmp_path: Path) -> None:
    with pytest.raises(ChartError) as err:
        render(tmp_path / "nothing", release="r", namespace="ns")
    assert message(err) == f"{tmp_path / 'nothing'}: no chart here (the path does not exist)"
    not_a_chart = tmp_path / "empty"
    not_a_chart.mkdir()
    with pytest.raises(ChartError) as err:
        render(not_a_chart, release="r", namespace="ns")
    assert message(err) == f"{not_a_chart}: not a chart (no Chart.yaml)"
    archive = tmp_path / "junk.tgz"
    archive.write_bytes(b"not gzip")
    with pytest.raises(ChartError, match=r"junk\.tgz: not a loadable chart: "):
        render(archive, release="r", namespace="ns")
    chart = echo_values_chart(tmp_path)
    with pytest.raises(ChartError, match=r"^release name 'Bad_Name' is not valid"):
        render(chart, release="Bad_Name", namespace="ns")
    with pytest.raises(ChartError, match=r"kube_version 'latest' must look like v1\.30"):
        render(chart, release="r", namespace="ns", kube_version="latest")
