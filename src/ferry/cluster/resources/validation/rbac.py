"""Validation of rbac.authorization.k8s.io/v1 kinds and authorization.k8s.io/v1 SelfSubjectAccessReview.

Facts from ``pkg/apis/rbac/validation`` and ``pkg/apis/authorization/validation`` (kube v1.32):

* Policy rules need verbs; resource rules need apiGroups and resources; non-resource URLs are for
  ClusterRoles only and exclude resource fields.
* Bindings reference a Role/ClusterRole (ClusterRoleBinding: ClusterRole only) in the RBAC group;
  ``roleRef`` can never change (``roleRef: Invalid value: rbac.RoleRef{...}: cannot change roleRef``,
  the value printed as Go's ``%#v`` of the struct).
* Subjects are ServiceAccount (apiGroup "", namespace required in ClusterRoleBindings), User or
  Group (apiGroup ``rbac.authorization.k8s.io``, filled in by the defaulter when omitted).
* A SelfSubjectAccessReview spec carries exactly one of resourceAttributes and
  nonResourceAttributes, and its metadata must be empty. The API server must skip the generic
  ObjectMeta validation for this create-only kind (kube's SSAR REST does not run it), or an
  unnamed review would fail with ``metadata.name: Required value``.
"""

from __future__ import annotations

import json
from typing import Any

from ferry.cluster.apiserver.errors import FieldError, invalid_value, not_supported, required
from ferry.cluster.resources.types import Obj, Validator
from ferry.cluster.resources.validation.common import invalid_go, is_dns1123_subdomain, is_path_segment_name
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    dict_at,
    go_strings,
    list_at,
    str_at,
    str_list_at,
)

GROUP = "rbac.authorization.k8s.io"


def _rule(rule: Any, path: str, namespaced: bool, errs: Errs) -> None:
    if not isinstance(rule, dict):
        errs.append(invalid_value(path, rule, "must be an object"))
        return
    verbs = str_list_at(rule, "verbs", path, errs)
    if not verbs:
        errs.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = str_list_at(rule, "nonResourceURLs", path, errs)
    groups = str_list_at(rule, "apiGroups", path, errs)
    resources = str_list_at(rule, "resources", path, errs)
    names = str_list_at(rule, "resourceNames", path, errs)
    if urls:
        if namespaced:
            detail = "namespaced rules cannot apply to non-resource URLs"
            errs.append(invalid_go(f"{path}.nonResourceURLs", go_strings(urls), detail))
        if groups or resources or names:
            detail = "rules cannot apply to both regular resources and non-resource URLs"
            errs.append(invalid_go(f"{path}.nonResourceURLs", go_strings(urls), detail))
        return
    if not groups:
        errs.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
    if not resources:
        errs.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
    if names and len(resources) > 1:
        errs.append(required(f"{path}.resourceNames", "resource names cannot apply to multiple resources"))


def _role(namespaced: bool) -> Validator:
    def validate(obj: Obj, old: Obj | None) -> list[FieldError]:
        errs: Errs = []
        for i, rule in enumerate(list_at(obj, "rules", "", errs)):
            _rule(rule, f"rules[{i}]", namespaced, errs)
        return errs

    return validate


def _subject(subject: Any, path: str, namespaced: bool, errs: Errs) -> None:
    if not isinstance(subject, dict):
        errs.append(invalid_value(path, subject, "must be an object"))
        return
    name = str_at(subject, "name", path, errs)
    kind = str_at(subject, "kind", path, errs)
    api_group = str_at(subject, "apiGroup", path, errs)
    if not name:
        errs.append(required(f"{path}.name"))
    if kind == "ServiceAccount":
        if name:
            errs.extend(invalid_value(f"{path}.name", name, m) for m in is_dns1123_subdomain(name))
        if api_group:
            errs.append(not_supported(f"{path}.apiGroup", api_group, [""]))
        if not namespaced and not str_at(subject, "namespace", path, errs):
            errs.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if not name:
            errs.append(invalid_value(f"{path}.name", name, f"{kind.lower()} name cannot be empty"))
        if api_group != GROUP:
            errs.append(not_supported(f"{path}.apiGroup", api_group, [GROUP]))
    else:
        errs.append(not_supported(f"{path}.kind", kind, ["ServiceAccount", "User", "Group"]))


