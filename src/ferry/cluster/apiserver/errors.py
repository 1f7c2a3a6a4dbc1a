"""Kubernetes ``Status`` errors raised anywhere in the API server.

Every failure that reaches a client is an :class:`ApiError`, rendered as a ``meta/v1 Status``
exactly as kube-apiserver renders it (``reason``, ``code``, ``details``), because kubectl and
client-go print and branch on those fields verbatim (``Error from server (NotFound): ...``).

Exception tree::

    ApiError (code, reason, message, details)
     ├── the constructors below build the common ones: not_found, already_exists, conflict,
     │   invalid (422 with details.causes), bad_request, expired (410), ...
     └── nothing subclasses it: a Status is data, so one class carries every kind of failure.

Field errors (``FieldError``) are the validation layer's vocabulary; :func:`invalid` turns a list
of them into the 422 ``Invalid`` Status with one cause per error, worded like apimachinery's
``field.Error.Error()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


def _quote(value: Any) -> str:
    """Render a bad value the way apimachinery's field errors do (``%#v``-like)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class FieldError:
    """One validation failure at a field path (``spec.template.spec.containers[0].image``).

    ``type`` is the apimachinery cause type, e.g. ``FieldValueRequired``; ``detail`` is the
    free text after the summary ("must be no more than 63 characters").
    """

    type: str
    field: str
    detail: str = ""
    value: Any = None
    has_value: bool = False

    def summary(self) -> str:
        """The cause message without the field path (``Invalid value: "x": must ...``)."""
        t = self.type
        if t == "FieldValueRequired":
            base = "Required value"
        elif t == "FieldValueInvalid":
            base = f"Invalid value: {_quote(self.value)}"
        elif t == "FieldValueNotSupported":
            base = f"Unsupported value: {_quote(self.value)}"
        elif t == "FieldValueForbidden":
            base = "Forbidden"
        elif t == "FieldValueDuplicate":
            base = f"Duplicate value: {_quote(self.value)}"
        elif t == "FieldValueNotFound":
            base = f"Not found: {_quote(self.value)}"
        elif t == "FieldValueTooLong":
            base = "Too long"
        elif t == "FieldValueTooMany":
            base = f"Too many: {self.value}" if self.has_value else "Too many"
        elif t == "FieldValueTypeInvalid":
            base = f"Invalid value: {_quote(self.value)}"
        else:
            base = "Internal error"
        return f"{base}: {self.detail}" if self.detail else base

    def error(self) -> str:
        """The full message, ``<field>: <summary>``, as ``field.Error.Error()`` prints it."""
        return f"{self.field}: {self.summary()}" if self.field else self.summary()

    def cause(self) -> dict[str, str]:
        return {"reason": self.type, "message": self.summary(), "field": self.field}


# Constructors mirroring k8s.io/apimachinery/pkg/util/validation/field.
def required(path: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", path, detail)


def invalid_value(path: str, value: Any, detail: str = "") -> FieldError:
    return FieldError("FieldValueInvalid", path, detail, value, True)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(s) for s in supported) if supported else ""
    return FieldError("FieldValueNotSupported", path, detail, value, True)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError("FieldValueForbidden", path, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError("FieldValueDuplicate", path, "", value, True)


def too_long(path: str, max_length: int) -> FieldError:
    return FieldError("FieldValueTooLong", path, f"may not be more than {max_length} bytes")


def too_many(path: str, actual: int, max_items: int) -> FieldError:
    """v1.32 prints the actual count: ``Too many: 3: must have at most 2 items``."""
    return FieldError("FieldValueTooMany", path, f"must have at most {max_items} items", actual, True)


def type_invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError("FieldValueTypeInvalid", path, detail, value, True)


@dataclass
class ApiError(Exception):
    """A failure answered to the client as a ``Status`` with HTTP status ``code``."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def qualified(resource: str, group: str) -> str:
    """``deployments.apps`` for a grouped resource, bare ``configmaps`` for the core group."""
    return f"{resource}.{group}" if group else resource


def _details(name: str | None, group: str, resource: str) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    return d


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{qualified(resource, group)} "{name}" not found', _details(name, group, resource)
    )


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        _details(name, group, resource),
    )


def conflict(resource: str, group: str, name: str, why: str | None = None) -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        _details(name, group, resource),
    )


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    """422 ``Invalid``: ``Deployment.apps "x" is invalid: <errors>``."""
    qualified_kind = f"{kind}.{group}" if group else kind
    agg = errors[0].error() if len(errors) == 1 else "[" + ", ".join(e.error() for e in errors) + "]"
    details = _details(name, group, kind)
    details["causes"] = [e.cause() for e in errors]
    return ApiError(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {agg}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden_error(message: str) -> ApiError:
    return ApiError(403, "Forbidden", message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def not_acceptable(message: str) -> ApiError:
    return ApiError(406, "NotAcceptable", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got "{content_type}")',
    )


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_large(message: str = "Request entity too large: limit is 3145728") -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", message)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")


def timeout(message: str) -> ApiError:
    return ApiError(504, "Timeout", message)
