"""Validation of Namespace, ConfigMap, Secret, Node, Endpoints, Lease and Events (kube v1.32 wording)."""

from __future__ import annotations

import base64
from typing import Any

from ferry.cluster.apiserver.errors import invalid
from ferry.cluster.resources.defaults.core import default_secret
from ferry.cluster.resources.validation.common import is_dns1035_label, is_dns1123_label
from ferry.cluster.resources.validation.core import (
    NAME_VALIDATORS,
    validate_config_map,
    validate_endpoints,
    validate_lease,
    validate_namespace,
    validate_node,
    validate_secret,
)
from ferry.cluster.resources.validation.events import validate_core_event, validate_events_event

CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
IMMUTABLE_SET = "Forbidden: field is immutable when `immutable` is set"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def msgs(errs: list[Any]) -> list[str]:
    return [e.error() for e in errs]


def test_name_rules_of_owned_kinds() -> None:
    assert NAME_VALIDATORS[("", "Namespace")] is is_dns1123_label
    assert NAME_VALIDATORS[("", "Service")] is is_dns1035_label
    assert NAME_VALIDATORS[("rbac.authorization.k8s.io", "Role")]("a/b") == ["may not contain '/'"]


def test_namespace_finalizers_must_be_standard_or_qualified() -> None:
    ok = {"spec": {"finalizers": ["kubernetes", "example.com/cleanup"]}}
    assert validate_namespace(ok, None) == []
    bad = {"spec": {"finalizers": ["cleanup"]}}
    assert msgs(validate_namespace(bad, None)) == [
        'spec.finalizers: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified'
    ]


def test_config_map_keys_and_duplicates_between_data_and_binary_data() -> None:
    cm = {"data": {"ok.key": "1", "bad key": "2", "both": "3"}, "binaryData": {"both": b64("x")}}
    assert msgs(validate_config_map(cm, None)) == [
        f'data[bad key]: Invalid value: "bad key": {CONFIG_KEY_MSG}',
        'data[both]: Invalid value: "both": duplicate of key present in binaryData',
    ]
    assert msgs(validate_config_map({"data": {"..x": "1"}}, None)) == [
        "data[..x]: Invalid value: \"..x\": must not start with '..'"
    ]


def test_config_map_total_size_is_limited_to_one_mebibyte() -> None:
    cm = {"data": {"a": "x" * (512 * 1024)}, "binaryData": {"b": b64("y" * (512 * 1024 + 1))}}
    errs = validate_config_map(cm, None)
    assert msgs(errs) == ["Too long: may not be more than 1048576 bytes"]
    assert errs[0].field == ""
    assert validate_config_map({"data": {"a": "x" * (1024 * 1024)}}, None) == []


def test_immutable_config_map_payload_cannot_change() -> None:
    old = {"data": {"a": "1"}, "immutable": True}
    assert validate_config_map({"data": {"a": "1"}, "immutable": True}, old) == []
    new = {"data": {"a": "2"}, "binaryData": {"b": b64("z")}}
    assert msgs(validate_config_map(new, old)) == [
        f"immutable: {IMMUTABLE_SET}",
        f"data: {IMMUTABLE_SET}",
        f"binaryData: {IMMUTABLE_SET}",
    ]
    message = invalid("ConfigMap", "", "cm", validate_config_map(new, old)).message
    assert message.startswith(
        'ConfigMap "cm" is invalid: [immutable: Forbidden: field is immutable when `immutable` is set, '
    )


def test_secret_data_must_be_base64_with_valid_keys() -> None:
    secret = {"type": "Opaque", "data": {"good": b64("v"), "bad": "!!!!", "b@d": b64("v")}}
    assert msgs(validate_secret(secret, None)) == [
        'data[b@d]: Invalid value: "b@d": ' + CONFIG_KEY_MSG,
        'data[bad]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 0',
    ]


def test_secret_type_required_keys() -> None:
    tls = {"type": "kubernetes.io/tls", "data": {"tls.crt": b64("c")}}
    assert msgs(validate_secret(tls, None)) == ["data[tls.key]: Required value"]
    docker = {"type": "kubernetes.io/dockerconfigjson", "data": {}}
    assert msgs(validate_secret(docker, None)) == ["data[.dockerconfigjson]: Required value"]
    broken = {"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": b64("{nope")}}
    assert msgs(validate_secret(broken, None)) == [
        'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": '
        "invalid character 'n' looking for beginning of object key string"
    ]
    good = {"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": b64('{"auths":{}}')}}
    assert validate_secret(good, None) == []
    token = {"type": "kubernetes.io/service-account-token", "metadata": {"name": "t"}}
    assert msgs(validate_secret(token, None)) == [
        "metadata.annotations[kubernetes.io/service-account.name]: Required value"
    ]
    basic = {"type": "kubernetes.io/basic-auth", "data": {}}
    assert msgs(validate_secret(basic, None)) == [
        "data[username]: Required value",
        "data[password]: Required value",
    ]


def test_secret_string_data_reaches_validation_merged() -> None:
    secret: dict[str, Any] = {"type": "kubernetes.io/tls", "stringData": {"tls.crt": "c", "tls.key": "k"}}
    default_secret(secret)
    assert validate_secret(secret, None) == []


