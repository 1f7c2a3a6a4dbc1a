"""OCI image vocabulary shared by the registry server, its client and the image builder.

Everything here is pure data and pure functions: media types, digests, descriptors, image references and the
canonical JSON encoding ferry writes manifests in. No I/O.

Digests are computed over the exact bytes that are stored or sent. A manifest is never re-serialised once its
digest is known: whoever holds a manifest holds its bytes (`Manifest.raw`), and the digest is of those bytes.
ferry writes manifests and configs with `canonical_json` (sorted keys, no whitespace), so that the same input
gives the same bytes and the same digest on every machine.

Errors: `OciError` is the root of this layer; `InvalidDigest` and `InvalidReference` say which input was bad
and why, in one line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ARTIFACT_SBOM_CYCLONEDX",
    "DOCKER_CONFIG",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_MANIFEST_V2",
    "EMPTY_CONFIG",
    "EMPTY_JSON",
    "INDEX_MEDIA_TYPES",
    "MANIFEST_MEDIA_TYPES",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_MANIFEST",
    "Descriptor",
    "InvalidDigest",
    "InvalidReference",
    "Manifest",
    "OciError",
    "Reference",
    "canonical_json",
    "digest_of",
    "parse_digest",
    "parse_reference",
    "valid_repository",
    "valid_tag",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
# The empty descriptor of the image-spec 1.1 guidance for artifacts: media type, and the 2-byte blob "{}".
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
ARTIFACT_SBOM_CYCLONEDX = "application/vnd.cyclonedx+json"

MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST_V2})
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})


class OciError(Exception):
    """Root of the OCI vocabulary's errors."""


class InvalidDigest(OciError):
    """A digest string that is not `<algorithm>:<encoded>` with a supported algorithm and length."""


class InvalidReference(OciError):
    """An image reference (`registry/repository:tag@digest`) that cannot be parsed."""


