"""Distribution error bodies become one readable line, and the right exception class."""

from __future__ import annotations

import json

import pytest

from ferry.registry._errors import error_from_response
from ferry.registry._transport import registry_base
from ferry.registry.client import (
    DigestMismatch,
    NotFound,
    RegistryError,
    RegistryUnavailable,
    TagRefused,
    Unauthorized,
)


def body(*errors: tuple[str, str]) -> bytes:
    return json.dumps({"errors": [{"code": c, "message": m, "detail": {}} for c, m in errors]}).encode()


def test_tag_invalid_is_tag_refused_with_the_registry_message() -> None:
    message = "tag demo-api:1.0.0 is immutable: it points to sha256:ab and cannot be moved to sha256:cd"
    error = error_from_response(
        "127.0.0.1:5000",
        "PUT",
        "/v2/demo-api/manifests/1.0.0",
        400,
        body(("TAG_INVALID", message)),
        tag_push=True,
    )
    assert isinstance(error, TagRefused)
    assert str(error) == f"registry 127.0.0.1:5000: TAG_INVALID: {message} (PUT /v2/demo-api/manifests/1.0.0)"
    assert (error.status, error.code) == (400, "TAG_INVALID")


def test_denied_on_a_tag_push_is_tag_refused_but_elsewhere_unauthorized() -> None:
    denied = body(("DENIED", "requested access to the resource is denied"))
    assert isinstance(
        error_from_response("r", "PUT", "/v2/a/manifests/1", 403, denied, tag_push=True), TagRefused
    )
    assert isinstance(error_from_response("r", "GET", "/v2/a/manifests/1", 403, denied), Unauthorized)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "MANIFEST_UNKNOWN", NotFound),
        (404, "BLOB_UNKNOWN", NotFound),
        (404, "NAME_UNKNOWN", NotFound),
        (400, "DIGEST_INVALID", DigestMismatch),
        (401, "UNAUTHORIZED", Unauthorized),
        (503, "UNAVAILABLE", RegistryUnavailable),
        (400, "MANIFEST_INVALID", RegistryError),
    ],
)
def test_codes_map_to_classes(status: int, code: str, cls: type[RegistryError]) -> None:
    error = error_from_response("r", "GET", "/v2/a/x", status, body((code, "m")))
    assert type(error) is cls


def test_several_errors_are_joined_and_the_query_string_is_left_out() -> None:
    error = error_from_response(
        "reg:5000",
        "PUT",
        "/v2/a/blobs/uploads/u1?_state=very-long-token&digest=sha256:00",
        400,
        body(("DIGEST_INVALID", "provided digest did not match"), ("SIZE_INVALID", "size mismatch")),
    )
    assert str(error) == (
        "registry reg:5000: DIGEST_INVALID: provided digest did not match; SIZE_INVALID: size mismatch "
        "(PUT /v2/a/blobs/uploads/u1)"
    )


def test_a_body_that_is_not_a_distribution_error_is_quoted_short() -> None:
    error = error_from_response("reg", "GET", "/v2/a/referrers/x", 404, b"404 page not found\n")
    assert str(error) == "registry reg: HTTP 404 Not Found: 404 page not found (GET /v2/a/referrers/x)"
    html = b"<html>" + b"x" * 5000 + b"</html>"
    long = str(error_from_response("reg", "GET", "/v2/", 502, html))
    assert (
        len(long) < 250
        and "\n" not in long
        and isinstance(error_from_response("reg", "GET", "/", 502, html), RegistryUnavailable)
    )


@pytest.mark.parametrize(
    ("given", "insecure", "base"),
    [
        ("127.0.0.1:5000", None, "http://127.0.0.1:5000"),
        ("localhost:5000", None, "http://localhost:5000"),
        ("[::1]:5000", None, "http://[::1]:5000"),
        ("ghcr.io", None, "https://ghcr.io"),
        ("registry.example:5000", True, "http://registry.example:5000"),
        ("http://10.0.0.5:5000", None, "http://10.0.0.5:5000"),
        ("https://127.0.0.1:5000/", None, "https://127.0.0.1:5000"),
        ("docker.io", None, "https://registry-1.docker.io"),
    ],
)
def test_registry_addresses(given: str, insecure: bool | None, base: str) -> None:
    assert registry_base(given, insecure)[0] == base


def test_a_registry_address_with_a_path_is_refused() -> None:
    with pytest.raises(RegistryError, match="must be host"):
        registry_base("127.0.0.1:5000/demo", None)
