"""`build_image`: a BuildRequest in, a BuiltImage out, without a daemon and without running anything.

Two paths share one ending:

1. **Dockerfile** (`request.dockerfile`, or `<context>/Dockerfile`): parse, find FROM, resolve the base (scratch,
   host, or a registry image whose layers are reused by digest), evaluate the instructions on the base's config,
   and turn each COPY/ADD into one reproducible layer.
2. **Buildpack** (no Dockerfile): detect Python or Node.js, build a cached dependency layer and an app layer on
   the host base.

Then the common end: OCI labels (`org.opencontainers.image.revision|source|version|created`, set last so nothing
can contradict them), the config (canonical JSON, `created` = commit time), the manifest (canonical JSON, with
the same values as annotations, plus `base.name`/`base.digest` for a registry base), and the SBOM artifact whose
`subject` is the manifest.

Invariant: everything that reaches the image's bytes comes from the request and the context. Not the wall clock,
not the user or machine that builds, not the checkout's mtimes or the umask. That is what makes an unchanged
service give the same digest, so `ferry ci` neither rebuilds nor re-pushes it.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from pathlib import Path

from ferry.build.bases import Base, host_base, resolve_base
from ferry.build.buildpacks import BuildpackResult, detect
from ferry.build.config import ImageConfig, default_platform
from ferry.build.context import copy_entries
from ferry.build.dockerfile import parse_dockerfile
from ferry.build.errors import BuildError
from ferry.build.ignore import Ignore
from ferry.build.instructions import evaluate, find_base
from ferry.build.layers import Entry, Layer, build_layer
from ferry.build.model import BlobSource, BuildRequest, BuiltImage
from ferry.build.sbom import Component, cyclonedx, metadata_component, sbom_artifact
from ferry.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, Descriptor, Manifest

__all__ = ["build_image"]

_SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _check_request(request: BuildRequest) -> None:
    if not request.context.is_dir():
        raise BuildError(f"build context {request.context} is not a directory")
    if not request.version or any(c.isspace() for c in request.version):
        raise BuildError(f"version {request.version!r} must be non-empty and without spaces")
    if not _SHA_RE.fullmatch(request.revision):
        raise BuildError(f"revision {request.revision!r} must be a full git commit SHA (40 lowercase hex)")
    try:
        datetime.fromisoformat(request.created)
    except ValueError:
        raise BuildError(
            f"created {request.created!r} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"
        ) from None


async def build_image(request: BuildRequest) -> BuiltImage:
    """Build the image of `request.context`. Raises BuildError (one line) on any problem the user can fix."""
    _check_request(request)
    platform = request.platform or default_platform()
    dockerfile = request.dockerfile
    if dockerfile is None and (request.context / "Dockerfile").is_file():
        dockerfile = request.context / "Dockerfile"
    if dockerfile is not None:
        base, layers, components, warnings = await _from_dockerfile(request, dockerfile, platform)
    else:
        base, layers, components, warnings = await _from_buildpack(request, platform)
    return _assemble(request, base, layers, components, warnings)


async def _from_dockerfile(
    request: BuildRequest, dockerfile: Path, platform: str
) -> tuple[Base, list[Layer], list[Component], list[str]]:
    try:
        text = dockerfile.read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildError(f"cannot read {dockerfile}: {exc.strerror}") from None
    instructions = parse_dockerfile(text, file=dockerfile.name)
    base_name, _, meta_args, used = find_base(instructions, request.build_args)
    base = await resolve_base(
        base_name,
        platform=platform,
        context=request.context,
        cache_dir=request.cache_dir,
        factory=request.registry_client_factory,
    )
    recipe = evaluate(instructions, base.config, build_args=request.build_args, meta_args=meta_args)
    ignore = Ignore.for_context(request.context)
    layers: list[Layer] = []
    components: list[Component] = []
    for instr, step in recipe.steps:
        if step is None:
            base.config.add_history(instr.text, created=request.created, empty_layer=True)
            continue
        entries = copy_entries(step, request.context, ignore)
        components += _installed_components(entries)
        layer = await asyncio.to_thread(build_layer, entries, created_by=instr.text)
        layers.append(layer)
        base.config.add_history(instr.text, created=request.created, empty_layer=False)
    unused = sorted(set(request.build_args) - used - recipe.used_args)
    warnings = list(recipe.warnings)
    if unused:
        warnings.append(f"build args not used by {dockerfile.name}: {', '.join(unused)}")
    return base, layers, components, warnings


def _installed_components(entries: list[Entry]) -> list[Component]:
    """Python distributions among copied files (their dist-info METADATA), for the SBOM."""
    out = []
    for entry in entries:
        if entry.kind == "file" and entry.source is not None and entry.path.endswith(".dist-info/METADATA"):
            comp = metadata_component(entry.source.read_text(encoding="utf-8", errors="replace"))
            if comp is not None:
                out.append(comp)
    return out


async def _from_buildpack(
    request: BuildRequest, platform: str
) -> tuple[Base, list[Layer], list[Component], list[str]]:
    kind = detect(request.context)
    result: BuildpackResult
    if kind == "node":
        from ferry.build.buildpacks.node import build_node

        result = await build_node(request.context, platform=platform, cache_dir=request.cache_dir)
    else:
        from ferry.build.buildpacks.python import build_python

        result = await build_python(request.context, platform=platform, cache_dir=request.cache_dir)
    base = host_base(result.runtime, platform)
    config = base.config
    for key, value in result.env.items():
        config.set_env(key, value)
    config.working_dir = result.working_dir
    config.entrypoint = result.entrypoint
    config.labels["dev.ferry.image.buildpack"] = kind
    for layer in result.layers:
        config.add_history(layer.created_by, created=request.created, empty_layer=False)
    history = f"ENTRYPOINT {json.dumps(result.entrypoint)} # ferry buildpack: {kind}"
    config.add_history(history, created=request.created, empty_layer=True)
    return base, result.layers, result.components, result.warnings


def _assemble(
    request: BuildRequest, base: Base, layers: list[Layer], components: list[Component], warnings: list[str]
) -> BuiltImage:
    config: ImageConfig = base.config
    standard = {
        "org.opencontainers.image.created": request.created,
        "org.opencontainers.image.revision": request.revision,
        "org.opencontainers.image.version": request.version,
    }
    if request.source:
        standard["org.opencontainers.image.source"] = request.source
    config.labels.update(request.labels)
    config.labels.update(standard)
    config.diff_ids += [layer.diff_id for layer in layers]  # history entries were added step by step
    config_bytes = config.to_bytes(created=request.created)
    config_desc = Descriptor.of(OCI_CONFIG, config_bytes)
    descriptors = [*base.layers, *(Descriptor(OCI_LAYER_GZIP, layer.digest, layer.size) for layer in layers)]
    manifest = Manifest.build(config_desc, descriptors, annotations={**standard, **base.annotations})
    blobs: dict[str, BlobSource] = {config_desc.digest: config_bytes, **base.blobs}
    for layer in layers:
        blobs[layer.digest] = layer.blob
    name = request.labels.get("org.opencontainers.image.title") or request.context.resolve().name
    document = cyclonedx(
        components, image_digest=manifest.digest, name=name, version=request.version, created=request.created
    )
    sbom: tuple[Manifest, dict[str, BlobSource]] = sbom_artifact(document, manifest, created=request.created)
    return BuiltImage(
        manifest=manifest,
        config=config_bytes,
        blobs=blobs,
        sbom=sbom,
        warnings=tuple(warnings),
        base=base.name,
    )
