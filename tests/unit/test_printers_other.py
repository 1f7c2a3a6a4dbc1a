"""Ingress/RBAC/Lease/PDB/PriorityClass Tables, kube's default Table, and CRD printer columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.cluster.resources.printers import DEFAULT_PRINTER, PRINTERS, crd_printer
from ferry.cluster.resources.printers.jsonpath import compile_path, find, go_float, go_json, go_text

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(seconds: int) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return PRINTERS[(group, kind)][1](obj, NOW)


META = {"name": "x", "creationTimestamp": ago(45)}


def test_ingress_row() -> None:
    assert [c.name for c in PRINTERS[("networking.k8s.io", "Ingress")][0]] == [
        "Name",
        "Class",
        "Hosts",
        "Address",
        "Ports",
        "Age",
    ]
    obj = {
        "metadata": META,
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{"host": "a.example.com"}, {}, {"host": "b.example.com"}],
            "tls": [{}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}, {"hostname": "lb"}]}},
    }
    assert row("networking.k8s.io", "Ingress", obj) == [
        "x",
        "nginx",
        "a.example.com,b.example.com",
        "10.0.0.9,lb",
        "80, 443",
        "45s",
    ]


def test_ingress_hosts_more_and_wildcard() -> None:
    rules = [{"host": f"h{i}"} for i in range(5)]
    assert row("networking.k8s.io", "Ingress", {"metadata": META, "spec": {"rules": rules}})[1:5] == [
        "<none>",
        "h0,h1,h2 + 2 more...",
        "",
        "80",
    ]
    assert row("networking.k8s.io", "Ingress", {"metadata": META, "spec": {"rules": [{}]}})[2] == "*"


def test_ingressclass_and_lease() -> None:
    params = {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}
    obj = {"metadata": META, "spec": {"controller": "example.com/ingress", "parameters": params}}
    assert row("networking.k8s.io", "IngressClass", obj) == [
        "x",
        "example.com/ingress",
        "IngressParameters.k8s.example.com/external-lb",
        "45s",
    ]
    assert row("networking.k8s.io", "IngressClass", {"metadata": META, "spec": {}})[2] == "<none>"
    lease = {"metadata": META, "spec": {"holderIdentity": "ferry-1"}}
    assert row("coordination.k8s.io", "Lease", lease) == ["x", "ferry-1", "45s"]
    assert row("coordination.k8s.io", "Lease", {"metadata": META, "spec": {}}) == ["x", "", "45s"]


def test_role_bindings() -> None:
    cols = PRINTERS[("rbac.authorization.k8s.io", "RoleBinding")][0]
    assert [(c.name, c.priority) for c in cols] == [
        ("Name", 0),
        ("Role", 0),
        ("Age", 0),
        ("Users", 1),
        ("Groups", 1),
        ("ServiceAccounts", 1),
    ]
    assert cols[3].description == "Users in the roleBinding"
    assert (
        PRINTERS[("rbac.authorization.k8s.io", "ClusterRoleBinding")][0][4].description
        == "Groups in the clusterRoleBinding"
    )
    obj = {
        "metadata": META,
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "User", "name": "bob"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"},
        ],
    }
    assert row("rbac.authorization.k8s.io", "RoleBinding", obj) == [
        "x",
        "ClusterRole/view",
        "45s",
        "alice, bob",
        "devs",
        "tools/ci",
    ]


def test_pdb_and_priorityclass() -> None:
    pdb = {"metadata": META, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}
    assert row("policy", "PodDisruptionBudget", pdb) == ["x", "50%", "N/A", 1, "45s"]
    pc = {"metadata": META, "value": 1000, "globalDefault": True, "preemptionPolicy": "Never"}
    assert row("scheduling.k8s.io", "PriorityClass", pc) == ["x", 1000, True, "45s", "Never"]


def test_kinds_without_printer_use_kube_default_table() -> None:
    columns, printer = DEFAULT_PRINTER
    assert [c.definition() for c in columns][1] == {
        "name": "Created At",
        "type": "date",
        "format": "",
        "description": columns[1].description,
        "priority": 0,
    }
    assert columns[1].description.startswith("CreationTimestamp is a timestamp")
    assert printer({"metadata": {"name": "admin", "creationTimestamp": "2024-05-01T10:00:00Z"}}, NOW) == [
        "admin",
        "2024-05-01T10:00:00Z",
    ]
    for kind in (("rbac.authorization.k8s.io", "Role"), ("apiextensions.k8s.io", "CustomResourceDefinition")):
        assert PRINTERS[kind] is DEFAULT_PRINTER


def test_crd_printer_without_columns_has_age() -> None:
    columns, printer = crd_printer([])
    assert [(c.name, c.type) for c in columns] == [("Name", "string"), ("Age", "date")]
    assert printer({"metadata": {"name": "cr", "creationTimestamp": ago(90)}}, NOW) == ["cr", "90s"]


def test_crd_printer_columns_and_cells() -> None:
    specs: list[dict[str, Any]] = [
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {
            "name": "Ratio",
            "type": "number",
            "jsonPath": ".status.ratio",
            "priority": 1,
            "description": "How full",
        },
        {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "First", "type": "string", "jsonPath": ".status.items[*].name"},
        {"name": "Last", "type": "string", "jsonPath": ".status.items[-1].name"},
        {"name": "Started", "type": "date", "jsonPath": ".status.startedAt"},
    ]
    columns, printer = crd_printer(specs)
    assert [c.name for c in columns] == [
        "Name",
        "Replicas",
        "Ratio",
        "Ready",
        "Phase",
        "First",
        "Last",
        "Started",
    ]
    assert columns[1].description == "Custom resource definition column (in JSONPath format): .spec.replicas"
    assert (columns[2].description, columns[2].priority, columns[2].type) == ("How full", 1, "number")
    obj = {
        "metadata": {"name": "db"},
        "spec": {"replicas": 3},
        "status": {
            "ratio": 1,
            "ready": True,
            "phase": "Up",
            "items": [{"name": "a"}, {"name": "b"}],
            "startedAt": ago(3600),
        },
    }
    assert printer(obj, NOW) == ["db", 3, 1.0, True, "Up", "a", "b", "60m"]
    assert printer({"metadata": {"name": "empty"}}, NOW) == [
        "empty",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]


def test_crd_cells_of_the_wrong_type_are_null() -> None:
    specs = [
        {"name": "I", "type": "integer", "jsonPath": ".a"},
        {"name": "B", "type": "boolean", "jsonPath": ".b"},
        {"name": "D", "type": "date", "jsonPath": ".c"},
        {"name": "D2", "type": "date", "jsonPath": ".d"},
        {"name": "S", "type": "string", "jsonPath": ".e"},
    ]
    _, printer = crd_printer(specs)
    obj = {"metadata": {"name": "x"}, "a": 2.9, "b": "yes", "c": "last tuesday", "d": "", "e": None}
    assert printer(obj, NOW) == ["x", 2, None, "<invalid>", "<unknown>", "<no value>"]
    assert printer({**obj, "a": True, "b": False}, NOW)[1:3] == [None, False]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        (True, "true"),
        (42, "42"),
        (1.5, "1.5"),
        (3.0, "3"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        ({"b": [1, 2.5], "a": "<x>"}, '{"a":"\\u003cx\\u003e","b":[1,2.5]}'),
        ([1e21, 1e-7, 1e20], "[1e+21,1e-7,100000000000000000000]"),
    ],
)
def test_string_column_prints_like_go(value: Any, text: str) -> None:
    assert go_text(value) == text


def test_go_float_special_values() -> None:
    assert go_float(-2.5) == "-2.5"
    assert go_float(float("inf")) == "+Inf"
    assert go_json(-0.5) == "-0.5"


def test_jsonpath_subset() -> None:
    assert compile_path("{.spec.replicas}") == [("field", "spec"), ("field", "replicas")]
    assert compile_path("$.metadata.labels['app.kubernetes.io/name']") == [
        ("field", "metadata"),
        ("field", "labels"),
        ("field", "app.kubernetes.io/name"),
    ]
    assert compile_path(".a[?(@.x)]") is None
    data = {"a": [{"b": 1}, {"c": 2}, {"b": 3}]}
    assert find(data, compile_path(".a[*].b") or []) == [1, 3]
    assert find(data, compile_path(".a[5].b") or []) == []
    assert find(data, compile_path(".a.b") or []) == []


def test_unparseable_column_path_gives_null_cells() -> None:
    _, printer = crd_printer([{"name": "X", "type": "string", "jsonPath": ".a[?(@.x)]"}])
    assert printer({"metadata": {"name": "x"}, "a": [1]}, NOW) == ["x", None]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["metadata", "spec", "status", "data", "subsets", "rules", "involvedObject", "regarding"]
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=5))
def test_every_printer_survives_malformed_objects(obj: dict[str, Any]) -> None:
    for columns, printer in PRINTERS.values():
        cells = printer(obj, NOW)
        assert len(cells) == len(columns)
        assert all(c is None or isinstance(c, str | int | float | bool) for c in cells)


def test_every_description_key_resolved() -> None:
    """A column description is swagger text or a literal sentence, never an unresolved ``Type.field`` key."""
    import re

    for columns, _ in PRINTERS.values():
        for column in columns:
            assert column.description
            assert not re.fullmatch(r"[A-Z]\w+\.\w+", column.description), column
