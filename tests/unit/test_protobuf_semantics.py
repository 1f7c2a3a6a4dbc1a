"""The Go-to-JSON rules the decoder applies: zero fill, pointers, special types, merging, unknown fields.

Bodies are written the way Go writes them (zeros of non-pointer fields present) with the independent
test encoder; the expectations are what kube-apiserver's JSON shows for the same Go object.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.apiserver.protobuf import ProtobufError, decode
from tests.unit.test_protobuf_encoder import (
    Fixed32,
    Fixed64,
    Packed,
    Raw,
    body,
    entries,
    tag,
    varint,
)


def deployment_spec(spec: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = decode(body("apps/v1", "Deployment", [(2, spec)])).get("spec", {})
    return result


def meta(fields: list[Any]) -> dict[str, Any]:
    result: dict[str, Any] = decode(body("v1", "ConfigMap", [(1, fields)])).get("metadata", {})
    return result


# --- zero fill: pointers keep zeros, omitempty scalars drop them, non-omitempty keep them


def test_pointer_ints_keep_zero_and_omitempty_ints_and_bools_drop_it() -> None:
    spec = [(1, 0), (4, [(1, "")]), (5, 0), (6, 0), (7, False), (9, 0)]
    assert deployment_spec(spec) == {"replicas": 0, "revisionHistoryLimit": 0, "progressDeadlineSeconds": 0}


def test_paused_is_a_plain_bool_so_only_true_survives() -> None:
    assert deployment_spec([(7, True)]) == {"paused": True}
    assert deployment_spec([(7, False)]) == {}


def test_pointer_struct_is_kept_even_when_empty_but_plain_struct_is_dropped() -> None:
    # strategy (plain struct) with type "" -> dropped; rollingUpdate (pointer) present but empty -> {}.
    assert deployment_spec([(4, [(1, "")])]) == {}
    assert deployment_spec([(4, [(1, "RollingUpdate"), (2, b"")])]) == {
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {}}
    }


def test_non_omitempty_scalars_keep_their_zero() -> None:
    raw = [(1, [(1, "x")]), (2, [(1, [(1, ""), (2, ""), (3, 0), (4, [(1, 0), (2, 0)]), (5, 0)])])]
    obj = decode(body("v1", "Service", raw))
    # ServicePort.port has no omitempty (kept); name/protocol/nodePort do; targetPort 0 is Go's fill.
    assert obj["spec"] == {"ports": [{"port": 0}]}


def test_empty_lists_and_maps_are_absent_and_elements_are_kept_even_when_zero() -> None:
    raw = [(2, [(1, ""), (3, "")]), (2, [(1, "")])]
    obj = decode(body("rbac.authorization.k8s.io/v1", "Role", raw))
    assert obj["rules"] == [{"verbs": [""], "resources": [""]}, {"verbs": [""]}]
    assert meta([(11, [(1, "k"), (2, "")])]) == {"labels": {"k": ""}}


# --- IntOrString, Quantity


@pytest.mark.parametrize(
    ("encoded", "json_value"),
    [([(1, 0), (2, 8080), (3, "")], 8080), ([(1, 1), (2, 0), (3, "http")], "http"), ([(1, 0), (2, -1)], -1)],
)
def test_int_or_string_prints_as_json_int_or_string(encoded: list[Any], json_value: int | str) -> None:
    assert deployment_spec([(4, [(1, ""), (2, [(2, encoded)])])]) == {
        "strategy": {"rollingUpdate": {"maxSurge": json_value}}
    }


def test_int_or_string_pointer_keeps_zero_and_plain_one_drops_it() -> None:
    assert deployment_spec([(4, [(2, [(1, [(1, 0), (2, 0), (3, "")])])])]) == {
        "strategy": {"rollingUpdate": {"maxUnavailable": 0}}
    }
    for target in ([(1, 0), (2, 0), (3, "")], [(1, 1), (2, 0), (3, "")]):
        svc = decode(body("v1", "Service", [(2, [(1, [(3, 80), (4, target)])])]))
        assert svc["spec"] == {"ports": [{"port": 80}]}


def test_int_or_string_with_an_impossible_type_is_rejected() -> None:
    with pytest.raises(ProtobufError) as caught:
        deployment_spec([(4, [(2, [(2, [(1, 2), (2, 1)])])])])
    assert (
        str(caught.value) == "Deployment.spec.strategy.rollingUpdate.maxSurge: impossible IntOrString.Type 2"
    )


def test_quantities_are_strings_and_an_entry_without_value_is_zero() -> None:
    requirements = [(1, [(1, "cpu"), (2, [(1, "500m")])]), (2, [(1, "memory"), (2, [(1, "64Mi")])])]
    requirements += [(2, [(1, "empty")])]
    container = [(1, "c"), (8, requirements)]
    pod = decode(body("v1", "Pod", [(2, [(2, container)])]))
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m"},
        "requests": {"memory": "64Mi", "empty": "0"},
    }


# --- Time and MicroTime


def test_time_prints_rfc3339_whole_seconds_in_utc_and_drops_nanos() -> None:
    assert meta([(8, [(1, 1795745477), (2, 999_999_999)])]) == {"creationTimestamp": "2026-11-27T02:11:17Z"}


def test_empty_time_is_go_zero_time_and_disappears_even_behind_a_pointer() -> None:
    assert meta([(8, b""), (9, b"")]) == {}
    assert meta([(8, [(1, -62135596800)])]) == {}


def test_epoch_is_a_real_time_not_a_zero_one() -> None:
    assert meta([(8, [(1, 0), (2, 0)])]) == {"creationTimestamp": "1970-01-01T00:00:00Z"}


def test_micro_time_keeps_microseconds_truncated_toward_zero() -> None:
    spec = [(3, [(1, 1795745477), (2, 123_456_789)]), (4, [(1, 1795745477), (2, -1500)])]
    lease = decode(body("coordination.k8s.io/v1", "Lease", [(2, spec)]))
    assert lease["spec"] == {
        "acquireTime": "2026-11-27T02:11:17.123456Z",
        "renewTime": "2026-11-27T02:11:16.999999Z",
    }


def test_time_outside_years_1_to_9999_is_rejected() -> None:
    with pytest.raises(ProtobufError) as caught:
        meta([(8, [(1, 400_000_000_000)])])
    assert (
        str(caught.value)
        == "ConfigMap.metadata.creationTimestamp: time 400000000000s is outside the years 1-9999"
    )


@given(st.integers(min_value=-62135596800 + 1, max_value=253402300799))
def test_any_representable_second_prints_as_a_19_char_stamp(seconds: int) -> None:
    stamp = meta([(8, [(1, seconds)])])["creationTimestamp"]
    assert len(stamp) == 20 and stamp.endswith("Z") and stamp[10] == "T"


# --- ObjectMeta details: owner references, managed fields, strings


def test_owner_references_and_managed_fields() -> None:
    owner = [(1, "ReplicaSet"), (3, "web-1"), (4, "uid-9"), (5, "apps/v1"), (6, True), (7, False)]
    fields_v1 = b'{"f:data":{"f:a":{}}}'
    managed = [(1, "kubectl"), (2, "Update"), (3, "v1"), (4, [(1, 1795745477)]), (6, "FieldsV1")]
    managed += [(7, [(1, fields_v1)]), (8, "")]
    got = meta([(1, "x"), (13, owner), (14, "example.com/f"), (17, managed)])
    assert got == {
        "name": "x",
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-1",
                "uid": "uid-9",
                "controller": True,
                "blockOwnerDeletion": False,
            }
        ],
        "finalizers": ["example.com/f"],
        "managedFields": [
            {
                "manager": "kubectl",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2026-11-27T02:11:17Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:a": {}}},
            }
        ],
    }


def test_fields_v1_that_is_not_json_is_rejected() -> None:
    with pytest.raises(ProtobufError) as caught:
        meta([(17, [(7, [(1, b"{nope")])])])
    assert str(caught.value) == "ConfigMap.metadata.managedFields[0].fieldsV1: fieldsV1 is not valid JSON"


def test_invalid_utf8_becomes_the_replacement_character_like_go_json() -> None:
    assert meta([(1, b"a\xffb")]) == {"name": "a\ufffdb"}


def test_map_entry_without_key_uses_the_empty_key_and_last_duplicate_wins() -> None:
    got = meta([*entries(11, {"a": "1"}), (11, [(1, "a"), (2, "2")]), (11, [(2, "v")])])
    assert got == {"labels": {"a": "2", "": "v"}}


# --- proto merge rules, packed encoding, unknown fields


def test_repeated_singular_message_occurrences_merge_and_last_scalar_wins() -> None:
    raw = [(1, [(1, "first"), (3, "ns")]), (1, [(1, "second"), *entries(11, {"a": "b"})])]
    assert decode(body("v1", "ConfigMap", raw))["metadata"] == {
        "name": "second",
        "namespace": "ns",
        "labels": {"a": "b"},
    }


def test_repeated_numbers_decode_packed_and_unpacked() -> None:
    security = [(4, Packed([1000, 2000])), (4, 3000), (5, -1)]
    pod = decode(body("v1", "Pod", [(2, [(14, security)])]))
    assert pod["spec"]["securityContext"] == {"supplementalGroups": [1000, 2000, 3000], "fsGroup": -1}


def test_negative_int32_values_arrive_as_ten_byte_varints() -> None:
    rule = [(1, "FailJob"), (2, [(2, "In"), (3, Packed([1, -2 & 0xFFFFFFFFFFFFFFFF]))])]
    job = decode(body("batch/v1", "Job", [(2, [(11, [(1, rule)])])]))
    assert job["spec"]["podFailurePolicy"] == {
        "rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1, -2]}}]
    }


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    group = Raw(tag(50, 3) + tag(1, 0) + varint(7) + tag(51, 3) + tag(51, 4) + tag(50, 4))
    unknown = [(90, 1), (91, Fixed32(5)), (92, Fixed64(6)), (93, "later field"), group]
    assert meta([(1, "x"), *unknown, (3, "ns")]) == {"name": "x", "namespace": "ns"}


def test_known_field_with_the_wrong_wire_type_names_the_field() -> None:
    with pytest.raises(ProtobufError) as caught:
        meta([(1, 5)])
    assert str(caught.value) == (
        "proto: wrong wire type varint for field ConfigMap.metadata.name (want length-delimited)"
    )
