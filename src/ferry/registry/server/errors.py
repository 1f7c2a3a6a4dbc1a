"""Distribution-spec errors: one exception type, rendered as the spec's JSON error body.

Every handler signals a client-visible failure by raising `RegistryHttpError(status, code, message)`; the
error middleware in `app` turns it into

    {"errors": [{"code": "BLOB_UNKNOWN", "message": "...", "detail": {...}}]}

with the status the spec gives that code (HEAD responses carry no body). The helpers below name the codes
the spec (and Distribution) use, so the handlers read as the spec does. Anything else that escapes a handler
is a bug and becomes a 500 with code UNKNOWN, logged with its traceback.

    Exception
     └── RegistryHttpError   status, code, message, detail, extra headers
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

__all__ = [
    "RegistryHttpError",
    "blob_unknown",
    "blob_upload_invalid",
    "blob_upload_unknown",
    "denied",
    "digest_invalid",
    "error_response",
    "manifest_blob_unknown",
    "manifest_invalid",
    "manifest_unknown",
    "name_invalid",
    "name_unknown",
    "range_invalid",
    "tag_invalid",
    "unauthorized",
    "unsupported",
]


class RegistryHttpError(Exception):
    """A failure the client is told about: HTTP status, spec error code, one readable message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            entry["detail"] = self.detail
        return {"errors": [entry]}


def error_response(err: RegistryHttpError, *, head: bool = False) -> web.Response:
    """The spec error body (none for HEAD, whose response must not have one)."""
    headers = {"Docker-Distribution-API-Version": "registry/2.0", **err.headers}
    if head:
        return web.Response(status=err.status, headers=headers)
    return web.Response(
        status=err.status,
        body=json.dumps(err.body()).encode(),
        content_type="application/json",
        headers=headers,
    )


def blob_unknown(digest: str, name: str) -> RegistryHttpError:
    return RegistryHttpError(404, "BLOB_UNKNOWN", f"blob {digest} is unknown to repository {name}")


def blob_upload_unknown(uuid: str) -> RegistryHttpError:
    return RegistryHttpError(
        404, "BLOB_UPLOAD_UNKNOWN", f"upload {uuid} is unknown (finished, cancelled or expired)"
    )


def blob_upload_invalid(message: str) -> RegistryHttpError:
    return RegistryHttpError(400, "BLOB_UPLOAD_INVALID", message)


def range_invalid(message: str, *, size: int) -> RegistryHttpError:
    # Distribution answers an out-of-order chunk with 416 and the Range the upload has so far.
    return RegistryHttpError(416, "BLOB_UPLOAD_INVALID", message, headers={"Range": f"0-{max(size - 1, 0)}"})


def digest_invalid(message: str) -> RegistryHttpError:
    return RegistryHttpError(400, "DIGEST_INVALID", message)


def manifest_invalid(message: str) -> RegistryHttpError:
    return RegistryHttpError(400, "MANIFEST_INVALID", message)


def manifest_blob_unknown(digest: str, name: str) -> RegistryHttpError:
    return RegistryHttpError(
        400,
        "MANIFEST_BLOB_UNKNOWN",
        f"manifest references {digest}, which is unknown to repository {name}: push it first",
        detail={"digest": digest},
    )


def manifest_unknown(reference: str, name: str, why: str = "") -> RegistryHttpError:
    message = f"manifest {reference} is unknown to repository {name}"
    return RegistryHttpError(404, "MANIFEST_UNKNOWN", message + (f": {why}" if why else ""))


def name_invalid(name: str) -> RegistryHttpError:
    return RegistryHttpError(
        400,
        "NAME_INVALID",
        f"invalid repository name {name!r}: must be lowercase path components [a-z0-9] separated by . _ __ - or /",
    )


def name_unknown(name: str) -> RegistryHttpError:
    return RegistryHttpError(404, "NAME_UNKNOWN", f"repository {name} is not known to this registry")


def tag_invalid(message: str) -> RegistryHttpError:
    return RegistryHttpError(400, "TAG_INVALID", message)


def unauthorized(message: str, challenge: str) -> RegistryHttpError:
    return RegistryHttpError(401, "UNAUTHORIZED", message, headers={"WWW-Authenticate": challenge})


def denied(message: str) -> RegistryHttpError:
    return RegistryHttpError(403, "DENIED", message)


def unsupported(message: str) -> RegistryHttpError:
    return RegistryHttpError(405, "UNSUPPORTED", message)
