"""ObjectMeta validation, with the labels, annotations, selectors and finalizers it covers.

These are the rules of ``k8s.io/apimachinery/pkg/api/validation`` and
``pkg/apis/meta/v1/validation`` (v0.32). :func:`validate_object_meta` (``ValidateObjectMeta`` /
``ValidateObjectMetaUpdate``) checks name, generateName, namespace, labels, annotations,
ownerReferences and finalizers, and the identity fields that may not change on update. Label
maps, annotation maps and ``metav1.LabelSelector`` are also validated on their own by the kinds
that embed them (:func:`validate_labels`, :func:`validate_annotations`,
:func:`validate_label_selector`), and :func:`selector_matches` evaluates a valid selector.
:data:`NAME_VALIDATORS` lists the kinds whose ``metadata.name`` follows a rule other than the
DNS-1123 subdomain one.

Design:

* ``validate_*`` functions take *untrusted JSON* (whatever the client sent) and never raise: a
  value of the wrong JSON type becomes a ``FieldValueTypeInvalid`` error instead.
* Map iteration in Go is random; here keys are visited in sorted order so messages are stable.
* :func:`validate_object_meta` runs for every kind (custom resources too). It does not check
  ``resourceVersion`` or ``generation`` on update: the generic server owns those fields and sets
  them before validation (an unconditional PUT carries no resourceVersion).
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.errors import FieldError, forbidden, invalid_value, required, too_long
from ferry.cluster.resources.types import Obj
from ferry.cluster.resources.validation.fielderrors import go_string, str_dict_errors, wrong_type
from ferry.cluster.resources.validation.names import (
    IMMUTABLE,
    NEGATIVE,
    NameValidator,
    byte_len,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_path_segment_name,
    is_qualified_name,
    is_valid_label_value,
    mask_trailing_dash,
)

TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * 1024


# ---- labels, annotations, selectors -------------------------------------------------------------


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    good, errs = str_dict_errors(labels, path)
    for k in sorted(good):
        errs.extend(invalid_value(path, k, m) for m in is_qualified_name(k))
        errs.extend(invalid_value(path, good[k], m) for m in is_valid_label_value(good[k]))
    return errs


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    good, errs = str_dict_errors(annotations, path)
    total = 0
    for k in sorted(good):
        errs.extend(invalid_value(path, k, m) for m in is_qualified_name(k.lower()))
        total += byte_len(k) + byte_len(good[k])
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_B:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT_B))
    return errs


SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _validate_requirement(req: Any, path: str) -> list[FieldError]:
    if not isinstance(req, dict):
        return [wrong_type(path, req, "object")]
    errs: list[FieldError] = []
    op = req.get("operator")
    values = req.get("values")
    if values is not None and not isinstance(values, list):
        errs.append(wrong_type(f"{path}.values", values, "array"))
        values = []
    values = values or []
    if op in ("In", "NotIn"):
        if not values:
            errs.append(required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif op in ("Exists", "DoesNotExist"):
        if values:
            errs.append(
                forbidden(
                    f"{path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                )
            )
    else:
        errs.append(
            invalid_value(f"{path}.operator", op if op is not None else "", "not a valid selector operator")
        )
    key = req.get("key", "")
    if not isinstance(key, str):
        errs.append(wrong_type(f"{path}.key", key, "string"))
    else:
        errs.extend(invalid_value(f"{path}.key", key, m) for m in is_qualified_name(key))
    for i, v in enumerate(values):
        if not isinstance(v, str):
            errs.append(wrong_type(f"{path}.values[{i}]", v, "string"))
            continue
        errs.extend(invalid_value(f"{path}.values[{i}]", v, m) for m in is_valid_label_value(v))
    return errs


def validate_label_selector(sel: Any, path: str) -> list[FieldError]:
    """A ``metav1.LabelSelector``: matchLabels as labels, matchExpressions by operator."""
    if sel is None:
        return []
    if not isinstance(sel, dict):
        return [wrong_type(path, sel, "object")]
    errs = validate_labels(sel.get("matchLabels"), f"{path}.matchLabels")
    exprs = sel.get("matchExpressions")
    if exprs is None:
        return errs
    if not isinstance(exprs, list):
        return [*errs, wrong_type(f"{path}.matchExpressions", exprs, "array")]
    for i, req in enumerate(exprs):
        errs.extend(_validate_requirement(req, f"{path}.matchExpressions[{i}]"))
    return errs


def selector_matches(sel: Any, labels: dict[str, str]) -> bool:
    """Whether a (valid) LabelSelector selects ``labels``; an empty selector matches everything."""
    if not isinstance(sel, dict):
        return False
    match_labels = sel.get("matchLabels")
    for k, v in match_labels.items() if isinstance(match_labels, dict) else []:
        if labels.get(str(k)) != v:
            return False
    exprs = sel.get("matchExpressions")
    for req in exprs if isinstance(exprs, list) else []:
        if not isinstance(req, dict):
            return False
        key, op, values = str(req.get("key")), req.get("operator"), req.get("values")
        values = values if isinstance(values, list) else []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ---- ObjectMeta ---------------------------------------------------------------------------------


NAME_VALIDATORS: dict[tuple[str, str], NameValidator] = {
    ("", "Namespace"): is_dns1123_label,
    ("", "Service"): is_dns1035_label,
    ("apps", "StatefulSet"): is_dns1123_label,
    ("rbac.authorization.k8s.io", "Role"): is_path_segment_name,
    ("rbac.authorization.k8s.io", "ClusterRole"): is_path_segment_name,
    ("rbac.authorization.k8s.io", "RoleBinding"): is_path_segment_name,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): is_path_segment_name,
}


_FINALIZER_ORPHAN = "orphan"
_FINALIZER_FOREGROUND = "foregroundDeletion"
_STANDARD_FINALIZERS = ("kubernetes", _FINALIZER_ORPHAN, _FINALIZER_FOREGROUND)


def _validate_owner_references(refs: Any, path: str) -> list[FieldError]:
    if refs is None:
        return []
    if not isinstance(refs, list):
        return [wrong_type(path, refs, "array")]
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs:
        if not isinstance(ref, dict):
            errs.append(wrong_type(path, ref, "object"))
            continue
        api_version = ref.get("apiVersion") or ""
        kind = ref.get("kind") or ""
        parts = str(api_version).split("/")
        group, version = (
            ("", parts[0]) if len(parts) == 1 else (parts[0], parts[1]) if len(parts) == 2 else ("", "")
        )
        if not version:
            errs.append(invalid_value(f"{path}.apiVersion", api_version, "version must not be empty"))
        if not kind:
            errs.append(invalid_value(f"{path}.kind", kind, "kind must not be empty"))
        if not ref.get("name"):
            errs.append(invalid_value(f"{path}.name", ref.get("name") or "", "name must not be empty"))
        if not ref.get("uid"):
            errs.append(invalid_value(f"{path}.uid", ref.get("uid") or "", "uid must not be empty"))
        if (group, version, kind) == ("", "v1", "Event"):
            errs.append(invalid_value(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name') or ''}"
            if first_controller:
                errs.append(
                    invalid_value(
                        path,
                        refs,
                        "Only one reference can have Controller set to true. "
                        f'Found "true" in references for {first_controller} and {current}',
                    )
                )
            else:
                first_controller = current
    return errs


def _validate_finalizers(finalizers: Any, path: str) -> list[FieldError]:
    if finalizers is None:
        return []
    if not isinstance(finalizers, list):
        return [wrong_type(path, finalizers, "array")]
    errs: list[FieldError] = []
    for f in finalizers:
        if not isinstance(f, str):
            errs.append(wrong_type(path, f, "string"))
            continue
        errs.extend(invalid_value(path, f, m) for m in is_qualified_name(f))
    if _FINALIZER_ORPHAN in finalizers and _FINALIZER_FOREGROUND in finalizers:
        errs.append(
            invalid_value(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set")
        )
    return errs


def _kube_finalizer_names(finalizers: Any, path: str) -> list[FieldError]:
    """``validateKubeFinalizerName`` for each finalizer of a built-in kind."""
    errs: list[FieldError] = []
    for i, f in enumerate(finalizers if isinstance(finalizers, list) else []):
        if not isinstance(f, str):
            continue
        errs.extend(invalid_value(f"{path}[{i}]", f, m) for m in is_qualified_name(f))
        if "/" not in f and f not in _STANDARD_FINALIZERS:
            detail = "name is neither a standard finalizer name nor is it fully qualified"
            errs.append(invalid_value(f"{path}[{i}]", f, detail))
    return errs


def _str_field(meta: dict[str, Any], key: str, path: str, errs: list[FieldError]) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        errs.append(wrong_type(f"{path}.{key}", value, "string"))
        return ""
    return value


def _immutable_meta(meta: dict[str, Any], old_meta: dict[str, Any]) -> list[FieldError]:
    """Identity fields may not change. Absent uid / timestamps mean "unchanged": kube-apiserver
    copies them from the stored object before validating (``rest.BeforeUpdate``)."""
    errs: list[FieldError] = []
    for key in ("name", "namespace"):
        new_v, old_v = meta.get(key) or "", old_meta.get(key) or ""
        if new_v != old_v:
            errs.append(invalid_value(f"metadata.{key}", new_v, IMMUTABLE))
    for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        new_v, old_v = meta.get(key), old_meta.get(key)
        if new_v is None or new_v == "":
            continue
        if new_v != old_v:
            errs.append(invalid_value(f"metadata.{key}", new_v, IMMUTABLE))
    return errs


def validate_object_meta(
    obj: Obj,
    old: Obj | None,
    *,
    namespaced: bool,
    name_validator: NameValidator = is_dns1123_subdomain,
    builtin: bool = False,
) -> list[FieldError]:
    """``ValidateObjectMeta`` (create) or ``ValidateObjectMetaUpdate`` (``old`` given).

    Expects name generation to have happened already: an empty name here means neither name
    nor generateName was given. ``builtin=True`` adds what ``pkg/apis/core/validation`` adds for
    built-in kinds (not custom resources): every finalizer must be domain-qualified or one of
    the standard ones, reported per index (``metadata.finalizers[0]``), on create and update.
    """
    meta = obj.get("metadata")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return [wrong_type("metadata", meta, "object")]
    errs: list[FieldError] = []
    generate_name = _str_field(meta, "generateName", "metadata", errs)
    name = _str_field(meta, "name", "metadata", errs)
    namespace = _str_field(meta, "namespace", "metadata", errs)
    if old is None:
        if generate_name:
            errs.extend(
                invalid_value("metadata.generateName", generate_name, m)
                for m in name_validator(mask_trailing_dash(generate_name))
            )
        if not name:
            errs.append(required("metadata.name", "name or generateName is required"))
        else:
            errs.extend(invalid_value("metadata.name", name, m) for m in name_validator(name))
        if namespaced:
            if not namespace:
                errs.append(required("metadata.namespace"))
            else:
                errs.extend(
                    invalid_value("metadata.namespace", namespace, m) for m in is_dns1123_label(namespace)
                )
        elif namespace:
            errs.append(forbidden("metadata.namespace", "not allowed on this type"))
        generation = meta.get("generation")
        if isinstance(generation, int) and not isinstance(generation, bool) and generation < 0:
            errs.append(invalid_value("metadata.generation", generation, NEGATIVE))
    else:
        raw_old = old.get("metadata")
        old_meta: dict[str, Any] = raw_old if isinstance(raw_old, dict) else {}
        if old_meta.get("deletionTimestamp") is not None:
            raw_f = meta.get("finalizers")
            new_f: list[Any] = raw_f if isinstance(raw_f, list) else []
            raw_old_f = old_meta.get("finalizers")
            old_f = {f for f in raw_old_f if isinstance(f, str)} if isinstance(raw_old_f, list) else set()
            extra = sorted({f for f in new_f if isinstance(f, str)} - old_f)
            if extra:
                shown = "[]string{" + ", ".join(go_string(f) for f in extra) + "}"
                errs.append(
                    forbidden(
                        "metadata.finalizers",
                        f"no new finalizers can be added if the object is being deleted, found new finalizers {shown}",
                    )
                )
        errs.extend(_immutable_meta(meta, old_meta))
    errs.extend(validate_labels(meta.get("labels"), "metadata.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), "metadata.annotations"))
    errs.extend(_validate_owner_references(meta.get("ownerReferences"), "metadata.ownerReferences"))
    if old is None:
        errs.extend(_validate_finalizers(meta.get("finalizers"), "metadata.finalizers"))
    if builtin:
        errs.extend(_kube_finalizer_names(meta.get("finalizers"), "metadata.finalizers"))
    return errs
