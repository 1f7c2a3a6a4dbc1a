"""Whole images: push what the registry lacks, pull into an OCI image layout, attach referrers.

**push_image** is built so that pushing an unchanged image costs one HEAD:

1. HEAD the tag (or the digest when there is no tag). If it already points at `manifest.digest`, the image is
   there: no blob is looked at, nothing is sent (`manifest_pushed=False`, `blobs_pushed=0`).
2. Otherwise HEAD every blob the manifest names (config and layers; for an index, each child manifest, pushed
   first by digest from `blobs` when given there) and upload only the missing ones — mounted from `mount_from`
   when possible — a few at a time. A blob neither in the registry nor in `blobs` is an error before any upload.
3. PUT the manifest at the tag. The tag moves last: a failure anywhere before leaves no tag pointing at a
   half-pushed image (blobs without a manifest are garbage the registry's GC removes).
4. Each referrer (the SBOM) is pushed by digest the same way. A registry without the referrers API (it does
   not answer the manifest PUT with `OCI-Subject`) gets the spec's fallback: the referrer's descriptor is added
   to the index at the tag `<alg>-<subject hex>`.

Ordering races: two pushers of the same image both upload the same blobs; the registry keeps one copy (content
addressing) and the second manifest PUT is a no-op. `PushResult` counts what this call sent.

**pull_image** writes an OCI image layout (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), which skopeo and
ferry's kubelet read. Blobs already in the layout are not fetched again; every new one is verified on the way in
(`_pulls`), and `index.json` is replaced atomically, naming the pulled tag in `org.opencontainers.image.ref.name`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.registry._errors import DigestMismatch, NotFound, RegistryError
from ferry.registry._uploads import BlobSource, blob_exists, source_size, upload_blob
from ferry.registry.oci import (
    OCI_INDEX,
    Descriptor,
    InvalidReference,
    Manifest,
    canonical_json,
    parse_digest,
    valid_tag,
)

if TYPE_CHECKING:
    from ferry.registry.client import RegistryClient

__all__ = ["PushResult", "pull_image", "push_image"]

_CONCURRENCY = 3
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class PushResult:
    """What one push_image sent: blobs uploaded vs. already there (or mounted), bytes sent, manifest PUT or not."""

    digest: str
    blobs_pushed: int
    blobs_skipped: int
    bytes_pushed: int
    manifest_pushed: bool


@dataclass
class _Tally:
    pushed: int = 0
    skipped: int = 0
    bytes: int = 0


async def _gather(coroutines: Sequence[Any]) -> list[Any]:
    """Run with bounded concurrency; the first failure cancels the rest."""
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def gated(coro: Any) -> Any:
        async with gate:
            return await coro

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(gated(c)) for c in coroutines]
    except (
        BaseExceptionGroup
    ) as failed:  # callers catch RegistryError, not groups: the first failure is the news
        raise failed.exceptions[0] from None
    return [t.result() for t in tasks]


async def _push_blobs(
    client: RegistryClient,
    repo: str,
    manifest: Manifest,
    blobs: Mapping[str, BlobSource],
    tally: _Tally,
    mount_from: str | None,
) -> None:
    """Make every blob (and child manifest) of `manifest` present in `repo`."""
    t = client._t
    for child in manifest.manifests:
        if await client.head_manifest(repo, child.digest) is not None:
            continue
        raw = blobs.get(child.digest)
        if raw is None:
            raise NotFound(
                f"registry {t.name}: index child {child.digest} is neither in {repo} nor among the given blobs"
            )
        sub = Manifest.parse(raw if isinstance(raw, bytes) else raw.read_bytes(), child.media_type)
        await _push_blobs(client, repo, sub, blobs, tally, mount_from)
        await client._put_manifest(repo, sub.digest, sub)
    wanted: dict[str, Descriptor] = {}
    for d in ([manifest.config] if manifest.config else []) + list(manifest.layers):
        wanted.setdefault(d.digest, d)
    present = await _gather([blob_exists(t, repo, digest) for digest in wanted])
    missing = [d for d, size in zip(wanted.values(), present, strict=True) if size is None]
    tally.skipped += len(wanted) - len(missing)
    for d in missing:
        source = blobs.get(d.digest)
        if source is None:
            raise NotFound(
                f"registry {t.name}: blob {d.digest} ({d.media_type}) is neither in {repo} nor among the given blobs"
            )
        if source_size(source) != d.size:
            raise DigestMismatch(
                f"blob {d.digest} given for {repo} is {source_size(source)} bytes; the manifest says {d.size}"
            )

    async def one(d: Descriptor) -> None:
        _, size, sent = await upload_blob(
            t, repo, blobs[d.digest], d.digest, chunk_size=client.chunk_size, mount_from=mount_from
        )
        if sent:
            tally.pushed += 1
            tally.bytes += size
        else:
            tally.skipped += 1

    await _gather([one(d) for d in missing])


async def _attach_to_fallback_tag(client: RegistryClient, repo: str, referrer: Manifest) -> None:
    """Add `referrer` to the `<alg>-<hex>` index of its subject (for registries without the referrers API)."""
    assert referrer.subject is not None
    algorithm, encoded = parse_digest(referrer.subject.digest)
    tag = f"{algorithm}-{encoded}"
    try:
        current = await client.get_manifest(repo, tag)
        entries = [d.to_json() for d in current.manifests if d.digest != referrer.digest]
    except NotFound:
        entries = []
    entry = referrer.descriptor(artifact_type=referrer.artifact_type or _config_type(referrer))
    if referrer.annotations:
        entry = Descriptor(**{**entry.__dict__, "annotations": dict(referrer.annotations)})
    entries.append(entry.to_json())
    index = Manifest.parse(canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}))
    await client._put_manifest(repo, tag, index)


def _config_type(manifest: Manifest) -> str | None:
    return manifest.config.media_type if manifest.config else None


async def push_image(
    client: RegistryClient,
    repo: str,
    tag: str | None,
    manifest: Manifest,
    blobs: Mapping[str, BlobSource],
    *,
    referrers: Sequence[tuple[Manifest, Mapping[str, BlobSource]]] = (),
    mount_from: str | None = None,
) -> PushResult:
    """Push `manifest` (at `tag`, or by digest), its blobs and its referrers; see the module docstring."""
    if tag is not None and not valid_tag(tag):
        raise InvalidReference(f"invalid tag {tag!r}: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}")
    tally = _Tally()
    current = await client.head_manifest(repo, tag or manifest.digest)
    manifest_pushed = current is None or current.digest != manifest.digest
    if manifest_pushed:
        await _push_blobs(client, repo, manifest, blobs, tally, mount_from)
        await client._put_manifest(repo, tag or manifest.digest, manifest)
    for referrer, referrer_blobs in referrers:
        if await client.head_manifest(repo, referrer.digest) is not None:
            continue
        await _push_blobs(client, repo, referrer, referrer_blobs, tally, mount_from)
        headers = await client._put_manifest(repo, referrer.digest, referrer)
        if referrer.subject is not None and "OCI-Subject" not in headers:
            await _attach_to_fallback_tag(client, repo, referrer)
    return PushResult(
        digest=manifest.digest,
        blobs_pushed=tally.pushed,
        blobs_skipped=tally.skipped,
        bytes_pushed=tally.bytes,
        manifest_pushed=manifest_pushed,
    )


def _blob_path(dest_dir: Path, digest: str) -> Path:
    algorithm, encoded = parse_digest(digest)
    return dest_dir / "blobs" / algorithm / encoded


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


async def _pull_tree(client: RegistryClient, repo: str, manifest: Manifest, dest_dir: Path) -> None:
    _write_atomically(_blob_path(dest_dir, manifest.digest), manifest.raw)
    for child in manifest.manifests:
        if not _blob_path(dest_dir, child.digest).exists():
            await _pull_tree(client, repo, await client.get_manifest(repo, child.digest), dest_dir)
    wanted = {d.digest for d in ([manifest.config] if manifest.config else []) + list(manifest.layers)}
    todo = [d for d in sorted(wanted) if not _blob_path(dest_dir, d).exists()]
    await _gather([client.pull_blob(repo, d, _blob_path(dest_dir, d)) for d in todo])


def _update_index(dest_dir: Path, descriptor: Descriptor, ref_name: str | None) -> None:
    index_path = dest_dir / "index.json"
    entries: list[dict[str, Any]] = []
    if index_path.exists():
        try:
            doc = json.loads(index_path.read_bytes())
            entries = [e for e in doc.get("manifests", []) if isinstance(e, dict)]
        except (ValueError, AttributeError):
            raise RegistryError(
                f"{index_path} is not an OCI image index; pull into an empty directory"
            ) from None
    entries = [
        e
        for e in entries
        if not (ref_name and (e.get("annotations") or {}).get(REF_NAME) == ref_name)
        and not (ref_name is None and e.get("digest") == descriptor.digest)
    ]
    entry = descriptor.to_json()
    if ref_name:
        entry["annotations"] = {REF_NAME: ref_name}
    entries.append(entry)
    _write_atomically(dest_dir / "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    _write_atomically(
        index_path, canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    )


async def pull_image(client: RegistryClient, repo: str, reference: str, dest_dir: Path) -> Manifest:
    """Pull `repo:reference` with every blob into the OCI image layout `dest_dir`; returns the manifest."""
    manifest = await client.get_manifest(repo, reference)
    await _pull_tree(client, repo, manifest, dest_dir)
    _update_index(dest_dir, manifest.descriptor(), None if ":" in reference else reference)
    return manifest
