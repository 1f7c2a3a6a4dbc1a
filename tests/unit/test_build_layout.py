"""write_oci_layout: the OCI image layout skopeo's `oci:` transport reads, written safely."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ferry.build import BuildError, BuiltImage, build_image, write_oci_layout
from ferry.registry.oci import OCI_MANIFEST

from .build_support import request, write_tree


async def _image(tmp_path: Path, content: str = "1") -> BuiltImage:
    ctx = write_tree(tmp_path / f"ctx{content}", {"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": content})
    return await build_image(request(ctx))


def _index(dest: Path) -> list[dict[str, object]]:
    return json.loads((dest / "index.json").read_text())["manifests"]  # type: ignore[no-any-return]


async def test_layout_has_every_blob_under_its_digest_and_a_tagged_index(tmp_path: Path) -> None:
    image = await _image(tmp_path)
    dest = tmp_path / "out"
    write_oci_layout(image, dest, tag="1.2.3-0123456")
    assert json.loads((dest / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    for path in (dest / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
    assert image.sbom is not None
    expected = {*image.blobs, image.digest, image.sbom[0].digest, *image.sbom[1]}
    assert {f"sha256:{p.name}" for p in (dest / "blobs" / "sha256").iterdir()} == expected
    entries = _index(dest)
    assert entries[0] == {
        "mediaType": OCI_MANIFEST,
        "digest": image.digest,
        "size": len(image.manifest.raw),
        "annotations": {"org.opencontainers.image.ref.name": "1.2.3-0123456"},
    }
    assert entries[1]["digest"] == image.sbom[0].digest
    assert entries[1]["artifactType"] == "application/vnd.cyclonedx+json"


async def test_writing_again_replaces_the_tag_and_keeps_other_tags(tmp_path: Path) -> None:
    one, two = await _image(tmp_path, "1"), await _image(tmp_path, "2")
    dest = tmp_path / "out"
    write_oci_layout(one, dest, tag="v1")
    write_oci_layout(one, dest, tag="v1")
    write_oci_layout(two, dest, tag="v2")
    write_oci_layout(two, dest, tag="v1")
    tagged = {
        e["annotations"]["org.opencontainers.image.ref.name"]: e["digest"]
        for e in _index(dest)
        if "annotations" in e
    }  # type: ignore[index]
    assert tagged == {"v2": two.digest, "v1": two.digest}
    assert len([e for e in _index(dest) if e["digest"] == one.digest]) == 0


@pytest.mark.parametrize("tag", ["", "has space", "-leading", "x" * 129])
async def test_invalid_tag_writes_nothing(tmp_path: Path, tag: str) -> None:
    image = await _image(tmp_path)
    with pytest.raises(BuildError, match="invalid tag"):
        write_oci_layout(image, tmp_path / "out", tag=tag)
    assert not (tmp_path / "out").exists()


async def test_refuses_a_directory_that_is_not_a_layout(tmp_path: Path) -> None:
    image = await _image(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(BuildError, match="is a non-empty directory that is not an OCI layout"):
        write_oci_layout(image, tmp_path / "out", tag="v1")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]


async def test_refuses_a_broken_index(tmp_path: Path) -> None:
    image = await _image(tmp_path)
    dest = tmp_path / "out"
    write_oci_layout(image, dest, tag="v1")
    (dest / "index.json").write_text("{broken")
    with pytest.raises(BuildError, match=r"index\.json is not valid JSON"):
        write_oci_layout(image, dest, tag="v2")
    assert (dest / "index.json").read_text() == "{broken"
