"""Values layering: chart defaults → values files → --set strings → the image pin, merged as Helm merges them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ferry.charts import ValuesError, image_values, merge_layers, render, values_file
from tests.unit.charts_support import echo_values_chart

DEFAULTS = """
replicaCount: 1
image: {repository: repo/app, tag: "1.0.0", digest: ""}
env: {LOG_LEVEL: info, FEATURE: "on"}
ports: [80, 443]
"""
DIGEST = "sha256:" + "ab" * 32


def seen(chart: Path, **kwargs: Any) -> dict[str, Any]:
    """The values the templates saw (echoed by the chart) and the ones `Rendered.values` reports: equal."""
    rendered = render(chart, release="r", namespace="ns", **kwargs)
    echoed: dict[str, Any] = json.loads(rendered.objects[0]["data"]["values"])
    assert echoed == rendered.values
    return echoed


def test_chart_defaults_alone(tmp_path: Path) -> None:
    values = seen(echo_values_chart(tmp_path, values=DEFAULTS))
    assert values["replicaCount"] == 1 and values["env"] == {"LOG_LEVEL": "info", "FEATURE": "on"}


def test_each_layer_wins_over_the_ones_before_it(tmp_path: Path) -> None:
    chart = echo_values_chart(tmp_path, values=DEFAULTS)
    env_file = tmp_path / "sit.yaml"
    env_file.write_text("replicaCount: 2\nimage: {tag: from-file}\nenv: {LOG_LEVEL: debug}\n")
    second = tmp_path / "sit-extra.yaml"
    second.write_text("replicaCount: 3\n")
    values = seen(
        chart,
        values=[values_file(env_file), values_file(second)],
        set_values=["replicaCount=4,image.tag=from-set", "env.EXTRA=x"],
        pin=image_values("repo/app", "1.4.2-a8f3d21", DIGEST),
    )
    assert values["replicaCount"] == 4  # --set beats both files; the later file beat the earlier one
    assert values["image"] == {"repository": "repo/app", "tag": "1.4.2-a8f3d21", "digest": DIGEST}  # pin last
    assert values["env"] == {"LOG_LEVEL": "debug", "FEATURE": "on", "EXTRA": "x"}  # maps merge key by key


def test_later_values_file_beats_earlier_one(tmp_path: Path) -> None:
    chart = echo_values_chart(tmp_path, values=DEFAULTS)
    values = seen(chart, values=[{"replicaCount": 2}, {"replicaCount": 3}])
    assert values["replicaCount"] == 3
    values = seen(chart, values=[{"replicaCount": 3}, {"replicaCount": 2}])
    assert values["replicaCount"] == 2


def test_null_in_a_layer_deletes_a_default_key(tmp_path: Path) -> None:
    values = seen(echo_values_chart(tmp_path, values=DEFAULTS), values=[{"env": {"FEATURE": None}}])
    assert values["env"] == {"LOG_LEVEL": "info"}


def test_lists_are_replaced_not_merged(tmp_path: Path) -> None:
    values = seen(echo_values_chart(tmp_path, values=DEFAULTS), values=[{"ports": [8080]}])
    assert values["ports"] == [8080]


def test_set_string_types_follow_helm(tmp_path: Path) -> None:
    values = seen(
        echo_values_chart(tmp_path, values=DEFAULTS), set_values=["replicaCount=5,image.tag=1.0.1,flag=true"]
    )
    assert (values["replicaCount"], values["image"]["tag"], values["flag"]) == (5, "1.0.1", True)


def test_merge_layers_does_not_mutate_its_inputs() -> None:
    first: dict[str, Any] = {"a": {"b": 1, "l": [1]}}
    second: dict[str, Any] = {"a": {"c": 2}}
    merged = merge_layers([first, second])
    merged["a"]["l"].append(2)
    assert merged == {"a": {"b": 1, "c": 2, "l": [1, 2]}}
    assert first == {"a": {"b": 1, "l": [1]}} and second == {"a": {"c": 2}}


def test_map_replaces_scalar_and_scalar_replaces_map() -> None:
    assert merge_layers([{"a": 1}, {"a": {"b": 2}}]) == {"a": {"b": 2}}
    assert merge_layers([{"a": {"b": 2}}, {"a": "flat"}]) == {"a": "flat"}


def test_image_values_shape() -> None:
    assert image_values("127.0.0.1:5000/demo-api", "1.0.0-abc1234", DIGEST) == {
        "image": {"repository": "127.0.0.1:5000/demo-api", "tag": "1.0.0-abc1234", "digest": DIGEST}
    }
    assert image_values("127.0.0.1:5000/demo-api", "1.0.0")["image"]["digest"] == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("repo/app:1.0", "1.0", None), "without a tag or digest"),
        (("repo/app@sha256:x", "1.0", None), "without a tag or digest"),
        (("", "1.0", None), "without a tag or digest"),
        (("repo/app", "bad tag", None), "image tag 'bad tag'"),
        (("repo/app", "1.0", "sha256:short"), "image digest 'sha256:short'"),
    ],
)
def test_image_values_refuses_malformed_pins(args: tuple[str, str, str | None], needle: str) -> None:
    with pytest.raises(ValuesError, match=needle) as err:
        image_values(*args)
    assert "\n" not in str(err.value)


def test_registry_port_is_not_mistaken_for_a_tag() -> None:
    assert image_values("127.0.0.1:5000/x", "1")["image"]["repository"] == "127.0.0.1:5000/x"


def test_values_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "prod.yaml"
    broken.write_text("replicaCount: [1,\n")
    with pytest.raises(ValuesError, match=r"prod\.yaml:\d+: not valid YAML"):
        values_file(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ValuesError, match=r"list\.yaml: a values file must be a mapping, not list"):
        values_file(listing)
    with pytest.raises(ValuesError, match=r"missing\.yaml: cannot read values file"):
        values_file(tmp_path / "missing.yaml")


def test_empty_values_file_is_an_empty_layer(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n")
    layer = values_file(empty)
    assert layer == {} and layer.source == str(empty)


def test_malformed_set_string_is_one_line(tmp_path: Path) -> None:
    chart = echo_values_chart(tmp_path, values=DEFAULTS)
    with pytest.raises(ValuesError) as err:
        render(chart, release="r", namespace="ns", set_values=["noequals"])
    assert str(err.value).startswith("--set 'noequals': key \"noequals\" has no value") and "\n" not in str(
        err.value
    )


def test_values_file_keeps_dates_as_strings(tmp_path: Path) -> None:
    dated = tmp_path / "dated.yaml"
    dated.write_text("config: {RELEASED: 2024-01-01}\n")
    assert values_file(dated) == {"config": {"RELEASED": "2024-01-01"}}
    assert seen(echo_values_chart(tmp_path, values=DEFAULTS), values=[values_file(dated)])["config"] == {
        "RELEASED": "2024-01-01"
    }


def test_values_that_are_not_plain_data_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValuesError, match=r"^values must be plain YAML/JSON data: .*set"):
        render(
            echo_values_chart(tmp_path, values=DEFAULTS), release="r", namespace="ns", values=[{"x": {1, 2}}]
        )
