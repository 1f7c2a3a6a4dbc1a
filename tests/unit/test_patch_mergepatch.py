"""JSON merge patch (RFC 7386), its inverse, and JSON equality."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.apiserver.patch import apply_merge_patch, create_merge_patch, json_equal


def test_kubectl_scale_body() -> None:
    scale: dict[str, Any] = {
        "kind": "Scale",
        "spec": {"replicas": 1},
        "status": {"replicas": 1, "selector": "app=x"},
    }
    out = apply_merge_patch(scale, {"spec": {"replicas": 3}})
    assert out == {"kind": "Scale", "spec": {"replicas": 3}, "status": {"replicas": 1, "selector": "app=x"}}
    assert scale["spec"]["replicas"] == 1


def test_rfc7386_appendix_examples() -> None:
    assert apply_merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert apply_merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert apply_merge_patch({"a": "b"}, {"a": None}) == {}
    assert apply_merge_patch({"a": "b", "b": "c"}, {"a": None}) == {"b": "c"}
    assert apply_merge_patch({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert apply_merge_patch({"a": "c"}, {"a": ["b"]}) == {"a": ["b"]}
    assert apply_merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert apply_merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert apply_merge_patch(["a", "b"], ["c", "d"]) == ["c", "d"]
    assert apply_merge_patch({"a": "b"}, ["c"]) == ["c"]
    assert apply_merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert apply_merge_patch([1, 2], {"a": "b", "c": None}) == {"a": "b"}
    assert apply_merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_lists_replace_not_merge() -> None:
    obj = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    assert apply_merge_patch(obj, {"spec": {"containers": [{"name": "c"}]}}) == {
        "spec": {"containers": [{"name": "c"}]}
    }


def test_create_merge_patch() -> None:
    a = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}}
    b = {"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"replicas": 1}}
    assert create_merge_patch(a, b) == {"metadata": {"labels": {"b": None, "c": "3"}}}
    assert create_merge_patch(a, a) == {}


def test_json_equal() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal(0, False)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})
    assert not json_equal("1", 1)


scalars = st.one_of(st.booleans(), st.integers(), st.text(max_size=4))
no_null = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)
docs = st.dictionaries(st.text(max_size=3), no_null, max_size=4)


@given(docs, docs)
def test_merge_patch_of_diff_gives_target(a: dict[str, Any], b: dict[str, Any]) -> None:
    before = copy.deepcopy(a)
    assert apply_merge_patch(a, create_merge_patch(a, b)) == b
    assert a == before


@given(docs, docs)
def test_merge_patch_is_idempotent(a: dict[str, Any], patch: dict[str, Any]) -> None:
    once = apply_merge_patch(a, patch)
    assert apply_merge_patch(once, patch) == once
