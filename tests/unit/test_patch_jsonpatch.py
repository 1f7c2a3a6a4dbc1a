"""JSON patch (RFC 6902) with kube's (evanphx/json-patch v4) observable behaviour and messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.apiserver.patch import PatchError, apply_json_patch

DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "x", "annotations": {"deployment.kubernetes.io/revision": "2"}},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "img:2"}]}}},
}


def test_rollout_undo_body_replaces_template_and_annotations() -> None:
    template = {"metadata": {"creationTimestamp": None, "labels": {"app": "x"}}, "spec": {"containers": []}}
    ops = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {
            "op": "replace",
            "path": "/metadata/annotations",
            "value": {"deployment.kubernetes.io/revision": "1"},
        },
    ]
    out = apply_json_patch(DEPLOY, ops)
    assert out["spec"]["template"] == template
    assert out["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
    assert DEPLOY["spec"]["template"]["spec"]["containers"][0]["image"] == "img:2"  # input untouched


def test_add_remove_move_copy() -> None:
    doc = {"a": {"b": 1}, "l": [1, 2, 3]}
    ops = [
        {"op": "add", "path": "/a/c", "value": 2},
        {"op": "add", "path": "/l/1", "value": 9},
        {"op": "add", "path": "/l/-", "value": 4},
        {"op": "remove", "path": "/l/0"},
        {"op": "move", "from": "/a/b", "path": "/moved"},
        {"op": "copy", "from": "/a", "path": "/copy"},
    ]
    assert apply_json_patch(doc, ops) == {"a": {"c": 2}, "l": [9, 2, 3, 4], "moved": 1, "copy": {"c": 2}}
    assert doc == {"a": {"b": 1}, "l": [1, 2, 3]}


def test_pointer_escaping() -> None:
    doc = {"metadata": {"annotations": {"a/b": "1", "c~d": "2"}}}
    ops = [
        {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "x"},
        {"op": "remove", "path": "/metadata/annotations/c~0d"},
    ]
    assert apply_json_patch(doc, ops) == {"metadata": {"annotations": {"a/b": "x"}}}


def test_negative_index_counts_from_the_end() -> None:
    assert apply_json_patch({"l": [1, 2, 3]}, [{"op": "remove", "path": "/l/-1"}]) == {"l": [1, 2]}
    assert apply_json_patch({"l": [1, 2]}, [{"op": "replace", "path": "/l/-2", "value": 0}]) == {"l": [0, 2]}


def test_test_op_passes_and_fails_with_kube_message() -> None:
    ok = [
        {"op": "test", "path": "/spec/replicas", "value": 2},
        {"op": "replace", "path": "/spec/replicas", "value": 3},
    ]
    assert apply_json_patch(DEPLOY, ok)["spec"]["replicas"] == 3
    with pytest.raises(PatchError) as err:
        apply_json_patch(DEPLOY, [{"op": "test", "path": "/spec/replicas", "value": 5}])
    assert str(err.value) == "testing value /spec/replicas failed: test failed"
    assert err.value.code == 422
    assert err.value.api_error().status()["reason"] == "Invalid"


def test_test_op_distinguishes_booleans_from_numbers() -> None:
    with pytest.raises(PatchError, match="testing value /a failed"):
        apply_json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": True}])
    assert apply_json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}]) == {"a": 1}


def test_missing_parent_path_messages() -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch(DEPLOY, [{"op": "replace", "path": "/spec/x/y", "value": 1}])
    assert (
        str(err.value) == 'replace operation does not apply: doc is missing path: "/spec/x/y": missing value'
    )
    with pytest.raises(PatchError) as err:
        apply_json_patch(DEPLOY, [{"op": "add", "path": "/nope/a", "value": 1}])
    assert str(err.value) == 'add operation does not apply: doc is missing path: "/nope/a": missing value'


def test_replace_of_missing_key_in_existing_object_sets_it_like_kube() -> None:
    assert apply_json_patch({"spec": {}}, [{"op": "replace", "path": "/spec/x", "value": 1}]) == {
        "spec": {"x": 1}
    }


def test_remove_missing_key_and_bad_index() -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch({"a": {}}, [{"op": "remove", "path": "/a/b"}])
    assert (
        str(err.value)
        == "error in remove for path: '/a/b': Unable to remove nonexistent key: b: missing value"
    )
    with pytest.raises(PatchError) as err:
        apply_json_patch({"l": [1]}, [{"op": "add", "path": "/l/5", "value": 2}])
    assert (
        str(err.value)
        == "error in add for path: '/l/5': Unable to access invalid index: 5: invalid index referenced"
    )


def test_failure_aborts_whole_patch() -> None:
    doc = {"a": 1}
    with pytest.raises(PatchError):
        apply_json_patch(
            doc, [{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 1}]
        )
    assert doc == {"a": 1}


def test_malformed_patches() -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch({}, {"op": "add"})
    assert err.value.code == 400
    with pytest.raises(PatchError) as err:
        apply_json_patch({}, [{"op": "frobnicate", "path": "/a"}])
    assert str(err.value) == "Unexpected kind: frobnicate"
    with pytest.raises(PatchError) as err:
        apply_json_patch({}, [{"op": "add", "value": 1}])
    assert str(err.value) == "add operation failed to decode path: missing value"


def test_replace_whole_document() -> None:
    assert apply_json_patch({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]) == {"b": 2}


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(st.text(min_size=1, max_size=4), json_values, max_size=4),
    st.text(min_size=1, max_size=4),
    json_values,
)
def test_add_then_remove_round_trips(doc: dict[str, Any], key: str, value: Any) -> None:
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")
    before = copy.deepcopy(doc)
    added = apply_json_patch(doc, [{"op": "add", "path": pointer, "value": value}])
    assert added[key] == value
    assert apply_json_patch(added, [{"op": "test", "path": pointer, "value": value}]) == added
    removed = apply_json_patch(added, [{"op": "remove", "path": pointer}])
    expected = {k: v for k, v in before.items() if k != key}
    assert removed == expected
    assert doc == before
