"""Unknown-field detection for built-in kinds (``?fieldValidation=Strict|Warn``).

kube decodes request bodies into its Go structs with ``sigs.k8s.io/json`` in strict mode, which
records every JSON key that matches no struct field (case-sensitively) as ``unknown field
"<path>"``. The path is the chain of keys from the root, joined with ``.``, with ``[i]`` for list
elements: ``spec.template.spec.containers[0].imagee``, ``metadata.labelz``. Errors come in document
order, each path once. With ``Strict`` the API server answers 400::

    Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo", unknown field "spec.bar"

(see :func:`strict_decoding_message`); with ``Warn`` each ``unknown field "..."`` becomes a warning.

kube knows its structs; we derive the same tables from the installed ``lightkube.models`` (pinned
lightkube-models 1.37, whose classes are generated from the same OpenAPI). Models are ``msgspec``
Structs in lightkube >= 1.0 and dataclasses before; both are read (JSON names from
``encode_name`` / ``field.metadata["json"]``). Values whose Go type decodes itself (``Time``,
``Quantity``, ``IntOrString``, ``RawExtension``, ``FieldsV1``, JSON schemas, free-form maps) are
opaque: nothing under them is checked. Maps of structs are walked with the map key as a path element,
as ``sigs.k8s.io/json`` does.

Caveat: lightkube-models 1.37 may know a few fields kube 1.32 does not; those are accepted.

The per-class field tables are computed once and cached (class objects are immutable, so the cache
never goes stale and is safe to share across requests).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import types
import typing
from functools import cache
from typing import Any

import msgspec

from ferry.cluster.apiserver.selectors import go_quote

# A field's shape: ("model", cls) | ("list", shape) | ("map", shape) | ("opaque", None)
Shape = tuple[str, Any]
_OPAQUE: Shape = ("opaque", None)
_OPAQUE_MODELS = frozenset({"JSONSchemaProps"})
_MAX_ERRORS = 100  # sigs.k8s.io/json stops recording strict errors after 100


@cache
def _resource_models() -> dict[tuple[str, str, str], type]:
    """``(group, version, kind)`` -> lightkube model class, for resources and subresource bodies.

    Top-level resources are indexed first, so a subresource (``deployments/status``) never shadows
    its parent; subresource-only kinds (``autoscaling/v1`` Scale, ``policy/v1`` Eviction) are added
    after.
    """
    import lightkube.resources

    classes: list[tuple[bool, type, Any]] = []
    for info in pkgutil.iter_modules(lightkube.resources.__path__):
        module = importlib.import_module(f"lightkube.resources.{info.name}")
        for cls in vars(module).values():
            api = getattr(cls, "_api_info", None)
            if isinstance(cls, type) and api is not None:
                classes.append((getattr(api, "action", None) is not None, cls, api.resource))
    out: dict[tuple[str, str, str], type] = {}
    for _, cls, res in sorted(classes, key=lambda item: item[0]):
        model = next((b for b in cls.__mro__[1:] if b.__module__.startswith("lightkube.models.")), None)
        if model is not None:
            out.setdefault((res.group, res.version, res.kind), model)
    return out


def model_for(group: str, version: str, kind: str) -> type | None:
    """The lightkube model class of a built-in kind, or None when lightkube does not know it."""
    return _resource_models().get((group, version, kind))


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and (
        dataclasses.is_dataclass(tp) or (issubclass(tp, msgspec.Struct) and tp is not msgspec.Struct)
    )


def _shape(tp: Any) -> Shape:
    """Classify a resolved type annotation."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        real = [a for a in args if a is not type(None)]
        return _shape(real[0]) if len(real) == 1 else _OPAQUE
    if origin is list and args:
        return ("list", _shape(args[0]))
    if origin is dict and len(args) == 2:
        inner = _shape(args[1])
        return ("map", inner) if inner != _OPAQUE else _OPAQUE
    if _is_model(tp) and tp.__name__ not in _OPAQUE_MODELS:
        return ("model", tp)
    return _OPAQUE


@cache
def fields_of(cls: type) -> dict[str, Shape]:
    """JSON name -> shape for one model class."""
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return {f.metadata.get("json", f.name): _shape(hints[f.name]) for f in dataclasses.fields(cls)}
    return {f.encode_name: _shape(f.type) for f in msgspec.structs.fields(cls)}


def _walk(value: Any, shape: Shape, path: str, out: list[str]) -> None:
    kind, arg = shape
    if kind == "model" and isinstance(value, dict):
        known = fields_of(arg)
        for key, sub in value.items():
            child = f"{path}.{key}" if path else str(key)
            if key not in known:
                if child not in out and len(out) < _MAX_ERRORS:
                    out.append(child)
            elif sub is not None:
                _walk(sub, known[key], child, out)
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            if item is not None:
                _walk(item, arg, f"{path}[{i}]", out)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            if item is not None:
                _walk(item, arg, f"{path}.{key}" if path else str(key), out)


def unknown_fields(group: str, version: str, kind: str, obj: dict[str, Any]) -> list[str] | None:
    """Paths of the fields strict decoding would reject, in document order; None for unknown kinds."""
    model = model_for(group, version, kind)
    if model is None:
        return None
    found: list[str] = []
    _walk(obj, ("model", model), "", found)
    return found


def strict_decoding_error(paths: list[str]) -> str:
    """``strict decoding error: unknown field "a", unknown field "b"`` (``runtime.strictDecodingError``)."""
    return "strict decoding error: " + ", ".join(f"unknown field {go_quote(p)}" for p in paths)


def strict_decoding_message(kind: str, version: str, paths: list[str]) -> str:
    """The whole 400 message of a Strict create/update (``transformDecodeError`` wraps the error)."""
    return (
        f"{kind} in version {go_quote(version)} cannot be handled as a {kind}: {strict_decoding_error(paths)}"
    )


def unknown_field_warnings(paths: list[str]) -> list[str]:
    """One ``Warning`` header text per unknown field (``fieldValidation=Warn``)."""
    return [f"unknown field {go_quote(p)}" for p in paths]
