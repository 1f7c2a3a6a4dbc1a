"""Test images for the registry tests: small random OCI images, OCI layouts for skopeo, a raw HTTP pusher.

Kept apart from the builder on purpose: the registry is tested with images whose bytes the test controls.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from ferry.registry.oci import (
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    Descriptor,
    Manifest,
    canonical_json,
)
from ferry.registry.server import RegistrySettings, RunningRegistry, start_registry


@dataclass(frozen=True)
class Image:
    manifest: Manifest
    blobs: dict[str, bytes]  # config and layers by digest

    @property
    def digest(self) -> str:
        return self.manifest.digest


def layer(content: bytes, name: str = "data.bin") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buf.getvalue(), mtime=0)


def make_image(
    seed: str,
    *,
    layer_sizes: tuple[int, ...] = (1000,),
    subject: Manifest | None = None,
    artifact_type: str | None = None,
) -> Image:
    """An OCI image with one config and a layer per size; `seed` makes its digests unique."""
    layers = [layer(seed.encode() + os.urandom(size)) for size in layer_sizes]
    config = canonical_json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{'0' * 64}" for _ in layers]},
        }
    )
    config_desc = Descriptor.of(OCI_CONFIG, config)
    manifest = Manifest.build(
        config_desc,
        [Descriptor.of(OCI_LAYER_GZIP, data) for data in layers],
        subject=subject.descriptor() if subject else None,
        artifact_type=artifact_type,
    )
    blobs = {config_desc.digest: config}
    for data in layers:
        blobs[Descriptor.of(OCI_LAYER_GZIP, data).digest] = data
    return Image(manifest, blobs)


def write_layout(dest: Path, image: Image, tag: str) -> None:
    """An OCI image layout (`oci:<dest>:<tag>` for skopeo)."""
    blob_dir = dest / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    for digest, data in {**image.blobs, image.digest: image.manifest.raw}.items():
        (blob_dir / digest.split(":")[1]).write_bytes(data)
    (dest / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {
        "schemaVersion": 2,
        "manifests": [
            image.manifest.descriptor(annotations={"org.opencontainers.image.ref.name": tag}).to_json()
        ],
    }
    (dest / "index.json").write_text(json.dumps(index))


@asynccontextmanager
async def serving(data_dir: Path, **settings: Any) -> AsyncIterator[Registry]:
    """A registry on a free port with an HTTP session; stopped on exit."""
    running = await start_registry(RegistrySettings(data_dir=data_dir, port=0, **settings))
    try:
        async with aiohttp.ClientSession() as session:
            yield Registry(running.url, session, running)
    finally:
        await running.stop()


@dataclass
class Registry:
    url: str
    session: aiohttp.ClientSession
    running: RunningRegistry

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any, bytes]:
        """(status, headers, body) of one request to `path` (relative to the registry) or an absolute URL."""
        url = path if path.startswith("http") else self.url + path
        async with self.session.request(method, url, allow_redirects=False, **kw) as r:
            return r.status, r.headers, await r.read()

    async def error_code(self, method: str, path: str, **kw: Any) -> tuple[int, str]:
        status, _, body = await self.call(method, path, **kw)
        return status, json.loads(body)["errors"][0]["code"] if body else ""

    async def push(self, repo: str, image: Image, reference: str) -> tuple[int, Any, bytes]:
        for digest, data in image.blobs.items():
            status, _, body = await self.call(
                "POST", f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, data=data
            )
            assert status == 201, body
        return await self.call(
            "PUT",
            f"/v2/{repo}/manifests/{reference}",
            data=image.manifest.raw,
            headers={"Content-Type": image.manifest.media_type},
        )


class Served:
    """A `ferry registry serve` subprocess on a free port (the test stops it)."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ferry",
                "registry",
                "serve",
                "--data-dir",
                str(data_dir),
                "--listen",
                "127.0.0.1:0",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert m, f"no URL in {line!r}; stderr: {self.proc.stderr.read() if self.proc.stderr else ''}"
        self.url = m.group(0)

    def request(
        self, method: str, path: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        url = path if path.startswith("http") else self.url + path
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    @property
    def host_port(self) -> str:
        return self.url.removeprefix("http://")
