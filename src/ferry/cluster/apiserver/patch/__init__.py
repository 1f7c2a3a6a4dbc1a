"""Patch engines for the API server: pure functions from (object, patch) to object, no I/O.

=================================  ==========================================  ==================
Content-Type                       function                                    module
=================================  ==========================================  ==================
``application/json-patch+json``    :func:`apply_json_patch`                    ``jsonpatch``
``application/merge-patch+json``   :func:`apply_merge_patch`                   ``mergepatch``
``application/strategic-merge-     :func:`apply_strategic_merge_patch`         ``strategic``
patch+json``                       (built-in kinds: :func:`patch_meta`)
``application/apply-patch+yaml``   :func:`server_side_apply`                   ``apply``
(every other write)                :func:`update_managed_fields`               ``apply``
=================================  ==========================================  ==================

``meta`` holds the per-kind type tree (merge keys, list types) both SMP and SSA need; ``fieldsets``
holds FieldsV1 ownership sets. Failures are :class:`PatchError` (422, or 400 for malformed directives)
and :class:`ApplyConflict` (409); both render their ``Status`` via ``api_error()``.
"""

from ferry.cluster.apiserver.patch.apply import (
    decode_managed_fields,
    encode_managed_fields,
    server_side_apply,
    update_managed_fields,
)
from ferry.cluster.apiserver.patch.errors import ApplyConflict, PatchError
from ferry.cluster.apiserver.patch.fieldsets import FieldSet, path_string, to_field_set
from ferry.cluster.apiserver.patch.jsonpatch import apply_json_patch
from ferry.cluster.apiserver.patch.mergepatch import apply_merge_patch, create_merge_patch, json_equal
from ferry.cluster.apiserver.patch.meta import TypeNode, patch_meta, schema_meta
from ferry.cluster.apiserver.patch.strategic import apply_strategic_merge_patch

__all__ = [
    "ApplyConflict",
    "FieldSet",
    "PatchError",
    "TypeNode",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "create_merge_patch",
    "decode_managed_fields",
    "encode_managed_fields",
    "json_equal",
    "patch_meta",
    "path_string",
    "schema_meta",
    "server_side_apply",
    "to_field_set",
    "update_managed_fields",
]
