"""Name, label, annotation, selector and ObjectMeta validation shared by every kind.

These are the rules of ``k8s.io/apimachinery/pkg/util/validation`` and ``pkg/api/validation``
(v0.32), reproduced as facts: the same regular expressions, the same limits (counted in *bytes*,
as Go's ``len`` does), and the same detail strings, because kubectl prints the 422 message
verbatim and users compare it with what a real cluster says.

This module is the one place validators import them from; it re-exports the public names of:

* :mod:`.names`: the ``is_*`` predicates (names, label values, qualified names, config keys),
  their regexes and the shared detail strings;
* :mod:`.fielderrors`: wrong-JSON-type errors and Go ``%#v`` renderings of bad values;
* :mod:`.objectmeta`: :func:`validate_object_meta` and the labels, annotations, label selectors,
  ownerReferences and finalizers it checks.

Those modules import one another directly and never this one, so importing it cannot cycle.
"""

from __future__ import annotations

from ferry.cluster.resources.validation.fielderrors import (
    GoValueError,
    go_int_or_string,
    go_label_selector,
    go_string,
    go_string_map,
    invalid_go,
    not_supported_go,
    str_dict_errors,
    type_name,
    wrong_type,
)
from ferry.cluster.resources.validation.names import (
    IMMUTABLE,
    NEGATIVE,
    NameValidator,
    inclusive_range_error,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_path_segment_name,
    is_qualified_name,
    is_valid_label_value,
    mask_trailing_dash,
    max_len_error,
    regex_error,
)
from ferry.cluster.resources.validation.objectmeta import (
    NAME_VALIDATORS,
    SELECTOR_OPERATORS,
    TOTAL_ANNOTATION_SIZE_LIMIT_B,
    selector_matches,
    validate_annotations,
    validate_label_selector,
    validate_labels,
    validate_object_meta,
)

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
