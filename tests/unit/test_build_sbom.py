"""The SBOM: CycloneDX 1.5 components from what was installed, deterministic, attached as a referrer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ferry.build import build_image
from ferry.build.sbom import (
    Component,
    components_from_package_lock,
    cyclonedx,
    metadata_component,
    sbom_artifact,
)
from ferry.registry.oci import ARTIFACT_SBOM_CYCLONEDX, EMPTY_CONFIG, EMPTY_JSON, Manifest, digest_of

from .build_support import make_wheel, request, write_tree

DIGEST = "sha256:" + "ab" * 32


def test_package_lock_lists_production_packages_with_npm_purls() -> None:
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "web", "version": "1.0.0"},
            "node_modules/express": {"version": "4.19.2"},
            "node_modules/@types/node": {"version": "20.1.0", "dev": True},
            "node_modules/@scope/lib": {"version": "1.0.0"},
            "node_modules/express/node_modules/qs": {"version": "6.11.0"},
            "node_modules/greet": {"resolved": "vendor/greet", "link": True},
            "vendor/greet": {"version": "0.1.0"},
        },
    }
    assert [c.purl for c in components_from_package_lock(lock)] == [
        "pkg:npm/%40scope/lib@1.0.0",
        "pkg:npm/express@4.19.2",
        "pkg:npm/greet@0.1.0",
        "pkg:npm/qs@6.11.0",
    ]


def test_package_lock_v1_dependencies() -> None:
    lock = {
        "lockfileVersion": 1,
        "dependencies": {"a": {"version": "1.0.0"}, "b": {"version": "2.0.0", "dev": True}},
    }
    assert [c.purl for c in components_from_package_lock(lock)] == ["pkg:npm/a@1.0.0"]


def test_dist_info_metadata_gives_a_normalised_pypi_purl() -> None:
    comp = metadata_component("Metadata-Version: 2.1\nName: Flask_Login\nVersion: 0.6.3\n\nbody\n")
    assert comp == Component("pkg:pypi/flask-login@0.6.3", "Flask_Login", "0.6.3")
    assert metadata_component("Metadata-Version: 2.1\nName: x\n") is None


def test_document_is_cyclonedx_1_5_and_deterministic() -> None:
    comps = [Component("pkg:pypi/b@2", "b", "2"), Component("pkg:pypi/a@1", "a", "1")]
    doc_bytes = cyclonedx(
        comps, image_digest=DIGEST, name="api", version="1.0", created="2026-01-31T12:00:00Z"
    )
    assert doc_bytes == cyclonedx(
        list(reversed(comps)), image_digest=DIGEST, name="api", version="1.0", created="2026-01-31T12:00:00Z"
    )
    doc = json.loads(doc_bytes)
    assert (doc["bomFormat"], doc["specVersion"], doc["version"]) == ("CycloneDX", "1.5", 1)
    assert doc["serialNumber"] == "urn:uuid:abababab-abab-4bab-abab-abababababab"
    assert doc["metadata"]["timestamp"] == "2026-01-31T12:00:00Z"
    assert doc["metadata"]["component"]["bom-ref"] == DIGEST
    assert [(c["name"], c["version"], c["purl"], c["type"]) for c in doc["components"]] == [
        ("a", "1", "pkg:pypi/a@1", "library"),
        ("b", "2", "pkg:pypi/b@2", "library"),
    ]


def test_artifact_manifest_shape() -> None:
    subject = Manifest.parse(b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
                             b'"config":{"mediaType":"x","digest":"' + DIGEST.encode() + b'","size":1},"layers":[]}')  # fmt: skip
    manifest, blobs = sbom_artifact(b'{"bomFormat":"CycloneDX"}', subject, created="2026-01-31T12:00:00Z")
    doc = json.loads(manifest.raw)
    assert doc["artifactType"] == ARTIFACT_SBOM_CYCLONEDX
    assert doc["config"] == {"mediaType": EMPTY_CONFIG, "digest": digest_of(EMPTY_JSON), "size": 2}
    assert [layer["mediaType"] for layer in doc["layers"]] == [ARTIFACT_SBOM_CYCLONEDX]
    assert doc["subject"] == {
        "mediaType": subject.media_type,
        "digest": subject.digest,
        "size": len(subject.raw),
    }
    assert blobs == {
        digest_of(EMPTY_JSON): EMPTY_JSON,
        doc["layers"][0]["digest"]: b'{"bomFormat":"CycloneDX"}',
    }


async def test_a_python_build_lists_what_pip_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = make_wheel(tmp_path / "wheels", name="tinypkg").parent
    make_wheel(wheels, name="otherpkg", version="3.1")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    ctx = write_tree(tmp_path / "svc", {"requirements.txt": "tinypkg\notherpkg\n", "app.py": ""})
    for cache in (None, tmp_path / "cache", tmp_path / "cache"):  # cold, cold into cache, warm from cache
        image = await build_image(request(ctx, cache_dir=cache))
        assert image.sbom is not None
        manifest, blobs = image.sbom
        assert manifest.subject is not None and manifest.subject.digest == image.digest
        doc = json.loads(blobs[manifest.layers[0].digest])  # type: ignore[arg-type]
        assert [c["purl"] for c in doc["components"]] == ["pkg:pypi/otherpkg@3.1", "pkg:pypi/tinypkg@1.0"]


async def test_a_dockerfile_build_lists_copied_python_distributions(tmp_path: Path) -> None:
    ctx = write_tree(
        tmp_path,
        {
            "Dockerfile": "FROM scratch\nCOPY site /site/\n",
            "site/req-2.0.dist-info/METADATA": "Name: req\nVersion: 2.0\n",
        },
    )
    image = await build_image(request(ctx))
    assert image.sbom is not None
    doc = json.loads(image.sbom[1][image.sbom[0].layers[0].digest])  # type: ignore[arg-type]
    assert [c["purl"] for c in doc["components"]] == ["pkg:pypi/req@2.0"]
