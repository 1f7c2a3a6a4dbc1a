"""An async client for any OCI distribution registry: ferry's own, CNCF Distribution, GHCR, ECR, Docker Hub.

`RegistryClient` is the public face; the work is done by private modules, one concern each:

    _transport  addressing (http for loopback, https otherwise), one request with auth + retries + error decoding
    _auth       anonymous, Basic, and the Bearer token flow (WWW-Authenticate realm/service/scope), tokens per scope
    _retry      RetryPolicy and `retry_delay`, the one rule for what is retried and how long to wait
    _errors     the RegistryError tree and the decoding of distribution error bodies into one line
    _uploads    mount, monolithic and resumable chunked blob uploads with digest checks
    _pulls      streamed, verified blob downloads (nothing under its final name unless the digest matches)
    _images     push_image / pull_image / referrers: whole images, skipping what the registry already has

Manifests travel as their exact bytes (`Manifest.raw`): the client never re-serialises one, so the digest a
builder computed is the digest the registry stores. Every manifest and blob that comes back is checked against
the digest it was asked for (`DigestMismatch`).

Use it as an async context manager (it owns an aiohttp session unless given one)::

    async with RegistryClient("127.0.0.1:5000") as registry:
        result = await registry.push_image("shop/api", "1.4.2-ab12cd3", image.manifest, image.blobs)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from ferry.registry import _images
from ferry.registry._errors import (
    DigestMismatch,
    NotFound,
    RegistryError,
    RegistryUnavailable,
    TagRefused,
    Unauthorized,
)
from ferry.registry._images import PushResult
from ferry.registry._pulls import pull_blob
from ferry.registry._retry import RetryPolicy
from ferry.registry._transport import Transport
from ferry.registry._uploads import BlobSource, blob_exists, push_scope, upload_blob
from ferry.registry.oci import (
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_V2,
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    InvalidReference,
    Manifest,
    OciError,
    digest_of,
    parse_digest,
    valid_repository,
    valid_tag,
)

__all__ = [
    "BlobSource",
    "DigestMismatch",
    "NotFound",
    "PushResult",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "RetryPolicy",
    "TagRefused",
    "Unauthorized",
]

MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_V2, DOCKER_MANIFEST_LIST])
DEFAULT_CHUNK_SIZE = 8 << 20
DEFAULT_RETRY = RetryPolicy()


def _is_digest(reference: str) -> bool:
    return ":" in reference


def _check_repo(repo: str) -> None:
    if not valid_repository(repo):
        raise InvalidReference(f"invalid repository {repo!r}: must be lowercase path components")


def _check_reference(reference: str) -> None:
    if _is_digest(reference):
        parse_digest(reference)
    elif not valid_tag(reference):
        raise InvalidReference(f"invalid tag {reference!r}: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}")


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    kind = content_type.split(";", 1)[0].strip()
    return kind if kind in MANIFEST_MEDIA_TYPES | INDEX_MEDIA_TYPES else None


def _next_link(link: str | None) -> str | None:
    """The target of `Link: </v2/...?last=x&n=y>; rel="next"`, if any."""
    for part in (link or "").split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            return url.strip().strip("<>")
    return None


class RegistryClient:
    """One registry; see the module docstring. `registry` is `host:port` or `http(s)://host:port`."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool | None = None,
        username: str | None = None,
        password: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self._t = Transport(
            registry, insecure=insecure, username=username, password=password, retry=retry, session=session
        )
        self.chunk_size = chunk_size

    @property
    def name(self) -> str:
        """The registry as `host:port`, as shown in messages."""
        return self._t.name

    @property
    def url(self) -> str:
        return self._t.base_url

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._t.close()

    async def ping(self) -> None:
        """`GET /v2/`: the registry answers and accepts the credentials. Raises otherwise."""
        await self._t.fetch("GET", "/v2/", scope="")

    # blobs

    async def blob_size(self, repo: str, digest: str) -> int | None:
        """The size of a blob the repository has (HEAD), or None."""
        _check_repo(repo)
        parse_digest(digest)
        return await blob_exists(self._t, repo, digest)

    async def push_blob(
        self, repo: str, data: BlobSource, digest: str | None = None, *, mount_from: str | None = None
    ) -> tuple[str, int, bool]:
        """Upload a blob unless the repository has it: (digest, size, pushed). Mounts from `mount_from` if it can."""
        _check_repo(repo)
        if digest is not None:
            parse_digest(digest)
            if isinstance(data, bytes) and digest_of(data, parse_digest(digest)[0]) != digest:
                raise DigestMismatch(
                    f"registry {self.name}: blob for {repo} has digest {digest_of(data)}, not the expected "
                    f"{digest}; nothing was stored"
                )
            size = await blob_exists(self._t, repo, digest)
            if size is not None:
                return digest, size, False
        elif isinstance(data, bytes):
            digest = digest_of(data)
            size = await blob_exists(self._t, repo, digest)
            if size is not None:
                return digest, size, False
        return await upload_blob(
            self._t, repo, data, digest, chunk_size=self.chunk_size, mount_from=mount_from
        )

    async def pull_blob(self, repo: str, digest: str, dest: Path | None = None) -> bytes | None:
        """Download and verify a blob: its bytes, or None after writing it to `dest`."""
        _check_repo(repo)
        return await pull_blob(self._t, repo, digest, dest)

    async def delete_blob(self, repo: str, digest: str) -> None:
        _check_repo(repo)
        parse_digest(digest)
        await self._t.fetch(
            "DELETE", f"/v2/{repo}/blobs/{digest}", scope=push_scope(repo), ok=(202, 200, 204)
        )

    # manifests

    async def get_manifest(self, repo: str, reference: str) -> Manifest:
        """The manifest or index at a tag or digest, its bytes verified against the digest."""
        _check_repo(repo)
        _check_reference(reference)
        _, headers, body = await self._t.fetch(
            "GET",
            f"/v2/{repo}/manifests/{reference}",
            scope=f"repository:{repo}:pull",
            headers={"Accept": MANIFEST_ACCEPT},
        )
        expected = reference if _is_digest(reference) else headers.get("Docker-Content-Digest")
        if expected:
            actual = digest_of(body, parse_digest(expected)[0])
            if actual != expected:
                raise DigestMismatch(
                    f"registry {self.name}: manifest {repo}:{reference} arrived with digest {actual}, "
                    f"not {expected}"
                )
        try:
            return Manifest.parse(body, _media_type(headers.get("Content-Type")))
        except OciError as exc:
            raise RegistryError(f"registry {self.name}: manifest {repo}:{reference}: {exc}") from None

    async def head_manifest(self, repo: str, reference: str) -> Descriptor | None:
        """What a tag or digest points at (media type, digest, size), or None if nothing."""
        _check_repo(repo)
        _check_reference(reference)
        try:
            _, headers, _ = await self._t.fetch(
                "HEAD",
                f"/v2/{repo}/manifests/{reference}",
                scope=f"repository:{repo}:pull",
                headers={"Accept": MANIFEST_ACCEPT},
            )
        except NotFound:
            return None
        digest = headers.get("Docker-Content-Digest") or (reference if _is_digest(reference) else None)
        media_type = _media_type(headers.get("Content-Type"))
        length = headers.get("Content-Length", "")
        if digest is None or media_type is None or not length.isdigit():
            manifest = await self.get_manifest(repo, reference)  # a registry that says little on HEAD
            return manifest.descriptor()
        return Descriptor(media_type=media_type, digest=digest, size=int(length))

    async def push_manifest(self, repo: str, reference: str, manifest: Manifest) -> str:
        """PUT `manifest.raw` unchanged at a tag or digest; returns its digest."""
        await self._put_manifest(repo, reference, manifest)
        return manifest.digest

    async def _put_manifest(self, repo: str, reference: str, manifest: Manifest) -> Mapping[str, str]:
        _check_repo(repo)
        _check_reference(reference)
        if _is_digest(reference) and reference != manifest.digest:
            raise DigestMismatch(
                f"registry {self.name}: cannot push manifest {manifest.digest} under digest {reference}"
            )
        _, headers, _ = await self._t.fetch(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            scope=push_scope(repo),
            ok=(201, 200),
            headers={"Content-Type": manifest.media_type},
            data=manifest.raw,
            tag_push=not _is_digest(reference),
        )
        stored = headers.get("Docker-Content-Digest")
        if stored and stored != manifest.digest:
            raise DigestMismatch(
                f"registry {self.name}: manifest for {repo}:{reference} stored as {stored}, "
                f"not {manifest.digest} (the registry rewrote it)"
            )
        return headers

    async def delete_manifest(self, repo: str, digest: str) -> None:
        """Delete a manifest by digest (registries do not delete by tag)."""
        _check_repo(repo)
        parse_digest(digest)
        await self._t.fetch(
            "DELETE", f"/v2/{repo}/manifests/{digest}", scope=f"repository:{repo}:delete", ok=(202, 200, 204)
        )

    # tags and referrers

    async def list_tags(self, repo: str, *, page_size: int | None = None) -> list[str]:
        """Every tag of the repository, following `Link` pagination."""
        _check_repo(repo)
        target: str | None = f"/v2/{repo}/tags/list" + (f"?n={page_size}" if page_size else "")
        seen: set[str] = set()
        tags: list[str] = []
        while target is not None and target not in seen:
            seen.add(target)
            _, headers, body = await self._t.fetch("GET", target, scope=f"repository:{repo}:pull")
            page = self._json(body, f"tags of {repo}")
            tags += [t for t in page.get("tags") or [] if isinstance(t, str)]
            target = _next_link(headers.get("Link"))
        return tags

    async def referrers(
        self, repo: str, digest: str, *, artifact_type: str | None = None
    ) -> list[Descriptor]:
        """The manifests whose subject is `digest`: the referrers API, or the `<alg>-<hex>` tag where it is absent."""
        _check_repo(repo)
        algorithm, encoded = parse_digest(digest)
        target = f"/v2/{repo}/referrers/{digest}"
        if artifact_type:
            target += f"?artifactType={quote(artifact_type, safe='')}"
        try:
            _, headers, body = await self._t.fetch("GET", target, scope=f"repository:{repo}:pull")
        except RegistryError as exc:
            if exc.status not in (404, 405):
                raise
            try:
                index = await self.get_manifest(repo, f"{algorithm}-{encoded}")
            except NotFound:
                return []
            found = list(index.manifests)
        else:
            doc = self._json(body, f"referrers of {digest}")
            found = [Descriptor.from_json(d) for d in doc.get("manifests") or []]
            if "artifactType" in (headers.get("OCI-Filters-Applied") or ""):
                return found
        return [d for d in found if artifact_type is None or d.artifact_type == artifact_type]

    def _json(self, body: bytes, what: str) -> dict[str, Any]:
        try:
            doc = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            doc = None
        if not isinstance(doc, dict):
            raise RegistryError(f"registry {self.name}: {what}: the answer is not a JSON object")
        return doc

    # whole images

    async def push_image(
        self,
        repo: str,
        tag: str | None,
        manifest: Manifest,
        blobs: Mapping[str, BlobSource],
        *,
        referrers: Sequence[tuple[Manifest, Mapping[str, BlobSource]]] = (),
        mount_from: str | None = None,
    ) -> PushResult:
        """Push an image (and its referrers), sending only what the registry lacks. See `_images.push_image`."""
        return await _images.push_image(
            self, repo, tag, manifest, blobs, referrers=referrers, mount_from=mount_from
        )

    async def pull_image(self, repo: str, reference: str, dest_dir: Path) -> Manifest:
        """Pull an image into an OCI image layout at `dest_dir` (blobs under blobs/<alg>/<hex>)."""
        return await _images.pull_image(self, repo, reference, dest_dir)
