"""The apply engine's exceptions: one tree, each printable as one line that names the cause.

::

    ApplyError                      anything the apply engine refuses or cannot do
    ├── ManifestError               a rendered object is malformed (no kind, no name, a namespace on a cluster kind)
    ├── UnknownKindError            no resource type serves ``apiVersion``/``kind`` (is the CRD installed?)
    ├── ClusterUnreachableError     no HTTP answer at all: connection refused, TLS, DNS, timeout
    ├── ApiRejectedError            the API server answered with a ``Status`` failure
    │   ├── InvalidObjectError      422 Invalid: the object and every ``details.causes`` field
    │   ├── ForbiddenError          403: the credentials may not do this verb on this resource
    │   └── ConflictError           409: a concurrent writer won (a retry re-reads and re-decides)
    └── TimeoutError_               a wait (CRD Established) did not finish in time

``str(error)`` is the one line the CLI prints; ``error.ref`` (when set) is the object concerned, so a caller
can show it in a table. The messages keep the API server's wording (kube words causes as "must ..."), and
put the object first — ``Deployment demo/web: spec.replicas: Invalid value: -1: must be ...`` — because a
set of fifty objects is useless to debug from a bare field path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ferry.delivery.apply.objects import ObjectRef

__all__ = [
    "ApiRejectedError",
    "ApplyError",
    "Cause",
    "ClusterUnreachableError",
    "ConflictError",
    "ForbiddenError",
    "InvalidObjectError",
    "ManifestError",
    "TimeoutError_",
    "UnknownKindError",
    "rejected",
]


class ApplyError(Exception):
    """Base of the tree; ``ref`` is the object the error is about, when there is one."""

    def __init__(self, message: str, *, ref: ObjectRef | None = None) -> None:
        super().__init__(message)
        self.ref = ref


class ManifestError(ApplyError):
    """A rendered object cannot be applied as it stands (checked locally, before any request)."""


class UnknownKindError(ApplyError):
    """Discovery lists no resource for the object's ``apiVersion`` and ``kind``."""


class ClusterUnreachableError(ApplyError):
    """The cluster did not answer: nothing was applied by the request that failed."""


class TimeoutError_(ApplyError):
    """A wait did not finish within its timeout (the trailing underscore: the builtin name is taken)."""


@dataclass(frozen=True)
class Cause:
    """One entry of a 422's ``details.causes``: ``field`` is the path kube names, ``message`` its complaint."""

    field: str
    message: str
    reason: str = ""


class ApiRejectedError(ApplyError):
    """The API server refused: ``code`` is the HTTP status, ``reason`` the Status reason (``Invalid``...)."""

    def __init__(self, message: str, *, code: int, reason: str, ref: ObjectRef | None = None) -> None:
        super().__init__(message, ref=ref)
        self.code = code
        self.reason = reason


class InvalidObjectError(ApiRejectedError):
    """422: ``causes`` lists the offending fields."""

    def __init__(
        self, message: str, *, causes: Sequence[Cause], reason: str, ref: ObjectRef | None = None
    ) -> None:
        super().__init__(message, code=422, reason=reason, ref=ref)
        self.causes = list(causes)


class ForbiddenError(ApiRejectedError):
    """403: RBAC (or admission) said no."""


class ConflictError(ApiRejectedError):
    """409: an optimistic-concurrency or apply conflict."""


def _causes(status: Mapping[str, Any]) -> list[Cause]:
    details = status.get("details") or {}
    return [
        Cause(
            field=str(c.get("field") or ""),
            message=str(c.get("message") or ""),
            reason=str(c.get("reason") or ""),
        )
        for c in details.get("causes") or []
    ]


def rejected(status: Mapping[str, Any], *, ref: ObjectRef | None, verb: str) -> ApiRejectedError:
    """Turn a decoded Kubernetes ``Status`` into the right subclass, worded as one line.

    ``verb`` says what was attempted ("apply", "dry-run apply", "delete"...), so "forbidden" says to do what.
    """
    code = int(status.get("code") or 0)
    reason = str(status.get("reason") or "")
    message = " ".join(str(status.get("message") or reason or f"HTTP {code}").split())
    where = f"{ref}: " if ref is not None else ""
    if code == 422:
        causes = _causes(status)
        if causes:
            detail = "; ".join(f"{c.field}: {c.message}" if c.field else c.message for c in causes)
        else:
            detail = message
        return InvalidObjectError(f"{where}invalid ({verb}): {detail}", causes=causes, reason=reason, ref=ref)
    if code == 403:
        return ForbiddenError(f"{where}forbidden ({verb}): {message}", code=code, reason=reason, ref=ref)
    if code == 409:
        return ConflictError(f"{where}conflict ({verb}): {message}", code=code, reason=reason, ref=ref)
    return ApiRejectedError(
        f"{where}{verb} failed ({code} {reason}): {message}", code=code, reason=reason, ref=ref
    )
