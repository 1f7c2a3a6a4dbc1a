"""CustomResourceDefinition defaulting and validation (apiextensions-apiserver v0.32 wording)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.resources.crd import crd_defaulter, crd_validator, custom_resource_strategy

SCHEMA_PATH = "spec.versions[0].schema.openAPIV3Schema"


def crd(schema: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": schema
                        or {"type": "object", "properties": {"spec": {"type": "object"}}}
                    },
                }
            ],
            **spec,
        },
    }
    crd_defaulter(obj)
    return obj


def errors(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [e.error() for e in crd_validator(obj, old)]


def test_defaulter_fills_names_conversion_and_status() -> None:
    obj = crd()
    assert obj["spec"]["names"] == {
        "plural": "widgets",
        "kind": "Widget",
        "singular": "widget",
        "listKind": "WidgetList",
    }
    assert obj["spec"]["conversion"] == {"strategy": "None"}
    status = obj["status"]
    assert status["acceptedNames"] == obj["spec"]["names"]
    assert status["storedVersions"] == ["v1"]
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("NamesAccepted", "True", "NoConflicts"),
        ("Established", "True", "InitialNamesAccepted"),
    ]
    again = copy.deepcopy(obj)
    crd_defaulter(again)
    assert again == obj


def test_valid_crd_passes() -> None:
    assert errors(crd()) == []


def test_name_must_be_plural_dot_group() -> None:
    obj = crd()
    obj["metadata"]["name"] = "widget.example.com"
    assert errors(obj) == [
        'metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group'
    ]


def test_group_scope_and_names() -> None:
    obj = crd(group="example", scope="Global")
    obj["metadata"]["name"] = "widgets.example"
    obj["spec"]["names"].update(plural="Widgets", listKind="Widget", shortNames=["w_1"])
    obj["metadata"]["name"] = "Widgets.example"
    assert errors(obj) == [
        'spec.group: Invalid value: "example": should be a domain with at least one dot',
        'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
        'spec.names.plural: Invalid value: "Widgets": a DNS-1035 label must consist of lower case alphanumeric '
        "characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. "
        "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        'spec.names.shortNames[0]: Invalid value: "w_1": a DNS-1035 label must consist of lower case alphanumeric '
        "characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. "
        "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        'spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same',
    ]


def test_exactly_one_storage_version_and_unique_names() -> None:
    obj = crd()
    second = copy.deepcopy(obj["spec"]["versions"][0])
    obj["spec"]["versions"].append(second)
    messages = errors(obj)
    assert [m.split(": Invalid value: ")[0] for m in messages] == [
        "spec.versions",
        "spec.versions",
        "status.storedVersions",
    ]
    assert messages[0].endswith(": must contain unique version names")
    assert messages[1].endswith(": must have exactly one version marked as storage version")
    # kube's stored-version check consumes each stored name once, so the duplicate storage version trips it too
    assert (
        messages[2]
        == 'status.storedVersions: Invalid value: []string{"v1"}: must have the storage version v1'
    )


def test_schema_is_required() -> None:
    obj = crd()
    del obj["spec"]["versions"][0]["schema"]
    assert errors(obj) == [f"{SCHEMA_PATH}: Required value: schemas are required"]


def test_structural_schema_rules_sorted_like_kube() -> None:
    schema = {
        "type": "object",
        "properties": {
            "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}},
            "spec": {
                "type": "object",
                "properties": {
                    "untyped": {"description": "no type"},
                    "list": {"type": "array"},
                    "choice": {"type": "object", "anyOf": [{"type": "object"}]},
                },
            },
        },
    }
    assert errors(crd(schema)) == [
        f"{SCHEMA_PATH}.properties[metadata]: Forbidden: must not specify anything other than name and "
        "generateName, but metadata is implicitly specified",
        f"{SCHEMA_PATH}.properties[spec].properties[choice].anyOf[0].type: Forbidden: must be empty to be structural",
        f"{SCHEMA_PATH}.properties[spec].properties[list].items: Required value: must be specified",
        f"{SCHEMA_PATH}.properties[spec].properties[untyped].type: Required value: must not be empty for "
        "specified object fields",
    ]


def test_root_must_be_an_object_and_openapi_subset() -> None:
    assert errors(crd({"type": "string"})) == [
        f'{SCHEMA_PATH}.type: Invalid value: "string": must be object at the root'
    ]
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "a": {"type": "int"},
                    "b": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                },
                "additionalProperties": {"type": "string"},
            }
        },
    }
    assert errors(crd(schema)) == [
        f"{SCHEMA_PATH}.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are "
        "mutual exclusive",
        f'{SCHEMA_PATH}.properties[spec].properties[a].type: Unsupported value: "int": supported values: '
        '"array", "boolean", "integer", "number", "object", "string"',
        f"{SCHEMA_PATH}.properties[spec].properties[b].uniqueItems: Forbidden: uniqueItems cannot be set to true "
        "since the runtime complexity becomes quadratic",
    ]


def test_int_or_string_pattern_is_structural() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "port": {
                        "x-kubernetes-int-or-string": True,
                        "anyOf": [{"type": "integer"}, {"type": "string"}],
                    }
                },
            }
        },
    }
    assert errors(crd(schema)) == []


def test_defaults_must_validate_and_be_pruned() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "size": {"type": "string", "enum": ["S", "M"], "default": "XL"},
                    "owner": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                        "default": {"name": "a", "x": 1},
                    },
                },
            }
        },
    }
    assert errors(crd(schema)) == [
        f'{SCHEMA_PATH}.properties[spec].properties[owner].default: Invalid value: {{"name":"a","x":1}}: '
        "must not have unknown fields",
        f'{SCHEMA_PATH}.properties[spec].properties[size].default: Unsupported value: "XL": supported values: "S", "M"',
    ]


def test_group_plural_scope_and_kind_are_immutable() -> None:
    old = crd()
    new = copy.deepcopy(old)
    new["spec"]["scope"] = "Cluster"
    new["spec"]["names"]["kind"] = "Gadget"
    new["spec"]["names"]["listKind"] = "GadgetList"
    assert errors(new, old) == [
        'spec.scope: Invalid value: "Cluster": field is immutable',
        'spec.names.kind: Invalid value: "Gadget": field is immutable',
    ]


def test_protected_groups_need_approval_annotation() -> None:
    obj = crd(group="widgets.k8s.io")
    obj["metadata"]["name"] = "widgets.widgets.k8s.io"
    assert errors(obj) == [
        "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval "
        'annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111'
    ]


def test_printer_columns_and_scale_paths() -> None:
    obj = crd()
    version = obj["spec"]["versions"][0]
    version["additionalPrinterColumns"] = [{"name": "Size", "type": "text", "jsonPath": "spec.size"}]
    version["subresources"] = {"scale": {"specReplicasPath": ".status.replicas"}}
    assert errors(obj) == [
        'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a '
        "json path under .spec",
        "spec.versions[0].subresources.scale.statusReplicasPath: Required value",
        'spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "text": must be one of '
        "boolean,date,integer,number,string",
        'spec.versions[0].additionalPrinterColumns[0].JSONPath: Invalid value: "spec.size": must be a simple json '
        "path starting with .",
    ]


def test_malformed_crd_is_reported_not_raised() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "x"}, "spec": {"versions": "v1", "names": [], "group": 3}}
    crd_defaulter(obj)
    messages = errors(obj)
    assert "spec.group: Invalid value: 3: must be of type string" in messages
    assert 'spec.versions: Invalid value: "v1": must be of type array' in messages
    assert "spec.names.plural: Required value" in messages


scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3)
leaf_schema = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["object", "array", "string", "integer", "number", "boolean", "int", "null", 3]
        ),
        "default": scalars | st.dictionaries(st.text(max_size=2), scalars, max_size=2),
        "enum": st.lists(scalars, max_size=3),
        "nullable": st.booleans(),
        "x-kubernetes-int-or-string": st.booleans(),
        "x-kubernetes-preserve-unknown-fields": st.booleans(),
        "x-kubernetes-embedded-resource": st.booleans(),
        "format": st.sampled_from(["date-time", "uuid", "ipv4", "byte", "int32"]),
        "pattern": st.sampled_from(["^a+$", "(", "[a-"]),
        "minimum": st.integers(-2, 2) | st.text(max_size=1),
        "maxLength": st.integers(0, 3) | st.text(max_size=1),
        "maxItems": st.integers(0, 2),
        "required": st.lists(st.text(max_size=2), max_size=2) | st.text(max_size=2),
        "uniqueItems": st.booleans(),
        "$ref": st.just("#/definitions/x"),
    },
)
schemas = st.recursive(
    leaf_schema,
    lambda children: st.builds(
        lambda base, props, items, extra: {**base, **props, **items, **extra},
        leaf_schema,
        st.fixed_dictionaries(
            {}, optional={"properties": st.dictionaries(st.text(max_size=3), children, max_size=3)}
        ),
        st.fixed_dictionaries({}, optional={"items": children}),
        st.fixed_dictionaries(
            {},
            optional={
                "additionalProperties": children | st.booleans(),
                "anyOf": st.lists(children, max_size=2),
                "not": children,
            },
        ),
    ),
    max_leaves=8,
)
values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(schema=schemas, spec=values, storage=st.booleans())
def test_random_schemas_never_crash_validation_or_serving(
    schema: dict[str, Any], spec: Any, storage: bool
) -> None:
    obj = crd({"type": "object", "properties": {"spec": schema}})
    obj["spec"]["versions"][0]["storage"] = storage
    for err in crd_validator(obj, None):
        assert err.error()
    default, validate = custom_resource_strategy(obj, "v1")
    cr = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}
    default(cr)
    once = copy.deepcopy(cr)
    default(cr)
    assert cr == once
    for err in validate(cr, None):
        assert err.error()