# Distribution spec: repository path components, tags and digests.
_REPOSITORY_RE = re.compile(
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
_TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_DIGEST_LENGTHS = {"sha256": 64, "sha512": 128}
_HEX_RE = re.compile(r"[a-f0-9]+")


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    """The OCI digest (`sha256:<hex>`) of exactly these bytes."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def parse_digest(digest: str) -> tuple[str, str]:
    """Split and check a digest; returns (algorithm, hex). Raises InvalidDigest naming the problem."""
    algorithm, sep, encoded = digest.partition(":")
    if not sep:
        raise InvalidDigest(f"invalid digest {digest!r}: must be <algorithm>:<hex>")
    length = _DIGEST_LENGTHS.get(algorithm)
    if length is None:
        raise InvalidDigest(
            f"invalid digest {digest!r}: unsupported algorithm {algorithm!r} (sha256, sha512)"
        )
    if len(encoded) != length or not _HEX_RE.fullmatch(encoded):
        raise InvalidDigest(
            f"invalid digest {digest!r}: {algorithm} must be {length} lowercase hex characters"
        )
    return algorithm, encoded


def valid_repository(name: str) -> bool:
    """True if `name` is a repository name the distribution spec allows (lowercase path components)."""
    return len(name) <= 255 and _REPOSITORY_RE.fullmatch(name) is not None


def valid_tag(tag: str) -> bool:
    """True if `tag` matches the distribution spec's tag grammar (at most 128 characters)."""
    return _TAG_RE.fullmatch(tag) is not None


def canonical_json(value: Any) -> bytes:
    """The bytes ferry writes JSON documents as: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a manifest says about a blob or another manifest."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] | None = None
    artifact_type: str | None = None
    platform: dict[str, Any] | None = None

    @classmethod
    def of(cls, media_type: str, data: bytes, **extra: Any) -> Descriptor:
        """The descriptor of these bytes."""
        return cls(media_type=media_type, digest=digest_of(data), size=len(data), **extra)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.platform:
            out["platform"] = dict(self.platform)
        return out

    @classmethod
    def from_json(cls, value: Any) -> Descriptor:
        if not isinstance(value, dict):
            raise OciError("descriptor must be a JSON object")
        media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
        if (
            not isinstance(media_type, str)
            or not isinstance(digest, str)
            or not isinstance(size, int)
            or isinstance(size, bool)
            or size < 0
        ):
            raise OciError("descriptor must have a string mediaType, a string digest and a non-negative size")
        parse_digest(digest)
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            annotations=value.get("annotations"),
            artifact_type=value.get("artifactType"),
            platform=value.get("platform"),
        )


@dataclass(frozen=True)
class Manifest:
    """A manifest or index as its exact bytes, with the parts ferry reads from it.

    `raw` is authoritative: `digest` is of `raw`, and pushing a Manifest sends `raw` unchanged.
    """

    raw: bytes
    media_type: str
    digest: str
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    @classmethod
    def parse(cls, raw: bytes, media_type: str | None = None) -> Manifest:
        """Parse manifest bytes. `media_type` is the Content-Type it came with, used when the body has none."""
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise OciError(f"manifest is not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise OciError("manifest must be a JSON object")
        body_type = doc.get("mediaType")
        kind = body_type if isinstance(body_type, str) and body_type else media_type
        if kind is None:
            kind = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
        if kind not in MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES:
            raise OciError(f"unsupported manifest media type {kind!r}")
        if media_type and body_type and media_type != body_type:
            raise OciError(f"manifest mediaType {body_type!r} does not match Content-Type {media_type!r}")
        if doc.get("schemaVersion") != 2:
            raise OciError("manifest schemaVersion must be 2")
        subject = Descriptor.from_json(doc["subject"]) if "subject" in doc else None
        annotations = doc.get("annotations") or {}
        artifact_type = doc.get("artifactType")
        if kind in INDEX_MEDIA_TYPES:
            entries = doc.get("manifests")
            if not isinstance(entries, list):
                raise OciError("index must have a manifests list")
            return cls(
                raw=raw,
                media_type=kind,
                digest=digest_of(raw),
                manifests=tuple(Descriptor.from_json(d) for d in entries),
                subject=subject,
                artifact_type=artifact_type,
                annotations=annotations,
            )
        if "config" not in doc or not isinstance(doc.get("layers", []), list):
            raise OciError("image manifest must have a config descriptor and a layers list")
        return cls(
            raw=raw,
            media_type=kind,
            digest=digest_of(raw),
            config=Descriptor.from_json(doc["config"]),
            layers=tuple(Descriptor.from_json(d) for d in doc.get("layers", [])),
            subject=subject,
            artifact_type=artifact_type,
            annotations=annotations,
        )

    @classmethod
    def build(
        cls,
        config: Descriptor,
        layers: list[Descriptor],
        *,
        annotations: dict[str, str] | None = None,
        subject: Descriptor | None = None,
        artifact_type: str | None = None,
    ) -> Manifest:
        """An OCI image manifest in canonical JSON."""
        doc: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.to_json(),
            "layers": [d.to_json() for d in layers],
        }
        if artifact_type:
            doc["artifactType"] = artifact_type
        if subject is not None:
            doc["subject"] = subject.to_json()
        if annotations:
            doc["annotations"] = dict(annotations)
        return cls.parse(canonical_json(doc))

    def descriptor(self, **extra: Any) -> Descriptor:
        """The descriptor that points at this manifest."""
        return Descriptor(media_type=self.media_type, digest=self.digest, size=len(self.raw), **extra)


DEFAULT_REGISTRY = "docker.io"
_DOCKER_HUB_ALIASES = frozenset({"index.docker.io", "registry-1.docker.io"})


@dataclass(frozen=True)
class Reference:
    """`registry/repository[:tag][@digest]`, as `docker pull` and kubelet read it."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def identifier(self) -> str:
        """What goes after /manifests/: the digest if there is one, else the tag, else `latest`."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, self.tag, digest)


def parse_reference(text: str, *, default_registry: str = DEFAULT_REGISTRY) -> Reference:
    """Parse an image reference the way container runtimes do.

    The first path component is a registry if it contains a `.` or a `:`, or is `localhost`; otherwise the
    reference is on `default_registry` (Docker Hub, where a one-component name gets `library/`).
    """
    if not text or text != text.strip():
        raise InvalidReference(f"invalid image reference {text!r}: must not be empty or contain whitespace")
    rest, at, digest = text.partition("@")
    if at and not digest:
        raise InvalidReference(f"invalid image reference {text!r}: nothing after '@'")
    if digest:
        try:
            parse_digest(digest)
        except InvalidDigest as exc:
            raise InvalidReference(f"invalid image reference {text!r}: {exc}") from None
    tag: str | None = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not valid_tag(tag):
            raise InvalidReference(f"invalid image reference {text!r}: invalid tag {tag!r}")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
        if registry in _DOCKER_HUB_ALIASES:
            registry = DEFAULT_REGISTRY
    else:
        registry, repository = default_registry, rest
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    if not valid_repository(repository):
        raise InvalidReference(
            f"invalid image reference {text!r}: repository {repository!r} must be lowercase path components"
        )
    return Reference(registry=registry, repository=repository, tag=tag, digest=digest or None)
