"""Tags list and catalog with pagination, and the referrers API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ferry.registry.oci import OCI_INDEX, digest_of
from tests.integration.registry_support import Registry, make_image, serving


@pytest.fixture
async def reg(tmp_path: Path) -> AsyncIterator[Registry]:
    async with serving(tmp_path / "data") as r:
        yield r


async def _follow(reg: Registry, path: str, key: str) -> tuple[list[str], int]:
    """All entries by following Link headers; and the number of pages."""
    out: list[str] = []
    pages = 0
    next_path: str | None = path
    while next_path:
        status, headers, body = await reg.call("GET", next_path)
        assert status == 200
        out += json.loads(body)[key]
        pages += 1
        link = headers.get("Link")
        next_path = link.split(";")[0].strip("<>") if link else None
        assert link is None or link.endswith('rel="next"')
    return out, pages


async def test_tags_pagination(reg: Registry) -> None:
    image = make_image("a")
    tags = [f"1.0.{i}" for i in range(7)]
    for tag in tags:
        await reg.push("shop/api", image, tag)
    everything, pages = await _follow(reg, "/v2/shop/api/tags/list?n=3", "tags")
    assert everything == sorted(tags) and pages == 3
    _, headers, body = await reg.call("GET", "/v2/shop/api/tags/list", params={"n": "3", "last": "1.0.2"})
    assert json.loads(body) == {"name": "shop/api", "tags": ["1.0.3", "1.0.4", "1.0.5"]}
    assert headers["Link"] == '</v2/shop/api/tags/list?n=3&last=1.0.5>; rel="next"'
    _, _, body = await reg.call("GET", "/v2/shop/api/tags/list")
    assert json.loads(body)["tags"] == sorted(tags)


async def test_tags_of_an_unknown_repository(reg: Registry) -> None:
    assert (await reg.error_code("GET", "/v2/nope/tags/list")) == (404, "NAME_UNKNOWN")


async def test_catalog_pagination_with_nested_names(reg: Registry) -> None:
    image = make_image("a")
    repos = ["shop", "shop/order-service", "shop/web", "z/y/x", "alpha"]
    for repo in repos:
        await reg.push(repo, image, "1.0.0")
    everything, pages = await _follow(reg, "/v2/_catalog?n=2", "repositories")
    assert everything == sorted(repos) and pages == 3


async def test_referrers_with_artifact_type_filter(reg: Registry) -> None:
    image = make_image("app")
    await reg.push("shop/api", image, "1.0.0")
    sbom = make_image("sbom", subject=image.manifest, artifact_type="application/vnd.cyclonedx+json")
    sig = make_image("sig", subject=image.manifest, artifact_type="application/vnd.dev.sigstore+json")
    for referrer in (sbom, sig):
        await reg.push("shop/api", referrer, referrer.digest)
    status, headers, body = await reg.call("GET", f"/v2/shop/api/referrers/{image.digest}")
    assert status == 200 and headers["Content-Type"] == OCI_INDEX
    index = json.loads(body)
    assert index["mediaType"] == OCI_INDEX
    assert {(d["digest"], d["artifactType"]) for d in index["manifests"]} == {
        (sbom.digest, "application/vnd.cyclonedx+json"),
        (sig.digest, "application/vnd.dev.sigstore+json"),
    }
    assert all(d["size"] == len(sbom.manifest.raw) for d in index["manifests"] if d["digest"] == sbom.digest)
    status, headers, body = await reg.call(
        "GET",
        f"/v2/shop/api/referrers/{image.digest}",
        params={"artifactType": "application/vnd.cyclonedx+json"},
    )
    assert headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in json.loads(body)["manifests"]] == [sbom.digest]


async def test_referrers_of_nothing_is_an_empty_index(reg: Registry) -> None:
    status, _, body = await reg.call("GET", f"/v2/shop/api/referrers/{digest_of(b'x')}")
    assert status == 200 and json.loads(body)["manifests"] == []
    assert (await reg.error_code("GET", "/v2/shop/api/referrers/sha256:zz")) == (400, "DIGEST_INVALID")


async def test_deleted_referrer_disappears(reg: Registry) -> None:
    image = make_image("app")
    await reg.push("shop/api", image, "1.0.0")
    sbom = make_image("sbom", subject=image.manifest, artifact_type="application/vnd.cyclonedx+json")
    await reg.push("shop/api", sbom, sbom.digest)
    assert (await reg.call("DELETE", f"/v2/shop/api/manifests/{sbom.digest}"))[0] == 202
    _, _, body = await reg.call("GET", f"/v2/shop/api/referrers/{image.digest}")
    assert json.loads(body)["manifests"] == []