def _role_ref_go(ref: dict[str, Any]) -> str:
    def q(name: str) -> str:
        value = ref.get(name)
        return json.dumps(value if isinstance(value, str) else "", ensure_ascii=False)

    return f"rbac.RoleRef{{APIGroup:{q('apiGroup')}, Kind:{q('kind')}, Name:{q('name')}}}"


def _binding(namespaced: bool) -> Validator:
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]

    def validate(obj: Obj, old: Obj | None) -> list[FieldError]:
        errs: Errs = []
        ref = dict_at(obj, "roleRef", "", errs)
        api_group = str_at(ref, "apiGroup", "roleRef", errs)
        kind = str_at(ref, "kind", "roleRef", errs)
        name = str_at(ref, "name", "roleRef", errs)
        if api_group != GROUP:
            errs.append(not_supported("roleRef.apiGroup", api_group, [GROUP]))
        if kind not in kinds:
            errs.append(not_supported("roleRef.kind", kind, kinds))
        if not name:
            errs.append(required("roleRef.name"))
        else:
            errs.extend(invalid_value("roleRef.name", name, m) for m in is_path_segment_name(name))
        for i, subject in enumerate(list_at(obj, "subjects", "", errs)):
            _subject(subject, f"subjects[{i}]", namespaced, errs)
        if old is not None:
            old_ref = dict_at(old, "roleRef", "", [])
            fields = ("apiGroup", "kind", "name")
            if any((ref.get(f) or "") != (old_ref.get(f) or "") for f in fields):
                errs.append(invalid_go("roleRef", _role_ref_go(ref), "cannot change roleRef"))
        return errs

    return validate


def _go_attrs(type_name: str, attrs: Any, fields: tuple[tuple[str, str], ...]) -> str:
    """``%#v`` of a ``*authorization.<type>`` pointer: ``&authorization.X{...}`` or ``(*...)(nil)``."""
    if not isinstance(attrs, dict):
        return f"(*authorization.{type_name})(nil)"
    parts = []
    for go_name, json_name in fields:
        value = attrs.get(json_name)
        parts.append(f"{go_name}:{json.dumps(value if isinstance(value, str) else '', ensure_ascii=False)}")
    return f"&authorization.{type_name}{{{', '.join(parts)}}}"


_NON_RESOURCE_FIELDS = (("Path", "path"), ("Verb", "verb"))


def validate_self_subject_access_review(obj: Obj, old: Obj | None) -> list[FieldError]:
    errs: Errs = []
    spec = dict_at(obj, "spec", "", errs)
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    shown = _go_attrs("NonResourceAttributes", non_resource, _NON_RESOURCE_FIELDS)
    if resource is not None and non_resource is not None:
        detail = "cannot be specified in combination with resourceAttributes"
        errs.append(invalid_go("spec.nonResourceAttributes", shown, detail))
    if resource is None and non_resource is None:
        detail = "exactly one of nonResourceAttributes or resourceAttributes must be specified"
        errs.append(invalid_go("spec.resourceAttributes", shown, detail))
    for name, value in (("resourceAttributes", resource), ("nonResourceAttributes", non_resource)):
        if value is not None and not isinstance(value, dict):
            errs.append(invalid_value(f"spec.{name}", value, "must be of type object"))
    meta = obj.get("metadata")
    significant = (
        {k: v for k, v in meta.items() if k != "managedFields" and v not in (None, "", {}, [])}
        if isinstance(meta, dict)
        else {}
    )
    if significant:
        shown_meta = json.dumps(significant, sort_keys=True, separators=(",", ":"))
        errs.append(invalid_go("metadata", f"v1.ObjectMeta{shown_meta}", "must be empty"))
    return errs


VALIDATORS: dict[tuple[str, str], Validator] = {
    (GROUP, "Role"): _role(namespaced=True),
    (GROUP, "ClusterRole"): _role(namespaced=False),
    (GROUP, "RoleBinding"): _binding(namespaced=True),
    (GROUP, "ClusterRoleBinding"): _binding(namespaced=False),
    ("authorization.k8s.io", "SelfSubjectAccessReview"): validate_self_subject_access_review,
}

__all__ = ["VALIDATORS", "validate_self_subject_access_review"]
