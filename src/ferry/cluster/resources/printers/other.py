"""Printers for networking, coordination, RBAC, policy and scheduling kinds, kube's default Table, and
the Table of custom resources built from a CRD's ``additionalPrinterColumns``.

* Kinds kube has no printer for (Role, ClusterRole, CustomResourceDefinition...) get the generic
  ``rest.NewDefaultTableConvertor`` Table: ``NAME`` and ``CREATED AT``, the latter an RFC 3339 UTC
  timestamp in a ``date`` column (``kubectl get crd`` shows ``2024-05-01T10:00:00Z``, not an age).
* Custom resources (``apiextensions-apiserver`` ``tableconvertor``): ``Name`` first, then the
  version's ``additionalPrinterColumns`` in the CRD's order; a version without any gets a single
  ``Age`` date column. Cells: ``integer`` → int (floats truncated), ``number`` → float,
  ``boolean`` → bool, ``date`` → the human age of an RFC 3339 string (``<invalid>`` if it does not
  parse, ``<unknown>`` for ``""``), ``string`` → Go's text of the value. A path that finds nothing,
  or a value of the wrong type, gives a null cell. A column's description defaults to
  ``Custom resource definition column (in JSONPath format): <path>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ferry.cluster.resources.printers.common import (
    AGE,
    NAME,
    Printer,
    age,
    col,
    d,
    lb_ingress,
    lst,
    meta,
    n,
    name,
    s,
)
from ferry.cluster.resources.printers.descriptions import DOC
from ferry.cluster.resources.printers.duration import is_rfc3339, rfc3339, since
from ferry.cluster.resources.printers.jsonpath import compile_path, find, go_text
from ferry.cluster.resources.types import Column, Obj

DEFAULT_COLUMNS = (NAME, col("Created At", "ObjectMeta.creationTimestamp", type="date"))


def default_row(obj: Obj, now: datetime) -> list[Any]:
    return [name(obj), rfc3339(meta(obj).get("creationTimestamp"))]


DEFAULT_PRINTER: Printer = (DEFAULT_COLUMNS, default_row)

INGRESS_COLUMNS = (
    NAME,
    col("Class", "The name of the IngressClass resource that should be used for additional configuration"),
    col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
    col("Address", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "Ports of TLS configurations that open"),
    AGE,
)


def ingress_row(obj: Obj, now: datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    rules = [d(r) for r in lst(spec.get("rules"))]
    hosts: list[str] = []
    more = False
    for rule in rules:
        more = more or len(hosts) == 3
        if not more and s(rule.get("host")):
            hosts.append(s(rule.get("host")))
    hosts_cell = "*" if not hosts else ",".join(hosts) + (f" + {len(rules) - 3} more..." if more else "")
    class_name = spec.get("ingressClassName")
    return [
        name(obj),
        s(class_name) if class_name is not None else "<none>",
        hosts_cell,
        lb_ingress(obj.get("status")),
        "80, 443" if lst(spec.get("tls")) else "80",
        age(obj, now),
    ]


INGRESSCLASS_COLUMNS = (
    NAME,
    col("Controller", "Controller that is responsible for handling this class"),
    col("Parameters", "A reference to a resource with additional parameters"),
    AGE,
)


def ingressclass_row(obj: Obj, now: datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    params = spec.get("parameters")
    text = "<none>"
    if isinstance(params, dict):
        group = params.get("apiGroup")
        text = (
            s(params.get("kind"))
            + (f".{s(group)}" if group is not None else "")
            + "/"
            + s(params.get("name"))
        )
    return [name(obj), s(spec.get("controller")), text, age(obj, now)]


LEASE_COLUMNS = (NAME, col("Holder", "LeaseSpec.holderIdentity"), AGE)


def lease_row(obj: Obj, now: datetime) -> list[Any]:
    return [name(obj), s(d(obj.get("spec")).get("holderIdentity")), age(obj, now)]


def _binding_columns(kind: str) -> tuple[Column, ...]:
    scope = "roleBinding" if kind == "RoleBinding" else "clusterRoleBinding"
    return (
        NAME,
        col("Role", f"{kind}.roleRef"),
        AGE,
        col("Users", f"Users in the {scope}", priority=1),
        col("Groups", f"Groups in the {scope}", priority=1),
        col("ServiceAccounts", f"ServiceAccounts in the {scope}", priority=1),
    )


def binding_row(obj: Obj, now: datetime) -> list[Any]:
    """``printRoleBinding`` / ``printClusterRoleBinding`` (subjects split as ``rbac.SubjectsStrings``)."""
    ref = d(obj.get("roleRef"))
    users: list[str] = []
    groups: list[str] = []
    service_accounts: list[str] = []
    for subject in (d(x) for x in lst(obj.get("subjects"))):
        kind, subject_name = subject.get("kind"), s(subject.get("name"))
        if kind == "ServiceAccount":
            service_accounts.append(f"{s(subject.get('namespace'))}/{subject_name}")
        elif kind == "User":
            users.append(subject_name)
        elif kind == "Group":
            groups.append(subject_name)
    return [
        name(obj),
        f"{s(ref.get('kind'))}/{s(ref.get('name'))}",
        age(obj, now),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(service_accounts),
    ]


PDB_COLUMNS = (
    NAME,
    col("Min Available", "The minimum number of pods that must be available."),
    col("Max Unavailable", "The maximum number of pods that may be unavailable."),
    col(
        "Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", type="integer"
    ),
    AGE,
)


def _int_or_string(value: Any) -> str:
    if value is None:
        return "N/A"
    return str(n(value)) if isinstance(value, int | float) and not isinstance(value, bool) else s(value)


def pdb_row(obj: Obj, now: datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    return [
        name(obj),
        _int_or_string(spec.get("minAvailable")),
        _int_or_string(spec.get("maxUnavailable")),
        n(d(obj.get("status")).get("disruptionsAllowed")),
        age(obj, now),
    ]


PRIORITYCLASS_COLUMNS = (
    NAME,
    col("Value", "PriorityClass.value", type="integer"),
    col("Global-Default", "PriorityClass.globalDefault", type="boolean"),
    AGE,
    col("PreemptionPolicy", "PriorityClass.preemptionPolicy"),
)


def priorityclass_row(obj: Obj, now: datetime) -> list[Any]:
    policy = obj.get("preemptionPolicy")
    return [name(obj), n(obj.get("value")), obj.get("globalDefault") is True, age(obj, now), s(policy)]


# -- custom resources -----------------------------------------------------------------------------------
def _typed_cell(kind: str, value: Any, now: datetime) -> Any:
    """``cellForJSONValue``: a non-string column's cell, None when the value does not fit its type."""
    if value is None or (isinstance(value, bool) and kind in ("integer", "number")):
        return None
    if kind == "integer" and isinstance(value, int | float):
        return int(value)
    if kind == "number" and isinstance(value, int | float):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        if value in ("", "null"):
            return "<unknown>"
        return since(value, now) if is_rfc3339(value) else "<invalid>"
    return None


