"""Every validator of the non-workload kinds survives arbitrary client JSON and reports, never raises."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.resources.defaults.core import DEFAULTERS
from ferry.cluster.resources.types import Validator
from ferry.cluster.resources.validation import apiextensions, core, events, networking, rbac, service

ALL: dict[tuple[str, str], Validator] = {
    **core.VALIDATORS,
    **service.VALIDATORS,
    **events.VALIDATORS,
    **networking.VALIDATORS,
    **rbac.VALIDATORS,
    **apiextensions.VALIDATORS,
}

scalars = (
    st.none() | st.booleans() | st.integers(-2, 70000) | st.floats(allow_nan=False) | st.text(max_size=6)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=14,
)
keys = st.sampled_from(
    [
        "metadata", "spec", "status", "data", "binaryData", "stringData", "type", "immutable", "subsets",
        "rules", "roleRef", "subjects", "addressType", "endpoints", "ports", "regarding", "involvedObject",
        "eventTime", "series", "note", "reason",
    ]
)  # fmt: skip
objects = st.dictionaries(keys, json_values, max_size=6)


def test_every_owned_kind_has_a_validator() -> None:
    assert sorted(ALL) == sorted(
        [
            ("", "Namespace"), ("", "Node"), ("", "ConfigMap"), ("", "Secret"), ("", "Endpoints"),
            ("", "Service"), ("", "Event"), ("events.k8s.io", "Event"), ("coordination.k8s.io", "Lease"),
            ("networking.k8s.io", "Ingress"), ("networking.k8s.io", "IngressClass"),
            ("discovery.k8s.io", "EndpointSlice"), ("rbac.authorization.k8s.io", "Role"),
            ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "RoleBinding"),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            ("authorization.k8s.io", "SelfSubjectAccessReview"),
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ]
    )  # fmt: skip


@settings(max_examples=250, deadline=None)
@given(obj=objects, old=st.none() | objects)
def test_validators_never_raise_and_every_error_renders(
    obj: dict[str, Any], old: dict[str, Any] | None
) -> None:
    for key, validate in ALL.items():
        candidate = copy.deepcopy(obj)
        defaulter = DEFAULTERS.get(key)
        if defaulter is not None:
            defaulter(candidate)
        for err in validate(candidate, old):
            assert err.type.startswith("FieldValue"), (key, err)
            assert err.error() and err.cause()["message"], (key, err)
