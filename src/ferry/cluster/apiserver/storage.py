"""The generic write path every kind shares (kube's ``registry/generic/registry.Store``).

create:  namespace from the URL → system metadata (uid, creationTimestamp, generation) → PrepareForCreate →
         defaulting → unknown-field pruning (fieldValidation) → validation → admission → managedFields → store
update:  the same against the stored object, with resourceVersion preconditions (409 on a stale write),
         status kept from the stored object (it is owned by ``/status``), generation bumped when the
         kind's generation keys change, deletion completed when the last finalizer goes.
patch:   ``GuaranteedUpdate``: read, apply the patch, run the update path, write with a revision
         precondition; on a lost race (another writer won) re-read and re-apply, as kube does.

Nothing here knows HTTP; handlers turn requests into these calls and results into responses. ``dryRun``
runs everything except the store write.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.apiserver import errors
from ferry.cluster.apiserver.admission import Admission
from ferry.cluster.apiserver.objects import (
    deepcopy,
    generate_name,
    meta,
    new_uid,
    now_utc,
    rfc3339,
    semantic_equal,
)
from ferry.cluster.apiserver.patch import patch_meta, schema_meta, update_managed_fields
from ferry.cluster.apiserver.selectors import go_quote
from ferry.cluster.resources import lifecycle
from ferry.cluster.resources.schema_check import unknown_field_paths
from ferry.cluster.resources.types import Obj, ResourceType
from ferry.cluster.resources.validation import NAME_VALIDATORS
from ferry.cluster.resources.validation.common import is_dns1123_subdomain, validate_object_meta
from ferry.cluster.store import Entry, KeyExists, KeyNotFound, RevisionConflict, Store

_SYSTEM_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
)
# A lost race retries at once; with N concurrent writers to one object a request may lose N-1 times.
MAX_UPDATE_RETRIES = 256
# Subresources whose handler changes exactly the fields it owns (pods/binding sets spec.nodeName, which a
# pod update may not change; namespaces/finalize sets spec.finalizers): no status reset, no kind validation.
_OWN_FIELDS_SUBRESOURCES = frozenset({"binding", "finalize"})


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    duplicate_fields: list[str] = field(default_factory=list)


class _LostRace(Exception):
    """The store's revision precondition failed: someone else wrote the object after we read it."""


class WriteResult:
    """A write's outcome: the stored bytes (what the client gets) and, parsed only if asked, the object."""

    __slots__ = ("_obj", "created", "raw", "warnings")

    def __init__(
        self, obj: Obj | None, raw: bytes, *, created: bool = False, warnings: list[str] | None = None
    ) -> None:
        self._obj = obj
        self.raw = raw
        self.created = created
        self.warnings = warnings if warnings is not None else []

    @property
    def obj(self) -> Obj:
        if self._obj is None:
            self._obj = json.loads(self.raw)
        return self._obj


def type_meta(rt: ResourceType) -> Any:
    """The patch/apply type tree of a kind: built-in tables, or the CRD's schema for custom resources."""
    if rt.crd_name is not None:
        return schema_meta(rt.schema or {})
    return patch_meta(rt.group, rt.kind)


