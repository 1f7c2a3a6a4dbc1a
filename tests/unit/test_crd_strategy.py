"""Custom resources served from a CRD schema: pruning, defaulting and validation like kube-apiserver."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.apiserver.errors import invalid
from ferry.cluster.resources.crd import crd_defaulter, custom_resource_strategy, prune
from ferry.cluster.resources.validation.openapi import go_float, schema_errors


def widget_crd() -> dict[str, Any]:
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.replicas",
                            "statusReplicasPath": ".status.replicas",
                        },
                    },
                    "schema": {"openAPIV3Schema": WIDGET_SCHEMA},
                }
            ],
        },
    }
    crd_defaulter(crd)
    return crd


WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "string", "enum": ["S", "M"]},
                "replicas": {"type": "integer", "minimum": 1, "default": 1},
                "owner": {
                    "type": "object",
                    "default": {},
                    "properties": {
                        "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
                        "team": {"type": "string", "default": "core"},
                    },
                },
                "labels": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                "port": {"x-kubernetes-int-or-string": True},
                "expires": {"type": "string", "format": "date-time"},
                "note": {"type": "string", "nullable": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
            },
        },
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
    },
}


def widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"},
        "spec": {"size": "S", **spec},
    }


def write(obj: dict[str, Any]) -> list[str]:
    """What the API server does on create: default (prune + defaults), then validate."""
    default, validate = custom_resource_strategy(widget_crd(), "v1")
    default(obj)
    return [e.error() for e in validate(obj, None)]


def test_valid_widget_passes_and_gets_defaults() -> None:
    obj = widget(tags=["a"], port="http", expires="2026-08-01T10:00:00Z", labels={"any": {"thing": 1}})
    assert write(obj) == []
    assert obj["spec"] == {
        "size": "S",
        "replicas": 1,
        "owner": {"team": "core"},
        "tags": ["a"],
        "port": "http",
        "expires": "2026-08-01T10:00:00Z",
        "labels": {"any": {"thing": 1}},
    }


def test_wrong_type_message_matches_kube() -> None:
    obj = widget(replicas="string")
    assert write(obj) == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
        ".spec.replicas: Invalid value: 0: .spec.replicas accessor error: string is of the type string, expected int64",
    ]


def test_required_enum_minimum_and_the_422_message() -> None:
    obj = widget(replicas=0)
    del obj["spec"]["size"]
    assert write(obj) == [
        "spec.size: Required value",
        "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
    ]
    obj = widget(size="XL")
    errs = write(obj)
    assert errs == ['spec.size: Unsupported value: "XL": supported values: "S", "M"']
    _default, validate = custom_resource_strategy(widget_crd(), "v1")
    assert invalid("Widget", "example.com", "w1", validate(obj, None)).message == (
        'Widget.example.com "w1" is invalid: spec.size: Unsupported value: "XL": supported values: "S", "M"'
    )


def test_nested_pattern_length_items_format_and_int_or_string() -> None:
    obj = widget(owner={"name": "Bob-The-Builder"}, tags=["a", "b", "c"], port=1.5, expires="tomorrow")
    assert write(obj) == [
        "spec.owner.name: Invalid value: \"Bob-The-Builder\": spec.owner.name in body should match '^[a-z]+$'",
        "spec.owner.name: Too long: may not be more than 8 bytes",
        "spec.tags: Too many: 3: must have at most 2 items",
        'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"',
        'spec.expires: Invalid value: "tomorrow": spec.expires in body must be of type date-time: "tomorrow"',
    ]


def test_nulls_nullable_fields_and_null_defaults() -> None:
    obj = widget(note=None, replicas=None, tags=None)
    assert write(obj) == []
    assert obj["spec"]["note"] is None
    assert obj["spec"]["replicas"] == 1
    assert "tags" not in obj["spec"]


def test_unknown_fields_are_pruned_and_reported_sorted() -> None:
    obj = widget(extra=1, owner={"name": "bob", "age": 3}, tags=["a"], labels={"kept": True})
    obj["topLevel"] = {"x": 1}
    obj["status"] = {"replicas": 1, "phase": "Ready"}
    obj["spec"]["template"] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"any": 1},
    }
    schema = widget_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert prune(obj, schema) == ["spec.extra", "spec.owner.age", "status.phase", "topLevel"]
    assert obj["metadata"] == {"name": "w1", "namespace": "default"}
    assert obj["spec"]["labels"] == {"kept": True}
    assert obj["spec"]["template"]["metadata"] == {"name": "p"}
    assert prune(obj, schema) == []


def test_pruned_paths_inside_arrays_use_indexes() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"a": {"type": "string"}}},
                    }
                },
            }
        },
    }
    obj: dict[str, Any] = {
        "apiVersion": "x/v1",
        "kind": "X",
        "spec": {"items": [{"a": "1"}, {"a": "2", "b": 3}]},
    }
    assert prune(obj, schema) == ["spec.items[1].b"]
    assert obj["spec"]["items"] == [{"a": "1"}, {"a": "2"}]


def test_embedded_resource_needs_api_version_and_kind() -> None:
    obj = widget(template={"metadata": {"name": "p"}})
    assert write(obj) == [
        "spec.template.apiVersion: Required value: must not be empty",
        "spec.template.kind: Required value: must not be empty",
    ]


def test_kind_and_api_version_must_match_the_crd_version() -> None:
    obj = widget()
    obj["apiVersion"] = "example.com/v2"
    assert write(obj) == ['apiVersion: Invalid value: "example.com/v2": must be example.com/v1']


def test_scale_replicas_paths_are_checked() -> None:
    obj = widget()
    obj["status"] = {"replicas": -1}
    assert write(obj) == [".status.replicas: Invalid value: -1: should be a non-negative integer"]
    obj = widget(replicas=2**31)
    assert write(obj) == [
        ".spec.replicas: Invalid value: 2147483648: should be less than or equal to 2147483647"
    ]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)
spec_keys = st.sampled_from(
    ["size", "replicas", "owner", "labels", "tags", "port", "expires", "note", "template", "x"]
)


@settings(max_examples=300, deadline=None)
@given(spec=st.dictionaries(spec_keys, json_values, max_size=6), top=json_values)
def test_strategy_never_raises_and_defaulting_is_idempotent(spec: dict[str, Any], top: Any) -> None:
    default, validate = custom_resource_strategy(widget_crd(), "v1")
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": spec,
        "extra": top,
    }
    default(obj)
    again = copy.deepcopy(obj)
    default(again)
    assert again == obj
    assert "extra" not in obj
    errs = validate(obj, None)
    assert all(e.field and e.error() for e in errs)


def test_composite_keywords_report_at_the_nil_path_like_kube() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "addr": {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
                    "ratio": {"type": "number", "maximum": 1000000.0, "exclusiveMaximum": True},
                    "mode": {"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
                },
            }
        },
    }
    crd = widget_crd()
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = schema
    del crd["spec"]["versions"][0]["subresources"]
    _default, validate = custom_resource_strategy(crd, "v1")
    obj = widget(addr="not-an-ip", ratio=2000000, mode={"a": 1, "b": 2})
    assert [e.error() for e in validate(obj, None)] == [
        '<nil>: Invalid value: "": "spec.addr" must validate at least one schema (anyOf)',
        "spec.ratio: Invalid value: 2000000: spec.ratio in body should be less than 1000000",
        '<nil>: Invalid value: "": "spec.mode" must validate one and only one schema (oneOf). Found 2 valid alternatives',
    ]
    assert validate(widget(addr="10.0.0.1", ratio=0.5, mode={"a": 1}), None) == []


def test_float_bounds_print_like_go() -> None:
    assert [go_float(x) for x in (1.0, 0.5, 100000.0, 1e6, 1234567.0, 0.0001, 1e-05, -2.5)] == [
        "1", "0.5", "100000", "1e+06", "1.234567e+06", "0.0001", "1e-05", "-2.5",
    ]  # fmt: skip
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"r": {"type": "number", "minimum": 0.5}}}},
    }
    assert [e.error() for e in schema_errors({"spec": {"r": 0.25}}, schema)] == [
        "spec.r: Invalid value: 0.25: spec.r in body should be greater than or equal to 0.5"
    ]