def test_secret_type_is_immutable_and_immutable_data_cannot_change() -> None:
    old = {"type": "Opaque", "data": {"a": b64("1")}, "immutable": True}
    new = {
        "type": "kubernetes.io/tls",
        "data": {"a": b64("2"), "tls.crt": "", "tls.key": ""},
        "immutable": True,
    }
    assert msgs(validate_secret(new, old)) == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable',
        f"data: {IMMUTABLE_SET}",
    ]


def test_secret_size_limit_counts_decoded_bytes() -> None:
    secret = {"type": "Opaque", "data": {"a": b64("x" * (1024 * 1024 + 1))}}
    assert msgs(validate_secret(secret, None)) == ["data: Too long: may not be more than 1048576 bytes"]


def test_node_taints_reported_under_metadata_like_kube() -> None:
    node = {
        "spec": {
            "taints": [
                {"key": "a", "effect": "NoSchedule"},
                {"key": "a", "effect": "NoSchedule"},
                {"key": "b", "effect": "Never"},
            ]
        }
    }
    assert msgs(validate_node(node, None)) == [
        'metadata.taints[1]: Duplicate value: core.Taint{Key:"a", Value:"", Effect:"NoSchedule", '
        "TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair",
        'metadata.taints[2].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    ]


def test_endpoints_subsets() -> None:
    ep = {
        "subsets": [
            {
                "addresses": [{"ip": "10.0.0.1", "hostname": "Pod_1"}],
                "ports": [{"port": 80, "protocol": "TCP"}, {"port": 81, "protocol": "TCP"}],
            },
            {"ports": [{"port": 0, "name": "x", "protocol": "TCP"}]},
            {"notReadyAddresses": [{"ip": "127.0.0.1"}]},
        ]
    }
    assert msgs(validate_endpoints(ep, None)) == [
        'subsets[0].addresses[0].hostname: Invalid value: "Pod_1": '
        + "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
        "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        "subsets[0].ports[0].name: Required value",
        "subsets[0].ports[1].name: Required value",
        "subsets[1]: Required value: must specify `addresses` or `notReadyAddresses`",
        "subsets[1].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        'subsets[2].notReadyAddresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    ]


def test_lease_durations() -> None:
    assert validate_lease({"spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}, None) == []
    bad = {"spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1}}
    assert msgs(validate_lease(bad, None)) == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
        "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
    ]


def core_event(**extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "metadata": {"name": "web.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
        "reason": "Started",
        "message": "Started container",
        "type": "Normal",
    }
    ev.update(extra)
    return ev


def test_core_event_namespace_must_match_involved_object() -> None:
    assert validate_core_event(core_event(), None) == []
    other = core_event(involvedObject={"kind": "Pod", "name": "web", "namespace": "prod"})
    assert msgs(validate_core_event(other, None)) == [
        'involvedObject.namespace: Invalid value: "prod": does not match event.namespace'
    ]


def test_core_event_with_event_time_needs_reporting_fields() -> None:
    ev = core_event(eventTime="2026-01-01T00:00:00.000000Z")
    assert msgs(validate_core_event(ev, None)) == [
        "reportingController: Required value",
        'reportingController: Invalid value: "": name part must be non-empty',
        'reportingController: Invalid value: "": name part must consist of alphanumeric characters, '
        "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
        "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        "reportingInstance: Required value",
        "action: Required value",
    ]
    ev.update(reportingComponent="ferry/kubelet", reportingInstance="node-1", action="Start")
    assert validate_core_event(ev, None) == []


def events_v1(**extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "metadata": {"name": "web.1", "namespace": "default"},
        "regarding": {"kind": "Pod", "name": "web", "namespace": "default"},
        "reason": "Started",
        "note": "Started container",
        "type": "Normal",
        "action": "Start",
        "reportingController": "ferry.dev/kubelet",
        "reportingInstance": "node-1",
        "eventTime": "2026-01-01T00:00:00.000000Z",
    }
    ev.update(extra)
    return ev


def test_events_k8s_io_strict_create_rules() -> None:
    assert validate_events_event(events_v1(), None) == []
    bad = events_v1(type="Info", deprecatedCount=3, series={"count": 1})
    assert msgs(validate_events_event(bad, None)) == [
        'series.count: Invalid value: "": should be at least 2',
        "series.lastObservedTime: Required value",
        'type: Invalid value: "": has invalid value: Info',
        'count: Invalid value: "": needs to be unset',
    ]
    too_long = events_v1(note="x" * 1025)
    assert msgs(validate_events_event(too_long, None)) == [
        'message: Invalid value: "": can have at most 1024 characters'
    ]


def test_events_k8s_io_update_keeps_fields_immutable() -> None:
    old = events_v1()
    new = events_v1(note="changed")
    assert msgs(validate_events_event(new, old)) == ['message: Invalid value: "changed": field is immutable']


def test_null_payload_values_decode_like_go_and_line_breaks_in_base64_are_skipped() -> None:
    assert validate_config_map({"data": {"a": None}, "binaryData": {"b": None}}, None) == []
    wrapped = b64("x" * 100)
    wrapped = wrapped[:60] + "\n" + wrapped[60:]
    assert validate_secret({"type": "Opaque", "data": {"a": wrapped, "b": None}}, None) == []
    assert msgs(validate_config_map({"data": {"a": 3}}, None)) == [
        "data[a]: Invalid value: 3: must be a string"
    ]