def dump_object(obj: Obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Storage:
    """Create/update/patch for any :class:`ResourceType`, over one :class:`Store`."""

    def __init__(self, store: Store, *, admission: Admission) -> None:
        self.store = store
        self.admission = admission

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Entry:
        entry = self.store.get(rt.store_key(namespace, name))
        if entry is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return entry

    # -- shared pipeline -----------------------------------------------------------------------------
    def _check_kind(self, rt: ResourceType, obj: Any) -> Obj:
        if not isinstance(obj, dict):
            raise errors.bad_request(
                f"the body of the request must be a {rt.kind} object, not {type(obj).__name__}"
            )
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if api_version is None and kind is None:
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            return obj
        if kind != rt.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind or ''}) does not match the expected kind ({rt.kind})"
                if kind
                else "Object 'Kind' is missing in the request body"
            )
        if api_version != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version or ''}) does not match the expected API version ({rt.api_version})"
            )
        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.bad_request("metadata must be an object")
        return obj

    def _check_namespace(self, rt: ResourceType, obj: Obj, namespace: str | None) -> None:
        m = meta(obj)
        if rt.namespaced:
            body_ns = m.get("namespace")
            if body_ns and body_ns != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            m["namespace"] = namespace
        else:
            m.pop("namespace", None)

    def _prune_unknown(
        self, rt: ResourceType, obj: Obj, opts: WriteOptions, warnings: list[str], *, patched: bool = False
    ) -> None:
        found = [f"duplicate field {go_quote(d)}" for d in opts.duplicate_fields]
        found += [f"unknown field {go_quote(p)}" for p in unknown_field_paths(rt, obj)]
        if not found or opts.field_validation == "Ignore":
            return
        if opts.field_validation == "Strict":
            detail = "strict decoding error: " + ", ".join(found)
            if patched:
                raise errors.bad_request(detail)
            raise errors.bad_request(
                f"{rt.kind} in version {go_quote(rt.version)} cannot be handled as a {rt.kind}: {detail}"
            )
        warnings.extend(found)

    def _validate(self, rt: ResourceType, obj: Obj, old: Obj | None, *, meta_only: bool = False) -> None:
        name_validator = NAME_VALIDATORS.get((rt.group, rt.kind), is_dns1123_subdomain)
        errs = validate_object_meta(
            obj, old, namespaced=rt.namespaced, name_validator=name_validator, builtin=rt.crd_name is None
        )
        if rt.validate is not None and not meta_only:
            errs = errs + rt.validate(obj, old)  # kube reports metadata and spec errors together
        if errs:
            name = str(meta(obj).get("name") or meta(obj).get("generateName") or "")
            raise errors.invalid(rt.kind, rt.group, name, errs)

    def _default(self, rt: ResourceType, obj: Obj) -> None:
        if rt.default is not None:
            rt.default(obj)

    # -- create --------------------------------------------------------------------------------------
    async def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Any,
        opts: WriteOptions,
        *,
        apply_manager: str | None = None,
    ) -> WriteResult:
        obj = self._check_kind(rt, body)
        self._check_namespace(rt, obj, namespace)
        m = meta(obj)
        if m.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        warnings: list[str] = []
        self._prune_unknown(rt, obj, opts, warnings)
        for k in _SYSTEM_META:
            m.pop(k, None)
        now = now_utc()
        m["uid"] = new_uid()
        m["creationTimestamp"] = rfc3339(now)
        if rt.generation_keys is not None:
            m["generation"] = 1
        generated = not m.get("name") and bool(m.get("generateName"))
        if generated:
            m["name"] = generate_name(str(m["generateName"]))
        lifecycle.prepare_for_create(rt, obj)
        self._default(rt, obj)
        self._validate(rt, obj, None)
        await self.admission.admit_create(rt, obj, dry_run=opts.dry_run)
        if apply_manager is None:
            m.pop("managedFields", None)
            update_managed_fields(
                None,
                obj,
                manager=opts.field_manager,
                api_version=rt.api_version,
                now=rfc3339(now),
                meta=type_meta(rt),
            )
        key = rt.store_key(namespace, str(m["name"]))
        if opts.dry_run:
            if self.store.get(key) is not None:
                raise errors.already_exists(rt.plural, rt.group, str(m["name"]))
            return WriteResult(obj, dump_object(obj), created=True, warnings=warnings)
        for attempt in range(8):
            try:
                entry = await self.store.create(key, obj)
                break
            except KeyExists:
                if not generated or attempt == 7:
                    self.admission.release(rt, obj)
                    raise errors.already_exists(rt.plural, rt.group, str(m["name"]))
                m["name"] = generate_name(str(m["generateName"]))
                key = rt.store_key(namespace, str(m["name"]))
        return WriteResult(None, entry.raw, created=True, warnings=warnings)

    # -- update --------------------------------------------------------------------------------------
    def prepare_update(
        self,
        rt: ResourceType,
        obj: Obj,
        old: Obj,
        opts: WriteOptions,
        *,
        subresource: str = "",
        managed: bool = True,
        patched: bool = False,
    ) -> list[str]:
        """Turn a client's full object into the object to store; returns warnings. Raises on invalid input."""
        warnings: list[str] = []
        self._prune_unknown(rt, obj, opts, warnings, patched=patched)
        m = meta(obj)
        om = old.get("metadata") or {}
        for k in _SYSTEM_META:
            if k in om:
                m[k] = om[k]
            else:
                m.pop(k, None)
        if "managedFields" not in m and "managedFields" in om:
            m["managedFields"] = om["managedFields"]
        if subresource == "status":
            lifecycle.prepare_for_status_update(rt, obj, old)
            m = meta(obj)
        elif subresource not in _OWN_FIELDS_SUBRESOURCES:
            lifecycle.prepare_for_update(rt, obj, old)
        self._default(rt, obj)
        if rt.generation_keys is not None and subresource != "status":
            changed = any(not semantic_equal(obj.get(k), old.get(k)) for k in rt.generation_keys)
            if rt.bump_generation_on_annotations and not semantic_equal(
                m.get("annotations"), om.get("annotations")
            ):
                changed = True
            if changed:
                m["generation"] = int(om.get("generation") or 0) + 1
        self._validate(rt, obj, old, meta_only=subresource in _OWN_FIELDS_SUBRESOURCES)
        if managed:
            update_managed_fields(
                old,
                obj,
                manager=opts.field_manager,
                api_version=rt.api_version,
                now=rfc3339(now_utc()),
                subresource=subresource,
                meta=type_meta(rt),
            )
        return warnings

    async def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        opts: WriteOptions,
        *,
        subresource: str = "",
    ) -> WriteResult:
        obj = self._check_kind(rt, body)
        self._check_namespace(rt, obj, namespace)
        m = meta(obj)
        if m.get("name") not in (None, "", name):
            raise errors.bad_request(
                f"the name of the object ({m.get('name')}) does not match the name on the URL ({name})"
            )
        m["name"] = name
        entry = self.get(rt, namespace, name)
        old = entry.obj()
        client_rv = m.get("resourceVersion")
        if client_rv and str(client_rv) != str(entry.rev):
            raise errors.conflict(rt.plural, rt.group, name)
        warnings = self.prepare_update(rt, obj, old, opts, subresource=subresource)
        try:
            return await self._commit(rt, namespace, name, obj, old, entry.rev, opts, warnings)
        except _LostRace:
            # A PUT is a full replacement computed from what the client read: a concurrent write makes
            # it stale, whether or not it named a resourceVersion.
            raise errors.conflict(rt.plural, rt.group, name) from None

    async def _commit(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        obj: Obj,
        old: Obj,
        rev: int,
        opts: WriteOptions,
        warnings: list[str],
    ) -> WriteResult:
        m = meta(obj)
        await self.admission.admit_update(rt, obj, old, dry_run=opts.dry_run)
        if m.get("deletionTimestamp") and not m.get("finalizers"):
            # The last finalizer is gone: the update completes the deletion.
            if opts.dry_run:
                return WriteResult(obj, dump_object(obj), warnings=warnings)
            try:
                entry = await self.store.delete(
                    rt.store_key(namespace, name), expected_rev=rev, last_state=obj
                )
            except RevisionConflict:
                raise _LostRace from None
            except KeyNotFound:
                raise errors.not_found(rt.plural, rt.group, name)
            self.admission.release(rt, obj)
            return WriteResult(None, entry.raw, warnings=warnings)
        m["resourceVersion"] = str(rev)
        if obj == old:
            # Nothing changed: like kube's GuaranteedUpdate, write nothing and keep the resourceVersion
            # (kubectl prints "patched (no change)" by comparing the two).
            current = self.store.get(rt.store_key(namespace, name))
            if current is not None and current.rev == rev:
                return WriteResult(None, current.raw, warnings=warnings)
        if opts.dry_run:
            return WriteResult(obj, dump_object(obj), warnings=warnings)
        try:
            entry = await self.store.update(rt.store_key(namespace, name), obj, expected_rev=rev)
        except RevisionConflict:
            raise _LostRace from None
        except KeyNotFound:
            raise errors.not_found(rt.plural, rt.group, name)
        return WriteResult(None, entry.raw, warnings=warnings)

    async def guaranteed_update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        mutate: Callable[[Obj], Awaitable[tuple[Obj, bool]]],
        opts: WriteOptions,
        *,
        subresource: str = "",
    ) -> WriteResult:
        """Read-modify-write with retry. ``mutate(old) -> (new, managed_fields_done)``."""
        for _ in range(MAX_UPDATE_RETRIES):
            entry = self.get(rt, namespace, name)
            old = entry.obj()
            new, managed_done = await mutate(deepcopy(old))
            new = self._check_kind(rt, new)
            self._check_namespace(rt, new, namespace)
            nm = meta(new)
            if nm.get("name") != name:
                raise errors.bad_request(
                    "metadata.name: Invalid value: the name of a patched object may not change"
                )
            rv = nm.get("resourceVersion")
            if rv and str(rv) != str(entry.rev):
                raise errors.conflict(rt.plural, rt.group, name)
            warnings = self.prepare_update(
                rt, new, old, opts, subresource=subresource, managed=not managed_done, patched=True
            )
            try:
                return await self._commit(rt, namespace, name, new, old, entry.rev, opts, warnings)
            except _LostRace:
                # Another write landed between our read and our write. Re-read and re-apply: a
                # resourceVersion the client put in its patch is checked again above and fails then.
                continue
        raise errors.conflict(rt.plural, rt.group, name)
