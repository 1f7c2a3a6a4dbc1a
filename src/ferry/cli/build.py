"""``ferry build``: build one service's reproducible OCI image, then write it as an OCI layout and/or push it.

The image's identity comes from git, not from the machine: ``--revision`` defaults to ``git rev-parse HEAD`` of
PATH and the creation time to that commit's committer time, so two builds of one commit anywhere give the same
digest. Output: the digest, the base, and each layer with its size (``--output-format json`` for machines).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click

from ferry.build import BuildRequest, BuiltImage, build_image, write_oci_layout
from ferry.registry.oci import InvalidReference, parse_reference


def _git(path: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _commit_time(path: Path, revision: str) -> str | None:
    epoch = _git(path, "log", "-1", "--format=%ct", revision)
    if not epoch:
        return None
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _source(path: Path) -> str | None:
    url = _git(path, "config", "--get", "remote.origin.url")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:  # never put credentials into an image label
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
    return urlunsplit(parts) if parts.scheme else url


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, eq, val = value.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"{value!r} must be KEY=VALUE", param_hint=what)
        out[key] = val
    return out


def _default_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "ferry" / "build"


def _layers(image: BuiltImage) -> list[dict[str, Any]]:
    config = json.loads(image.config)
    history = [h for h in config.get("history", []) if not h.get("empty_layer")]
    out = []
    for n, layer in enumerate(image.manifest.layers):
        created_by = history[n].get("created_by", "") if n < len(history) else ""
        out.append({"digest": layer.digest, "size": layer.size, "createdBy": created_by})
    return out


async def _push(image: BuiltImage, target: str, username: str | None, password: str | None) -> dict[str, Any]:
    from ferry.registry.client import RegistryClient

    try:
        ref = parse_reference(target)
    except InvalidReference as exc:
        raise click.BadParameter(str(exc), param_hint="--push") from None
    if not ref.tag or ref.digest:
        raise click.BadParameter(f"{target!r} must be REGISTRY/REPOSITORY:TAG", param_hint="--push")
    async with RegistryClient(ref.registry, username=username, password=password) as client:
        result = await client.push_image(
            ref.repository, ref.tag, image.manifest, image.blobs, referrers=[image.sbom] if image.sbom else []
        )
    return {
        "image": f"{ref.registry}/{ref.repository}:{ref.tag}",
        "blobs": result.blobs_pushed,
        "blobsSkipped": result.blobs_skipped,
        "bytes": result.bytes_pushed,
        "manifest": result.manifest_pushed,
    }


@click.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=".")
@click.option("--version", "version", required=True, help="Version of the service (OCI label and tag).")
@click.option("--revision", help="Full git SHA [default: git rev-parse HEAD of PATH].")
@click.option("--created", help="RFC 3339 creation time [default: the revision's commit time].")
@click.option("--source", help="Repository URL [default: git remote origin].")
@click.option(
    "-f", "--file", "dockerfile", type=click.Path(dir_okay=False, path_type=Path), help="Dockerfile."
)
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VALUE", help="Dockerfile ARG value.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Extra image label.")
@click.option("--output", "output", metavar="oci:DIR", help="Write an OCI image layout directory.")
@click.option("--tag", help="Tag inside the OCI layout [default: <version>-<sha7>].")
@click.option("--push", "push", metavar="REGISTRY/REPO:TAG", help="Push the image and its SBOM.")
@click.option(
    "--username", envvar="FERRY_REGISTRY_USERNAME", help="Registry user [env FERRY_REGISTRY_USERNAME]."
)
@click.option(
    "--password", envvar="FERRY_REGISTRY_PASSWORD", help="Registry password [env FERRY_REGISTRY_PASSWORD]."
)
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), help="Layer cache directory.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the layer cache.")
@click.option("--platform", help="Target platform, e.g. linux/amd64 [default: this machine].")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def build(
    path: Path,
    version: str,
    revision: str | None,
    created: str | None,
    source: str | None,
    dockerfile: Path | None,
    build_args: tuple[str, ...],
    labels: tuple[str, ...],
    output: str | None,
    tag: str | None,
    push: str | None,
    username: str | None,
    password: str | None,
    cache_dir: Path | None,
    no_cache: bool,
    platform: str | None,
    output_format: str,
) -> None:
    """Build a reproducible OCI image of the service in PATH, without a daemon.

    Uses PATH/Dockerfile (a subset without RUN) or, without one, the Python or Node.js buildpack.
    """
    revision = revision or _git(path, "rev-parse", "HEAD")
    if not revision:
        raise click.UsageError(f"{path} is not in a git repository: pass --revision SHA and --created TIME")
    created = created or _commit_time(path, revision)
    if not created:
        raise click.UsageError(f"cannot read the commit time of {revision}: pass --created TIME")
    out_dir: Path | None = None
    if output is not None:
        kind, sep, rest = output.partition(":")
        if kind != "oci" or not sep or not rest:
            raise click.BadParameter(f"{output!r} must be oci:DIR", param_hint="--output")
        out_dir = Path(rest)
    request = BuildRequest(
        context=path,
        version=version,
        revision=revision,
        created=created,
        source=source or _source(path),
        dockerfile=dockerfile,
        build_args=_pairs(build_args, "--build-arg"),
        labels=_pairs(labels, "--label"),
        cache_dir=None if no_cache else (cache_dir or _default_cache()),
        platform=platform,
    )
    image = asyncio.run(build_image(request))
    report: dict[str, Any] = {
        "digest": image.digest,
        "base": image.base,
        "config": {
            "digest": image.manifest.config.digest if image.manifest.config else "",
            "size": len(image.config),
        },
        "layers": _layers(image),
        "sbom": image.sbom[0].digest if image.sbom else None,
        "warnings": list(image.warnings),
    }
    if out_dir is not None:
        layout_tag = tag or f"{version}-{revision[:7]}"
        write_oci_layout(image, out_dir, tag=layout_tag)
        report["output"] = {"layout": str(out_dir), "tag": layout_tag}
    if push is not None:
        report["pushed"] = asyncio.run(_push(image, push, username, password))
    _print(report, output_format)


def _print(report: dict[str, Any], output_format: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(report, indent=2))
        return
    for warning in report["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"digest  {report['digest']}")
    click.echo(f"base    {report['base']}")
    for layer in report["layers"]:
        click.echo(f"layer   {layer['digest'][:19]}  {_size(layer['size']):>9}  {layer['createdBy']}")
    if report["sbom"]:
        click.echo(f"sbom    {report['sbom']}")
    if "output" in report:
        click.echo(f"wrote   oci:{report['output']['layout']}:{report['output']['tag']}")
    if "pushed" in report:
        p = report["pushed"]
        what = "pushed" if p["manifest"] else "up to date"
        click.echo(f"{what:<7} {p['image']} ({p['blobs']} blobs, {_size(p['bytes'])})")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


__all__ = ["build"]
