"""FieldsV1 sets: encoding, ordering, algebra and the typed walks (ToFieldSet, Compare, RemoveItems)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.apiserver.patch import FieldSet, patch_meta, path_string, schema_meta, to_field_set
from ferry.cluster.apiserver.patch.fieldsets import (
    ABSENT,
    Path,
    canonical,
    compare,
    ensure_named_members,
    remove_items,
)
from ferry.cluster.apiserver.patch.meta import DEDUCED, TypeNode

_POD = patch_meta("", "Pod")
assert _POD is not None
POD: TypeNode = _POD


def pod(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def test_keys_are_sorted_like_kube_numbers_numerically() -> None:
    ports = [{"containerPort": 10}, {"containerPort": 9, "protocol": "UDP"}, {"containerPort": 9}]
    fs = to_field_set(pod(containers=[{"name": "c", "ports": ports}]), POD)
    listed = list(fs.to_fields_v1()["f:spec"]["f:containers"]['k:{"name":"c"}']["f:ports"])
    assert listed == [
        'k:{"containerPort":9,"protocol":"TCP"}',
        'k:{"containerPort":9,"protocol":"UDP"}',
        'k:{"containerPort":10,"protocol":"TCP"}',
    ]


def test_set_items_and_html_escaping() -> None:
    fs = to_field_set({"metadata": {"finalizers": ["a<b", "example.com/x"]}}, POD)
    assert fs.to_fields_v1() == {
        "f:metadata": {"f:finalizers": {'v:"a\\u003cb"': {}, 'v:"example.com/x"': {}}}
    }


def test_path_strings() -> None:
    fs = to_field_set(pod(containers=[{"name": "c", "ports": [{"containerPort": 80}]}]), POD)
    assert [path_string(p) for p in fs.paths()] == [
        ".apiVersion",
        ".kind",
        ".metadata.name",
        '.spec.containers[name="c"]',
        '.spec.containers[name="c"].name',
        '.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"]',
        '.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"].containerPort',
    ]
    assert (
        path_string((("f", "metadata"), ("f", "finalizers"), ("v", canonical("x"))))
        == '.metadata.finalizers[="x"]'
    )


def test_atomic_struct_and_map_entries() -> None:
    dep = patch_meta("apps", "Deployment")
    assert dep is not None
    fs = to_field_set(
        {"spec": {"selector": {"matchLabels": {"a": "b"}}, "strategy": {}}, "metadata": {"labels": {}}}, dep
    )
    assert fs.to_fields_v1() == {
        "f:metadata": {"f:labels": {}},
        "f:spec": {"f:selector": {}, "f:strategy": {}},
    }
    deduced = to_field_set({"spec": {"a": {"b": 1}}}, DEDUCED)
    assert deduced.to_fields_v1() == {"f:spec": {".": {}, "f:a": {".": {}, "f:b": {}}}}


def test_set_algebra_is_structural() -> None:
    a, b = FieldSet(), FieldSet()
    a.insert((("f", "spec"), ("f", "x")))
    a.insert((("f", "spec"),))
    b.insert((("f", "spec"), ("f", "y")))
    assert a.union(b).to_fields_v1() == {"f:spec": {".": {}, "f:x": {}, "f:y": {}}}
    assert a.difference(b).to_fields_v1() == {"f:spec": {".": {}, "f:x": {}}}
    assert a.intersection(b).empty()
    assert a.has((("f", "spec"),)) and not b.has((("f", "spec"),))


def test_compare_reports_added_modified_removed() -> None:
    old = pod(containers=[{"name": "c", "image": "1"}, {"name": "d", "image": "1"}])
    new = pod(containers=[{"name": "c", "image": "2"}, {"name": "e", "image": "1"}], hostname="h")
    added, modified, removed = compare(old, new, POD)
    assert [path_string(p) for p in added.paths()] == [
        ".spec.hostname",
        '.spec.containers[name="e"]',
        '.spec.containers[name="e"].image',
        '.spec.containers[name="e"].name',
    ]
    assert [path_string(p) for p in modified.paths()] == ['.spec.containers[name="c"].image']
    assert next(path_string(p) for p in removed.paths()) == '.spec.containers[name="d"]'
    assert compare(old, old, POD)[1].empty()


def test_compare_skips_equal_subtrees_but_not_values_python_calls_equal() -> None:
    # Python says True == 1 and 1 == 1.0; JSON does not (true vs 1), and kube treats 1 and 1.0 alike.
    old = {"metadata": {"annotations": {"a": "x"}}, "data": {"flag": True, "n": 1, "m": {"k": 1}}}
    new = {"metadata": {"annotations": {"a": "x"}}, "data": {"flag": 1, "n": 1.0, "m": {"k": True}}}
    added, modified, removed = compare(old, new, DEDUCED)
    assert sorted(path_string(p) for p in modified.paths()) == [".data.flag", ".data.m.k"]
    assert added.empty() and removed.empty()
    # The same content with keys in another order is no change either.
    reordered = {"data": {"m": {"k": 1}, "n": 1, "flag": True}, "metadata": {"annotations": {"a": "x"}}}
    assert all(s.empty() for s in compare(old, reordered, DEDUCED))


def test_remove_items_drops_emptied_containers() -> None:
    obj = pod(containers=[{"name": "c", "env": [{"name": "A", "value": "1"}]}])
    gone = FieldSet()
    gone.insert(
        (
            ("f", "spec"),
            ("f", "containers"),
            ("k", (("name", '"c"'),)),
            ("f", "env"),
            ("k", (("name", '"A"'),)),
        )
    )
    assert remove_items(obj, gone, POD)["spec"]["containers"] == [{"name": "c"}]
    everything = FieldSet()
    everything.insert((("f", "spec"),))
    everything.insert((("f", "metadata"),))
    everything.insert((("f", "apiVersion"),))
    everything.insert((("f", "kind"),))
    assert remove_items(obj, everything, POD) is ABSENT


def test_named_fields_become_members() -> None:
    fs = to_field_set(pod(containers=[{"name": "c"}]), POD)
    named = ensure_named_members(fs, POD)
    assert named.has((("f", "spec"),)) and named.has((("f", "spec"), ("f", "containers")))
    assert not fs.has((("f", "spec"),))


def test_schema_meta_keys_custom_resource_lists() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["id", "kind"],
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "integer"},
                                "kind": {"type": "string", "default": "a"},
                            },
                        },
                    },
                    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                    "opaque": {
                        "type": "object",
                        "x-kubernetes-map-type": "atomic",
                        "additionalProperties": {"type": "string"},
                    },
                },
            }
        },
    }
    node = schema_meta(schema)
    cr = {
        "metadata": {"labels": {"x": "y"}},
        "spec": {"items": [{"id": 1}], "tags": ["t"], "opaque": {"k": "v"}},
    }
    assert to_field_set(cr, node).to_fields_v1() == {
        "f:metadata": {"f:labels": {"f:x": {}}},
        "f:spec": {
            "f:items": {'k:{"id":1,"kind":"a"}': {".": {}, "f:id": {}}},
            "f:opaque": {},
            "f:tags": {'v:"t"': {}},
        },
    }


segment = st.one_of(
    st.tuples(st.just("f"), st.text(alphabet='abc:.{}"', min_size=1, max_size=4)),
    st.tuples(st.just("k"), st.tuples(st.tuples(st.just("name"), st.integers(-5, 50).map(canonical)))),
    st.tuples(st.just("v"), st.one_of(st.text(max_size=3), st.booleans(), st.integers()).map(canonical)),
)
paths = st.lists(st.lists(segment, min_size=1, max_size=4).map(tuple), max_size=8)


@given(paths)
def test_fields_v1_round_trip(items: list[Path]) -> None:
    fs = FieldSet()
    for p in items:
        fs.insert(p)
    again = FieldSet.from_fields_v1(fs.to_fields_v1())
    assert again.to_fields_v1() == fs.to_fields_v1()
    assert sorted(map(repr, again.paths())) == sorted(map(repr, fs.paths()))
    assert all(again.has(p) for p in items)


@given(paths, paths)
def test_difference_and_union(a_items: list[Path], b_items: list[Path]) -> None:
    a, b = FieldSet(), FieldSet()
    for p in a_items:
        a.insert(p)
    for p in b_items:
        b.insert(p)
    union = a.union(b)
    assert all(union.has(p) for p in a_items + b_items)
    diff = a.difference(b)
    assert all(not diff.has(p) for p in b_items)
    assert all(diff.has(p) for p in a_items if not b.has(p))
    assert a.intersection(b).union(diff).to_fields_v1() == a.to_fields_v1()
