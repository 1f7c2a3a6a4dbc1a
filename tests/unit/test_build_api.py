"""The public face of `ferry.build` is the contract other parts (ferry ci, bench) code against."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import ferry.build
from ferry.build import BuildRequest, BuiltImage


def test_public_names() -> None:
    assert sorted(ferry.build.__all__) == [
        "BlobSource", "BuildError", "BuildRequest", "BuiltImage", "build_image", "write_oci_layout",
    ]  # fmt: skip
    for name in ferry.build.__all__:
        assert getattr(ferry.build, name) is not None


def test_build_request_fields_and_defaults() -> None:
    request = BuildRequest(context=Path("."), version="1", revision="a" * 40, created="2026-01-01T00:00:00Z")
    assert (request.source, request.dockerfile, request.cache_dir, request.registry_client_factory) == (
        None,
    ) * 4
    assert dict(request.build_args) == {} and dict(request.labels) == {}
    with_fields = {f.name for f in dataclasses.fields(BuildRequest)}
    assert {"context", "version", "revision", "created", "source", "dockerfile", "build_args", "labels",
            "cache_dir", "registry_client_factory"} <= with_fields  # fmt: skip


def test_built_image_fields() -> None:
    assert [f.name for f in dataclasses.fields(BuiltImage)] == [
        "manifest", "config", "blobs", "sbom", "warnings", "base",
    ]  # fmt: skip
