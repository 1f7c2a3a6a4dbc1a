"""Manifest endpoints over HTTP: exact bytes, validation, content negotiation, deletes, indexes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.registry.oci import (
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_V2,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    canonical_json,
    digest_of,
)
from ferry.registry.server import RepositoryPolicy
from tests.integration.registry_support import Registry, make_image, serving


@pytest.fixture
async def reg(tmp_path: Path) -> AsyncIterator[Registry]:
    async with serving(
        tmp_path / "data", policies={"mutable/*": RepositoryPolicy(immutable_tags=False)}
    ) as r:
        yield r


async def test_push_by_tag_and_read_back_the_exact_bytes(reg: Registry) -> None:
    image = make_image("a")
    status, headers, _ = await reg.push("shop/order-service", image, "1.0.0")
    assert status == 201
    assert headers["Docker-Content-Digest"] == image.digest
    assert headers["Location"] == f"{reg.url}/v2/shop/order-service/manifests/{image.digest}"
    for reference in ("1.0.0", image.digest):
        status, headers, body = await reg.call(
            "GET", f"/v2/shop/order-service/manifests/{reference}", headers={"Accept": OCI_MANIFEST}
        )
        assert status == 200 and body == image.manifest.raw
        assert headers["Content-Type"] == OCI_MANIFEST
        assert headers["Docker-Content-Digest"] == image.digest
    status, headers, body = await reg.call("HEAD", "/v2/shop/order-service/manifests/1.0.0")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(image.manifest.raw)))


async def test_non_canonical_bytes_are_kept_as_pushed(reg: Registry) -> None:
    image = make_image("a")
    pretty = json.dumps(json.loads(image.manifest.raw), indent=3).encode()
    await reg.push("a", image, "1.0.0")  # blobs
    status, headers, _ = await reg.call(
        "PUT", "/v2/a/manifests/1.0.1", data=pretty, headers={"Content-Type": OCI_MANIFEST}
    )
    assert status == 201 and headers["Docker-Content-Digest"] == digest_of(pretty)
    assert (await reg.call("GET", "/v2/a/manifests/1.0.1"))[2] == pretty


async def test_docker_schema2_keeps_its_content_type(reg: Registry) -> None:
    image = make_image("d")
    doc = json.loads(image.manifest.raw)
    doc["mediaType"] = DOCKER_MANIFEST_V2
    raw = canonical_json(doc)
    await reg.push("a", image, "x1")
    status, _, _ = await reg.call(
        "PUT", "/v2/a/manifests/d1", data=raw, headers={"Content-Type": DOCKER_MANIFEST_V2}
    )
    assert status == 201
    _, headers, _ = await reg.call("GET", "/v2/a/manifests/d1", headers={"Accept": DOCKER_MANIFEST_V2})
    assert headers["Content-Type"] == DOCKER_MANIFEST_V2


async def test_missing_blob_is_manifest_blob_unknown_and_nothing_is_written(reg: Registry) -> None:
    image = make_image("a")
    status, _, body = await reg.call(
        "PUT", "/v2/a/manifests/1.0.0", data=image.manifest.raw, headers={"Content-Type": OCI_MANIFEST}
    )
    error = json.loads(body)["errors"][0]
    assert (status, error["code"]) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert error["detail"]["digest"] in image.blobs
    assert (await reg.error_code("GET", "/v2/a/manifests/1.0.0"))[0] == 404


async def test_digest_reference_must_match_the_body(reg: Registry) -> None:
    image = make_image("a")
    await reg.push("a", image, "1.0.0")
    wrong = digest_of(b"other")
    status, code = await reg.error_code(
        "PUT", f"/v2/a/manifests/{wrong}", data=image.manifest.raw, headers={"Content-Type": OCI_MANIFEST}
    )
    assert (status, code) == (400, "DIGEST_INVALID")
    status, _, _ = await reg.call(
        "PUT",
        f"/v2/a/manifests/{image.digest}",
        data=image.manifest.raw,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert status == 201


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", OCI_MANIFEST),
        (b'{"schemaVersion": 1}', OCI_MANIFEST),
        (b'{"schemaVersion": 2, "mediaType": "application/x-nope"}', "application/x-nope"),
    ],
)
async def test_invalid_manifests(reg: Registry, body: bytes, content_type: str) -> None:
    status, code = await reg.error_code(
        "PUT", "/v2/a/manifests/1.0.0", data=body, headers={"Content-Type": content_type}
    )
    assert (status, code) == (400, "MANIFEST_INVALID")


async def test_invalid_tag_and_name(reg: Registry) -> None:
    image = make_image("a")
    assert (await reg.push("a", image, ".bad"))[0] == 400
    assert (await reg.error_code("GET", "/v2/UPPER/manifests/1")) == (400, "NAME_INVALID")


async def test_unknown_repository_and_manifest(reg: Registry) -> None:
    assert (await reg.error_code("GET", "/v2/nope/manifests/1.0.0")) == (404, "NAME_UNKNOWN")
    await reg.push("a", make_image("a"), "1.0.0")
    assert (await reg.error_code("GET", "/v2/a/manifests/2.0.0")) == (404, "MANIFEST_UNKNOWN")
    assert (await reg.error_code("GET", f"/v2/a/manifests/{digest_of(b'x')}")) == (404, "MANIFEST_UNKNOWN")


async def test_oci_manifest_is_not_served_to_a_client_that_does_not_accept_it(reg: Registry) -> None:
    await reg.push("a", make_image("a"), "1.0.0")
    status, code = await reg.error_code(
        "GET", "/v2/a/manifests/1.0.0", headers={"Accept": DOCKER_MANIFEST_V2}
    )
    assert (status, code) == (404, "MANIFEST_UNKNOWN")
    status, _, _ = await reg.call("GET", "/v2/a/manifests/1.0.0", headers={"Accept": "*/*"})
    assert status == 200


async def _index(reg: Registry, repo: str, media_type: str) -> tuple[Manifest, Manifest]:
    child = make_image("child")
    await reg.push(repo, child, child.digest)
    index_raw = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [
                child.manifest.descriptor(platform={"os": "linux", "architecture": "amd64"}).to_json()
            ],
        }
    )
    return Manifest.parse(index_raw), child.manifest


async def test_index_needs_its_children_and_is_served_as_an_index(reg: Registry) -> None:
    index, _ = await _index(reg, "a", OCI_INDEX)
    status, code = await reg.error_code(
        "PUT", "/v2/b/manifests/1.0.0", data=index.raw, headers={"Content-Type": OCI_INDEX}
    )
    assert (status, code) == (400, "MANIFEST_BLOB_UNKNOWN")  # the child is in repository a, not b
    status, _, _ = await reg.call(
        "PUT", "/v2/a/manifests/1.0.0", data=index.raw, headers={"Content-Type": OCI_INDEX}
    )
    assert status == 201
    _, headers, body = await reg.call(
        "GET", "/v2/a/manifests/1.0.0", headers={"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"}
    )
    assert headers["Content-Type"] == OCI_INDEX and body == index.raw
    assert (await reg.error_code("GET", "/v2/a/manifests/1.0.0", headers={"Accept": OCI_MANIFEST}))[0] == 404


async def test_docker_list_falls_back_to_the_linux_amd64_image(reg: Registry) -> None:
    index, child = await _index(reg, "a", DOCKER_MANIFEST_LIST)
    await reg.call(
        "PUT", "/v2/a/manifests/1.0.0", data=index.raw, headers={"Content-Type": DOCKER_MANIFEST_LIST}
    )
    _, headers, body = await reg.call("GET", "/v2/a/manifests/1.0.0", headers={"Accept": OCI_MANIFEST})
    assert body == child.raw and headers["Docker-Content-Digest"] == child.digest


async def test_delete_untagged_manifest_by_digest(reg: Registry) -> None:
    image = make_image("a")
    await reg.push("a", image, image.digest)
    assert (await reg.call("DELETE", f"/v2/a/manifests/{image.digest}"))[0] == 202
    assert (await reg.error_code("GET", f"/v2/a/manifests/{image.digest}")) == (404, "MANIFEST_UNKNOWN")


async def test_deleting_an_immutable_tag_is_denied(reg: Registry) -> None:
    image = make_image("a")
    await reg.push("a", image, "1.0.0")
    assert (await reg.error_code("DELETE", "/v2/a/manifests/1.0.0")) == (403, "DENIED")
    assert (await reg.error_code("DELETE", f"/v2/a/manifests/{image.digest}")) == (403, "DENIED")
    assert (await reg.call("GET", "/v2/a/manifests/1.0.0"))[0] == 200


async def test_delete_by_tag_and_by_digest_with_mutable_tags(reg: Registry) -> None:
    image = make_image("a")
    await reg.push("mutable/a", image, "1.0.0")
    await reg.push("mutable/a", image, "1.0.1")
    assert (await reg.call("DELETE", "/v2/mutable/a/manifests/1.0.0"))[0] == 202
    assert (await reg.call("GET", "/v2/mutable/a/manifests/1.0.0"))[0] == 404
    assert (await reg.call("GET", f"/v2/mutable/a/manifests/{image.digest}"))[0] == 200
    assert (await reg.call("DELETE", f"/v2/mutable/a/manifests/{image.digest}"))[0] == 202
    assert json.loads((await reg.call("GET", "/v2/mutable/a/tags/list"))[2])["tags"] == []


async def test_subject_header_on_push(reg: Registry) -> None:
    image = make_image("a")
    await reg.push("a", image, "1.0.0")
    sbom = make_image("sbom", subject=image.manifest, artifact_type="application/vnd.cyclonedx+json")
    status, headers, _ = await reg.push("a", sbom, sbom.digest)
    assert status == 201 and headers["OCI-Subject"] == image.digest
