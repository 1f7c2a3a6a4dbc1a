"""ObjectMeta validation on create and update (``validate_object_meta``)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ferry.cluster.resources.validation.common import is_dns1123_label, validate_object_meta


def _errors(meta: Any, old: dict[str, Any] | None = None, *, namespaced: bool = True) -> list[str]:
    old_obj = {"metadata": old} if old is not None else None
    return [e.error() for e in validate_object_meta({"metadata": meta}, old_obj, namespaced=namespaced)]


def test_valid_object_has_no_errors() -> None:
    meta = {"name": "web", "namespace": "default", "labels": {"app": "web"}, "finalizers": ["example.com/f"]}
    assert _errors(meta) == []


def test_name_or_generate_name_required() -> None:
    assert _errors({"namespace": "default"}) == [
        "metadata.name: Required value: name or generateName is required"
    ]


def test_generate_name_masks_trailing_dash() -> None:
    assert _errors({"name": "web-abcde", "generateName": "web-", "namespace": "default"}) == []
    errs = _errors({"name": "x", "generateName": "Web-", "namespace": "default"})
    assert len(errs) == 1 and errs[0].startswith(
        'metadata.generateName: Invalid value: "Web-": a lowercase RFC 1123'
    )


def test_custom_name_validator() -> None:
    out = validate_object_meta(
        {"metadata": {"name": "a.b"}}, None, namespaced=False, name_validator=is_dns1123_label
    )
    assert [e.error() for e in out] == ['metadata.name: Invalid value: "a.b": must not contain dots']


def test_namespace_scope() -> None:
    assert _errors({"name": "x"}) == ["metadata.namespace: Required value"]
    assert _errors({"name": "x", "namespace": "default"}, namespaced=False) == [
        "metadata.namespace: Forbidden: not allowed on this type"
    ]
    errs = _errors({"name": "x", "namespace": "Bad"})
    assert errs[0].startswith('metadata.namespace: Invalid value: "Bad": a lowercase RFC 1123 label')


def test_owner_references() -> None:
    refs = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": True},
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "b", "uid": "2", "controller": True},
        {"apiVersion": "apps/", "kind": "", "name": "", "uid": ""},
    ]
    errs = _errors({"name": "x", "namespace": "default", "ownerReferences": refs})
    assert errs[0].startswith("metadata.ownerReferences: Invalid value: ")
    assert errs[0].endswith(
        'Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and '
        "Deployment/b"
    )
    assert errs[1:] == [
        'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
        'metadata.ownerReferences.kind: Invalid value: "": kind must not be empty',
        'metadata.ownerReferences.name: Invalid value: "": name must not be empty',
        'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty',
    ]


def test_finalizers() -> None:
    errs = _errors({"name": "x", "namespace": "d", "finalizers": ["a/b/c", "orphan", "foregroundDeletion"]})
    assert errs[0].startswith('metadata.finalizers: Invalid value: "a/b/c": a qualified name must consist')
    assert errs[1] == (
        'metadata.finalizers: Invalid value: ["a/b/c","orphan","foregroundDeletion"]: '
        "finalizer orphan and foregroundDeletion cannot be both set"
    )


def test_identity_fields_are_immutable() -> None:
    old = {"name": "x", "namespace": "a", "uid": "u1", "creationTimestamp": "2024-01-01T00:00:00Z"}
    new = {"name": "y", "namespace": "b", "uid": "u2", "creationTimestamp": "2025-01-01T00:00:00Z"}
    assert _errors(new, old) == [
        'metadata.name: Invalid value: "y": field is immutable',
        'metadata.namespace: Invalid value: "b": field is immutable',
        'metadata.uid: Invalid value: "u2": field is immutable',
        'metadata.creationTimestamp: Invalid value: "2025-01-01T00:00:00Z": field is immutable',
    ]


def test_update_without_uid_or_timestamps_is_allowed() -> None:
    old = {"name": "x", "namespace": "a", "uid": "u1", "creationTimestamp": "2024-01-01T00:00:00Z"}
    assert _errors({"name": "x", "namespace": "a"}, old) == []


def test_no_new_finalizers_while_deleting() -> None:
    old = {
        "name": "x",
        "namespace": "a",
        "deletionTimestamp": "2024-01-01T00:00:00Z",
        "finalizers": ["a.io/x"],
    }
    new = {**old, "finalizers": ["a.io/x", "b.io/y", "a.io/z"]}
    assert _errors(new, old) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, "
        'found new finalizers []string{"a.io/z", "b.io/y"}'
    ]
    assert _errors({**old, "finalizers": []}, old) == []


def test_metadata_of_wrong_type() -> None:
    assert _errors("x") == ['metadata: Invalid value: "x": must be of type object']
    assert (
        _errors({"name": 5, "namespace": "d"})[0] == "metadata.name: Invalid value: 5: must be of type string"
    )


_json: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids, max_size=3),
    max_leaves=8,
)
_meta = st.fixed_dictionaries(
    {},
    optional={
        k: _json
        for k in (
            "name",
            "namespace",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "uid",
            "generation",
        )
    },
)


@given(_meta, _meta | st.none(), st.booleans())
def test_never_raises(meta: dict[str, Any], old: dict[str, Any] | None, namespaced: bool) -> None:
    validate_object_meta(
        {"metadata": meta}, {"metadata": old} if old is not None else None, namespaced=namespaced
    )


def test_builtin_kinds_require_qualified_or_standard_finalizers() -> None:
    meta = {"name": "x", "namespace": "d", "finalizers": ["foo", "kubernetes", "example.com/ok"]}
    custom = validate_object_meta({"metadata": meta}, None, namespaced=True)
    assert custom == []  # custom resources: apimachinery rules only
    builtin = validate_object_meta({"metadata": meta}, None, namespaced=True, builtin=True)
    assert [e.error() for e in builtin] == [
        'metadata.finalizers[0]: Invalid value: "foo": name is neither a standard finalizer name nor is it '
        "fully qualified"
    ]
    updated = validate_object_meta({"metadata": meta}, {"metadata": meta}, namespaced=True, builtin=True)
    assert [e.error() for e in updated] == [e.error() for e in builtin]


def test_error_order_follows_kube() -> None:
    meta = {"name": "x", "namespace": "d", "finalizers": ["a/b/c"], "labels": {"-": "v"}}
    paths = [e.field for e in validate_object_meta({"metadata": meta}, None, namespaced=True)]
    assert paths == ["metadata.labels", "metadata.finalizers"]
