"""The registry client's errors, and how a distribution error response becomes one of them.

Every failure the client raises is a `RegistryError`, and its `str()` is one line a person can act on: which
registry, what the registry said (its error code and message, exactly), and which request it was answering::

    registry 127.0.0.1:5000: TAG_INVALID: tag demo-api:1.0.0 is immutable: ... (PUT /v2/demo-api/manifests/1.0.0)

The tree::

    OciError                      (ferry.registry.oci: bad digests and references)
     └── RegistryError            .status (HTTP status or None), .code (distribution error code or None)
          ├── RegistryUnavailable connection refused, timeouts, 502/503/504 — after the retries ran out
          ├── Unauthorized        401, a refused token request, DENIED (except on a tag push)
          ├── NotFound            404, MANIFEST_UNKNOWN / BLOB_UNKNOWN / NAME_UNKNOWN / BLOB_UPLOAD_UNKNOWN
          ├── TagRefused          TAG_INVALID, or DENIED / 412 answering a push to a tag (immutable tags)
          └── DigestMismatch      bytes that do not hash to the digest they were pulled or pushed under

The distribution spec's error body is `{"errors": [{"code", "message", "detail"}]}`; several errors are joined
with `; `. A body that is not that (a proxy's HTML page, Go's `404 page not found`) is quoted, cut to one short
line, so that the message still says what came back. Query strings are left out of the request shown: upload
URLs carry long opaque state tokens that say nothing to a reader.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from ferry.registry.oci import OciError

__all__ = [
    "DigestMismatch",
    "NotFound",
    "RegistryError",
    "RegistryUnavailable",
    "TagRefused",
    "Unauthorized",
    "error_from_response",
]

_NOT_FOUND_CODES = frozenset({"MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN", "BLOB_UPLOAD_UNKNOWN"})
_UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
_SNIPPET_CHARS = 160


class RegistryError(OciError):
    """A registry refused or failed a request. `str()` is one readable line."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RegistryUnavailable(RegistryError):
    """The registry could not be reached or kept failing (connection refused, timeouts, 502/503/504)."""


class Unauthorized(RegistryError):
    """Credentials missing or refused, or a token could not be obtained."""


class NotFound(RegistryError):
    """The repository, manifest, blob or upload does not exist."""


class TagRefused(RegistryError):
    """The registry refused to point a tag at a manifest (immutable tags, `latest` refused)."""


class DigestMismatch(RegistryError):
    """Content does not hash to the digest it was pulled or pushed under."""


def _errors_in(body: bytes) -> list[dict[str, Any]]:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, dict) and isinstance(e.get("code"), str)]


def _snippet(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def describe_request(method: str, path: str) -> str:
    """`(PUT /v2/demo/manifests/1.0.0)`: the request as shown in messages, without its query string."""
    return f"({method} {path.split('?', 1)[0]})"


def error_from_response(
    registry: str, method: str, path: str, status: int, body: bytes, *, tag_push: bool = False
) -> RegistryError:
    """The exception for an unexpected response. `tag_push`: the request was a manifest PUT to a tag."""
    errors = _errors_in(body)
    if errors:
        parts = []
        for e in errors:
            message = e.get("message")
            parts.append(f"{e['code']}: {message}" if isinstance(message, str) and message else e["code"])
        text = "; ".join(parts)
        code: str | None = errors[0]["code"]
    else:
        snippet = _snippet(body)
        text = f"HTTP {status} {_reason(status)}".rstrip() + (f": {snippet}" if snippet else "")
        code = None
    message = f"registry {registry}: {text} {describe_request(method, path)}"
    codes = {e["code"] for e in errors}
    cls: type[RegistryError]
    if "TAG_INVALID" in codes or (tag_push and ("DENIED" in codes or status == 412)):
        cls = TagRefused
    elif "DIGEST_INVALID" in codes:
        cls = DigestMismatch
    elif status == 401 or codes & {"UNAUTHORIZED", "DENIED"}:
        cls = Unauthorized
    elif status == 404 or codes & _NOT_FOUND_CODES:
        cls = NotFound
    elif status in _UNAVAILABLE_STATUSES:
        cls = RegistryUnavailable
    else:
        cls = RegistryError
    return cls(message, status=status, code=code)
