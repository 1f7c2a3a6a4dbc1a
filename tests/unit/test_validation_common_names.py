"""Name, label, annotation and selector rules, worded exactly like apimachinery v0.32."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.apiserver.errors import invalid
from ferry.cluster.resources.validation.common import (
    NAME_VALIDATORS,
    go_int_or_string,
    go_label_selector,
    go_string_map,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_path_segment_name,
    is_qualified_name,
    is_valid_label_value,
    selector_matches,
    validate_annotations,
    validate_label_selector,
    validate_labels,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def test_subdomain() -> None:
    assert is_dns1123_subdomain("demo-api.example") == []
    assert is_dns1123_subdomain("Bad_Name") == [SUBDOMAIN_MSG]
    assert is_dns1123_subdomain("a" * 254) == ["must be no more than 253 characters"]
    assert is_dns1123_subdomain("a\n") == [SUBDOMAIN_MSG]


def test_subdomain_error_as_kubectl_prints_it() -> None:
    from ferry.cluster.apiserver.errors import invalid_value

    err = invalid_value("metadata.name", "Bad_Name", is_dns1123_subdomain("Bad_Name")[0])
    assert err.error() == f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MSG}'


def test_label_and_1035() -> None:
    assert is_dns1123_label("web-0") == []
    assert is_dns1123_label("a.b") == ["must not contain dots"]
    assert is_dns1123_label("-x") == [LABEL_MSG]
    assert is_dns1123_label("a" * 64) == ["must be no more than 63 characters"]
    assert is_dns1035_label("svc") == []
    assert is_dns1035_label("1svc") == [DNS1035_MSG]


def test_qualified_name() -> None:
    assert is_qualified_name("app.kubernetes.io/name") == []
    assert is_qualified_name("a/b/c") == [
        "a qualified name "
        + QNAME_MSG
        + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    ]
    assert is_qualified_name("/x") == ["prefix part must be non-empty"]
    assert is_qualified_name("x/") == ["name part must be non-empty", "name part " + QNAME_MSG]
    assert is_qualified_name("Ex.com/x") == ["prefix part " + SUBDOMAIN_MSG]
    assert is_qualified_name("a" * 64) == ["name part must be no more than 63 characters"]


def test_label_values_and_config_keys() -> None:
    assert is_valid_label_value("") == []
    assert is_valid_label_value("my_value") == []
    assert is_valid_label_value("-x") == [LABEL_VALUE_MSG]
    assert is_config_map_key("app.properties") == []
    assert is_config_map_key("..x") == ["must not start with '..'"]
    assert is_config_map_key("a/b") == [
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
        "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
    ]
    assert is_path_segment_name("a/b") == ["may not contain '/'"]
    assert is_path_segment_name("..") == ["may not be '..'"]


def test_name_validators_registry() -> None:
    assert NAME_VALIDATORS[("", "Namespace")] is is_dns1123_label
    assert NAME_VALIDATORS[("", "Service")] is is_dns1035_label
    assert NAME_VALIDATORS[("apps", "StatefulSet")] is is_dns1123_label


def test_validate_labels_messages() -> None:
    errs = validate_labels({"a/b/c": "x", "ok": "-bad"}, "metadata.labels")
    assert [e.error() for e in errs] == [
        'metadata.labels: Invalid value: "a/b/c": a qualified name '
        + QNAME_MSG
        + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        f'metadata.labels: Invalid value: "-bad": {LABEL_VALUE_MSG}',
    ]
    assert [e.error() for e in validate_labels("x", "metadata.labels")] == [
        'metadata.labels: Invalid value: "x": must be of type object'
    ]
    assert [e.error() for e in validate_labels({"a": 1}, "metadata.labels")] == [
        "metadata.labels[a]: Invalid value: 1: must be of type string"
    ]


def test_annotations_size_limit_uses_v132_wording() -> None:
    errs = validate_annotations({"big": "x" * (256 * 1024)}, "metadata.annotations")
    assert [e.error() for e in errs] == ["metadata.annotations: Too long: may not be more than 262144 bytes"]
    assert validate_annotations({"big": "x" * (256 * 1024 - 3)}, "metadata.annotations") == []
    # Keys are checked case-insensitively.
    assert validate_annotations({"Example.COM/Key": "v"}, "metadata.annotations") == []


def test_label_selector_rules() -> None:
    sel = {
        "matchExpressions": [
            {"key": "a", "operator": "In", "values": []},
            {"key": "b", "operator": "Exists", "values": ["x"]},
            {"key": "c", "operator": "Nope"},
        ]
    }
    errs = validate_label_selector(sel, "spec.selector")
    assert [e.error() for e in errs] == [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
        "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' "
        "or 'DoesNotExist'",
        'spec.selector.matchExpressions[2].operator: Invalid value: "Nope": not a valid selector operator',
    ]
    assert validate_label_selector({"matchLabels": {"app": "x"}}, "spec.selector") == []


def test_selector_matching() -> None:
    labels = {"app": "x", "tier": "web"}
    assert selector_matches({}, labels)
    assert selector_matches({"matchLabels": {"app": "x"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "y"}}, labels)
    expr = {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}
    assert selector_matches(expr, labels)
    assert not selector_matches({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, labels)


def test_go_renderings() -> None:
    assert go_string_map({"b": "2", "a": "1"}) == 'map[string]string{"a":"1", "b":"2"}'
    assert go_string_map(None) == "map[string]string(nil)"
    assert go_label_selector({"matchLabels": {"app": "x"}}) == (
        'v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
    )
    assert go_label_selector({"matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]}) == (
        "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement"
        '{v1.LabelSelectorRequirement{Key:"k", Operator:"In", Values:[]string{"v"}}}}'
    )
    assert go_int_or_string("25%") == 'intstr.IntOrString{Type:1, IntVal:0, StrVal:"25%"}'
    assert go_int_or_string(0) == 'intstr.IntOrString{Type:0, IntVal:0, StrVal:""}'


def test_invalid_status_message_for_bad_name() -> None:
    from ferry.cluster.resources.validation.common import validate_object_meta

    errs = validate_object_meta(
        {"metadata": {"name": "Bad_Name", "namespace": "default"}}, None, namespaced=True
    )
    assert invalid("Deployment", "apps", "Bad_Name", errs).message == (
        f'Deployment.apps "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MSG}'
    )


_json: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
    max_leaves=10,
)


@given(_json)
def test_validators_never_raise_on_arbitrary_json(value: Any) -> None:
    validate_labels(value, "l")
    validate_annotations(value, "a")
    validate_label_selector(value, "s")
    validate_label_selector({"matchExpressions": [value], "matchLabels": value}, "s")