def crd_printer(additional_printer_columns: list[dict[str, Any]]) -> Printer:
    """Columns and row function for custom resources of one CRD version."""
    specs = list(additional_printer_columns) or [
        {
            "name": "Age",
            "type": "date",
            "jsonPath": ".metadata.creationTimestamp",
            "description": DOC["ObjectMeta.creationTimestamp"],
        }
    ]
    columns = [NAME]
    paths = []
    for spec in specs:
        path = s(spec.get("jsonPath"))
        description = (
            s(spec.get("description")) or f"Custom resource definition column (in JSONPath format): {path}"
        )
        columns.append(
            Column(
                s(spec.get("name")),
                s(spec.get("type")),
                s(spec.get("format")),
                description,
                n(spec.get("priority")),
            )
        )
        paths.append(compile_path(path))

    def row(obj: Obj, now: datetime) -> list[Any]:
        cells: list[Any] = [name(obj)]
        for column, steps in zip(columns[1:], paths, strict=True):
            found = find(obj, steps) if steps is not None else []
            if not found:
                cells.append(None)
            elif column.type == "string":
                cells.append(go_text(found[0]))
            else:
                cells.append(_typed_cell(column.type, found[0], now))
        return cells

    return tuple(columns), row


PRINTERS: dict[tuple[str, str], Printer] = {
    ("networking.k8s.io", "Ingress"): (INGRESS_COLUMNS, ingress_row),
    ("networking.k8s.io", "IngressClass"): (INGRESSCLASS_COLUMNS, ingressclass_row),
    ("coordination.k8s.io", "Lease"): (LEASE_COLUMNS, lease_row),
    ("rbac.authorization.k8s.io", "RoleBinding"): (_binding_columns("RoleBinding"), binding_row),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): (
        _binding_columns("ClusterRoleBinding"),
        binding_row,
    ),
    ("rbac.authorization.k8s.io", "Role"): DEFAULT_PRINTER,
    ("rbac.authorization.k8s.io", "ClusterRole"): DEFAULT_PRINTER,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): DEFAULT_PRINTER,
    ("policy", "PodDisruptionBudget"): (PDB_COLUMNS, pdb_row),
    ("scheduling.k8s.io", "PriorityClass"): (PRIORITYCLASS_COLUMNS, priorityclass_row),
}
