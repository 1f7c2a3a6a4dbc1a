"""ferry.registry.oci: digests, image references (docker.io normalisation), manifest parsing and round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.registry.oci import (
    DOCKER_MANIFEST_V2,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    Descriptor,
    InvalidDigest,
    InvalidReference,
    Manifest,
    OciError,
    Reference,
    canonical_json,
    digest_of,
    parse_digest,
    parse_reference,
    valid_repository,
    valid_tag,
)

HEX = "a" * 64


def test_digest_of_known_bytes() -> None:
    assert digest_of(b"") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert digest_of(b"", "sha512").startswith("sha512:cf83e1357eefb8bd")


def test_parse_digest_accepts_sha256_and_sha512() -> None:
    assert parse_digest(f"sha256:{HEX}") == ("sha256", HEX)
    assert parse_digest("sha512:" + "b" * 128) == ("sha512", "b" * 128)


@pytest.mark.parametrize(
    ("digest", "problem"),
    [
        (HEX, "must be <algorithm>:<hex>"),
        (f"md5:{HEX}", "unsupported algorithm 'md5'"),
        ("sha256:abc", "64 lowercase hex"),
        ("sha256:" + "A" * 64, "64 lowercase hex"),
        ("sha256:" + "g" * 64, "64 lowercase hex"),
        ("sha512:" + "a" * 64, "128 lowercase hex"),
    ],
)
def test_bad_digests_say_what_is_wrong(digest: str, problem: str) -> None:
    with pytest.raises(InvalidDigest, match=problem):
        parse_digest(digest)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", Reference("docker.io", "library/busybox")),
        ("busybox:1.36", Reference("docker.io", "library/busybox", "1.36")),
        ("bitnami/redis:7", Reference("docker.io", "bitnami/redis", "7")),
        ("docker.io/library/python:3.11-slim", Reference("docker.io", "library/python", "3.11-slim")),
        ("ghcr.io/org/app:1.0.0", Reference("ghcr.io", "org/app", "1.0.0")),
        ("localhost/app", Reference("localhost", "app")),
        ("127.0.0.1:5000/shop/api:1.2.3-abc1234", Reference("127.0.0.1:5000", "shop/api", "1.2.3-abc1234")),
        ("127.0.0.1:5000/api", Reference("127.0.0.1:5000", "api")),
        (f"ghcr.io/org/app@sha256:{HEX}", Reference("ghcr.io", "org/app", None, f"sha256:{HEX}")),
        (f"app:1.0@sha256:{HEX}", Reference("docker.io", "library/app", "1.0", f"sha256:{HEX}")),
        # Docker Hub spelled out: the same image as `busybox`
        ("docker.io/busybox", Reference("docker.io", "library/busybox")),
        ("index.docker.io/library/busybox:1", Reference("docker.io", "library/busybox", "1")),
        ("registry-1.docker.io/busybox", Reference("docker.io", "library/busybox")),
    ],
)
def test_references(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected


def test_reference_str_and_identifier() -> None:
    ref = parse_reference("127.0.0.1:5000/api:1.0")
    assert str(ref) == "127.0.0.1:5000/api:1.0" and ref.identifier == "1.0"
    assert parse_reference("api").identifier == "latest"
    pinned = ref.with_digest(f"sha256:{HEX}")
    assert pinned.identifier == f"sha256:{HEX}" and str(pinned) == f"127.0.0.1:5000/api:1.0@sha256:{HEX}"


def test_default_registry_can_be_changed() -> None:
    assert parse_reference("api:1", default_registry="127.0.0.1:5000") == Reference(
        "127.0.0.1:5000", "api", "1"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "must not be empty"),
        (" api", "whitespace"),
        ("Api:1", "lowercase"),
        ("api:bad tag", "whitespace|invalid tag"),
        ("api:-x", "invalid tag"),
        ("api@sha256:123", "64 lowercase hex"),
        ("ghcr.io/", "lowercase"),
        ("app@", "nothing after '@'"),
    ],
)
def test_bad_references(text: str, problem: str) -> None:
    with pytest.raises(InvalidReference, match=problem):
        parse_reference(text)


def test_tag_and_repository_grammar() -> None:
    assert valid_tag("1.0.0-abc1234") and valid_tag("_x") and valid_tag("a" * 128)
    assert not valid_tag("a" * 129) and not valid_tag(".x") and not valid_tag("")
    assert valid_repository("shop/order-service") and valid_repository("a__b/c.d")
    assert not valid_repository("Shop") and not valid_repository("a//b") and not valid_repository("-a")


def _doc(**extra: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": f"sha256:{HEX}", "size": 2},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": f"sha256:{'b' * 64}", "size": 10}],
    }
    doc.update(extra)
    return doc


def test_parse_keeps_the_exact_bytes_and_digest() -> None:
    raw = json.dumps(_doc(), indent=3).encode()  # not canonical: must not be re-serialised
    manifest = Manifest.parse(raw)
    assert manifest.raw == raw and manifest.digest == digest_of(raw)
    assert manifest.config == Descriptor(OCI_CONFIG, f"sha256:{HEX}", 2)
    assert [d.size for d in manifest.layers] == [10] and not manifest.is_index
    assert manifest.descriptor() == Descriptor(OCI_MANIFEST, manifest.digest, len(raw))


def test_build_is_canonical_and_round_trips() -> None:
    config = Descriptor.of(OCI_CONFIG, b"{}")
    layer = Descriptor.of(OCI_LAYER_GZIP, b"layer", annotations={"k": "v"})
    built = Manifest.build(config, [layer], annotations={"org.opencontainers.image.version": "1.0"})
    assert built.raw == canonical_json(json.loads(built.raw))
    again = Manifest.parse(built.raw, OCI_MANIFEST)
    assert again == built
    assert again.layers[0].annotations == {"k": "v"}
    assert (
        Manifest.build(config, [layer], annotations={"org.opencontainers.image.version": "1.0"}).digest
        == built.digest
    )


def test_media_type_from_content_type_when_the_body_has_none() -> None:
    doc = _doc()
    del doc["mediaType"]
    assert Manifest.parse(canonical_json(doc), DOCKER_MANIFEST_V2).media_type == DOCKER_MANIFEST_V2
    assert Manifest.parse(canonical_json(doc)).media_type == OCI_MANIFEST
    index = {"schemaVersion": 2, "manifests": []}
    assert Manifest.parse(canonical_json(index)).media_type == OCI_INDEX


@pytest.mark.parametrize(
    ("raw", "content_type", "problem"),
    [
        (b"{not json", None, "not valid JSON"),
        (b"[]", None, "must be a JSON object"),
        (canonical_json(_doc(schemaVersion=1)), None, "schemaVersion must be 2"),
        (canonical_json(_doc(mediaType="application/x-unknown")), None, "unsupported manifest media type"),
        (canonical_json(_doc()), DOCKER_MANIFEST_V2, "does not match Content-Type"),
        (
            canonical_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}),
            None,
            "config descriptor",
        ),
        (canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX}), None, "manifests list"),
        (
            canonical_json(_doc(layers=[{"mediaType": OCI_LAYER_GZIP, "digest": "sha256:1", "size": 1}])),
            None,
            "64",
        ),
        (
            canonical_json(
                _doc(layers=[{"mediaType": OCI_LAYER_GZIP, "digest": f"sha256:{HEX}", "size": -1}])
            ),
            None,
            "non-negative",
        ),
        (canonical_json(_doc(layers=["x"])), None, "descriptor must be a JSON object"),
        (
            canonical_json(
                _doc(layers=[{"mediaType": OCI_LAYER_GZIP, "digest": f"sha256:{HEX}", "size": True}])
            ),
            None,
            "non-negative",
        ),
    ],
)
def test_parse_errors_are_one_line(raw: bytes, content_type: str | None, problem: str) -> None:
    with pytest.raises(OciError, match=problem) as caught:
        Manifest.parse(raw, content_type)
    assert "\n" not in str(caught.value)


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(st.integers(), st.text(max_size=8), st.booleans()),
        max_size=6,
    )
)
def test_canonical_json_is_stable_under_key_order(value: dict[str, object]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(value) == canonical_json(reordered)
    assert json.loads(canonical_json(value)) == value
