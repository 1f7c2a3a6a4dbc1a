"""Name, label, annotation, selector and ObjectMeta validation shared by every kind.

These are the rules of ``k8s.io/apimachinery/pkg/util/validation`` and ``pkg/api/validation``
(v0.32), reproduced as facts: the same regular expressions, the same limits (counted in *bytes*,
as Go's ``len`` does), and the same detail strings, because kubectl prints the 422 message
verbatim and users compare it with what a real cluster says.

Design:

* ``is_*`` predicates return a list of detail strings (empty = valid), exactly like their Go
  namesakes; callers wrap each one in a ``FieldError`` at their own path.
* ``validate_*`` functions take *untrusted JSON* (whatever the client sent) and never raise: a
  value of the wrong JSON type becomes a ``FieldValueTypeInvalid`` error instead.
* Map iteration in Go is random; here keys are visited in sorted order so messages are stable.
* :func:`validate_object_meta` runs for every kind (custom resources too). It does not check
  ``resourceVersion`` or ``generation`` on update: the generic server owns those fields and sets
  them before validation (an unconditional PUT carries no resourceVersion).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ferry.cluster.apiserver.errors import (
    FieldError,
    forbidden,
    invalid_value,
    required,
    too_long,
    type_invalid,
)
from ferry.cluster.resources.types import Obj

NameValidator = Callable[[str], list[str]]

IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"
TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * 1024

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"

_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character"
)
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_CONFIG_MAP_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"

_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)
_QNAME_RE = re.compile(_QNAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_CONFIG_MAP_KEY_RE = re.compile(_CONFIG_MAP_KEY_FMT)


def _blen(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``RegexError``: the message, the examples, then the regex used."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def is_dns1123_label(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > 253:
        errs.append(max_len_error(253))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """Label and annotation keys: an optional DNS-subdomain prefix, '/', and a 63-byte name."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif _blen(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _QNAME_RE.fullmatch(name):
        errs.append("name part " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > 63:
        errs.append(max_len_error(63))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _chdir_prefix(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_config_map_key(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > 253:
        errs.append(max_len_error(253))
    if not _CONFIG_MAP_KEY_RE.fullmatch(value):
        errs.append(regex_error(_CONFIG_MAP_KEY_MSG, _CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    return errs + _chdir_prefix(value)


def is_path_segment_name(value: str) -> list[str]:
    """RBAC object names (``path.IsValidPathSegmentName``)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def mask_trailing_dash(name: str) -> str:
    """``generateName`` may end in '-'; Go replaces the last *two* bytes by 'a' before checking."""
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


# ---- helpers for other validators -------------------------------------------------------------

_JSON_TYPES: dict[type, str] = {dict: "object", list: "array", str: "string", bool: "boolean"}


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def wrong_type(path: str, value: Any, expected: str) -> FieldError:
    """A value of the wrong JSON type (``must be of type object``)."""
    return type_invalid(path, value, f"must be of type {expected}")


class GoValueError(FieldError):
    """A FieldError whose bad value prints as Go's ``%#v`` (``map[string]string{"app":"x"}``).

    ``errors._quote`` renders dicts as JSON; kube prints Go syntax for struct and map values, so
    validators that must match such messages exactly pass the Go rendering as ``value``.
    """

    def summary(self) -> str:
        label = "Unsupported value" if self.type == "FieldValueNotSupported" else "Invalid value"
        base = f"{label}: {self.value}"
        return f"{base}: {self.detail}" if self.detail else base


def invalid_go(path: str, go_repr: str, detail: str) -> FieldError:
    """``field.Invalid`` with a value already rendered in Go syntax."""
    return GoValueError("FieldValueInvalid", path, detail, go_repr, True)


def not_supported_go(path: str, go_repr: str, supported: list[str]) -> FieldError:
    """``field.NotSupported`` with a value already rendered in Go syntax."""
    detail = "supported values: " + ", ".join(json.dumps(v) for v in supported)
    return GoValueError("FieldValueNotSupported", path, detail, go_repr, True)


def go_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def go_string_map(value: Any) -> str:
    """``%#v`` of a ``map[string]string`` (keys sorted, as fmt prints maps); None → ``(nil)``."""
    if not isinstance(value, dict):
        return "map[string]string(nil)"
    body = ", ".join(f"{go_string(str(k))}:{go_string(str(v))}" for k, v in sorted(value.items()))
    return "map[string]string{" + body + "}"


def go_label_selector(sel: Any) -> str:
    """``%#v`` of a ``metav1.LabelSelector`` (how kube prints ``spec.selector`` in errors)."""
    sel = sel if isinstance(sel, dict) else {}
    exprs = sel.get("matchExpressions")
    if isinstance(exprs, list):
        items = []
        for req in exprs:
            req = req if isinstance(req, dict) else {}
            values = req.get("values")
            shown = (
                "[]string{" + ", ".join(go_string(str(v)) for v in values) + "}"
                if isinstance(values, list)
                else "[]string(nil)"
            )
            items.append(
                f"v1.LabelSelectorRequirement{{Key:{go_string(str(req.get('key') or ''))}, "
                f"Operator:{go_string(str(req.get('operator') or ''))}, Values:{shown}}}"
            )
        expr_repr = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    else:
        expr_repr = "[]v1.LabelSelectorRequirement(nil)"
    labels = go_string_map(sel.get("matchLabels"))
    return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{expr_repr}}}"


def go_int_or_string(value: Any) -> str:
    """``%#v`` of an ``intstr.IntOrString`` (``intstr.IntOrString{Type:1, IntVal:0, StrVal:"25%"}``)."""
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_string(value)}}}"
    number = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return f'intstr.IntOrString{{Type:0, IntVal:{number}, StrVal:""}}'


def str_dict_errors(value: Any, path: str) -> tuple[dict[str, str], list[FieldError]]:
    """Coerce a JSON ``map[string]string``; report non-object maps and non-string values."""
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        return {}, [wrong_type(path, value, "object")]
    out: dict[str, str] = {}
    errs: list[FieldError] = []
    for k, v in value.items():
        if not isinstance(v, str):
            errs.append(wrong_type(f"{path}[{k}]", v, "string"))
        else:
            out[str(k)] = v
    return out, errs


# ---- labels, annotations, selectors -----------------------------------------------------------


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
        total += _blen(k) + _blen(good[k])
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


__all__ = [
    "IMMUTABLE",
    "NAME_VALIDATORS",
    "NEGATIVE",
    "SELECTOR_OPERATORS",
    "TOTAL_ANNOTATION_SIZE_LIMIT_B",
    "GoValueError",
    "NameValidator",
    "go_int_or_string",
    "go_label_selector",
    "go_string",
    "go_string_map",
    "inclusive_range_error",
    "invalid_go",
    "is_config_map_key",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_path_segment_name",
    "is_qualified_name",
    "is_valid_label_value",
    "mask_trailing_dash",
    "max_len_error",
    "not_supported_go",
    "regex_error",
    "selector_matches",
    "str_dict_errors",
    "type_name",
    "validate_annotations",
    "validate_label_selector",
    "validate_labels",
    "validate_object_meta",
    "wrong_type",
]
