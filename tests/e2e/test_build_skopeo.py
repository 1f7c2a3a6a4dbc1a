"""End-to-end: ferry-built images read by real peers: skopeo (OCI layout and registry) and Debian's docker-registry.

- `write_oci_layout` output is accepted by `skopeo inspect oci:<dir>:<tag>` (labels, layers, config) and by
  `skopeo copy`, which keeps the digest;
- `ferry build --push` sends the image and its SBOM to docker-registry (CNCF Distribution 2.8, started here as a
  direct child on a free 127.0.0.1 port and stopped by the fixture); skopeo reads it back with the same digest;
  pushing the same build again sends nothing;
- `FROM <that registry>/<image>` reuses the base's layers by digest through the real client.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.build import BuildRequest, build_image, write_oci_layout
from ferry.registry.client import RegistryClient

pytestmark = pytest.mark.e2e

SKOPEO = "/usr/bin/skopeo"
REVISION = "0123456789abcdef0123456789abcdef01234567"
CREATED = "2026-01-31T12:00:00Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """Debian's docker-registry on 127.0.0.1:<free port>; yields host:port."""
    root = tmp_path / "registry"
    root.mkdir()
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: ferry-e2e\n"
    )
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen(
        ["/usr/bin/docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"docker-registry did not start: {(root / 'registry.log').read_text()}"
                    )
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _skopeo(*args: str) -> dict[str, object]:
    done = subprocess.run([SKOPEO, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _service(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text("print('hello')\n")
    (root / "Dockerfile").write_text(
        'FROM host:python3.11\nWORKDIR /app\nCOPY app.py .\nEXPOSE 8000\nCMD ["python3", "app.py"]\n'
    )
    return root


def _request(context: Path, **extra: object) -> BuildRequest:
    return BuildRequest(
        context=context, version="1.0.0", revision=REVISION, created=CREATED,
        source="https://example.com/shop.git", **extra,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_skopeo_inspects_and_copies_the_oci_layout(tmp_path: Path) -> None:
    image = await build_image(_request(_service(tmp_path / "svc")))
    layout = tmp_path / "layout"
    write_oci_layout(image, layout, tag="1.0.0-0123456")
    info = _skopeo("inspect", f"oci:{layout}:1.0.0-0123456")
    assert info["Digest"] == image.digest
    labels = info["Labels"]
    assert labels == {  # type: ignore[comparison-overlap]
        "dev.ferry.image.base": "host",
        "dev.ferry.image.runtime": "python3.11",
        "org.opencontainers.image.created": CREATED,
        "org.opencontainers.image.revision": REVISION,
        "org.opencontainers.image.source": "https://example.com/shop.git",
        "org.opencontainers.image.version": "1.0.0",
    }
    assert info["Layers"] == [d.digest for d in image.manifest.layers]
    config = _skopeo("inspect", "--config", f"oci:{layout}:1.0.0-0123456")
    assert config["config"]["Cmd"] == ["python3", "app.py"]  # type: ignore[index]
    assert config["config"]["ExposedPorts"] == {"8000/tcp": {}}  # type: ignore[index]
    copied = tmp_path / "copied"
    subprocess.run(
        [SKOPEO, "copy", "--preserve-digests", f"oci:{layout}:1.0.0-0123456", f"oci:{copied}:again"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    assert _skopeo("inspect", f"oci:{copied}:again")["Digest"] == image.digest


def test_ferry_build_push_to_docker_registry_then_again_pushes_nothing(tmp_path: Path, registry: str) -> None:
    svc = _service(tmp_path / "svc")
    target = f"{registry}/shop/api:1.0.0-0123456"
    argv = [
        sys.executable, "-m", "ferry", "build", str(svc), "--version", "1.0.0", "--revision", REVISION,
        "--created", CREATED, "--push", target, "--output-format", "json", "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    first = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"}
    )
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["pushed"]["manifest"] is True and report["pushed"]["blobs"] >= 2
    info = _skopeo("inspect", "--tls-verify=false", f"docker://{target}")
    assert info["Digest"] == report["digest"]
    assert info["Labels"]["org.opencontainers.image.revision"] == REVISION  # type: ignore[index]
    tags = _skopeo("list-tags", "--tls-verify=false", f"docker://{registry}/shop/api")["Tags"]
    sbom_tag = (
        "sha256-" + report["digest"].split(":")[1]
    )  # the referrers tag schema (no referrers API in 2.8)
    assert sorted(tags) == sorted(["1.0.0-0123456", sbom_tag])  # type: ignore[arg-type]
    again = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    pushed = json.loads(again.stdout)["pushed"]
    assert (pushed["manifest"], pushed["blobs"], pushed["bytes"]) == (False, 0, 0)


async def test_from_a_registry_image_reuses_its_layers_by_digest(tmp_path: Path, registry: str) -> None:
    base_ctx = tmp_path / "base"
    base_ctx.mkdir()
    (base_ctx / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    (base_ctx / "Dockerfile").write_text("FROM scratch\nCOPY tool.sh /usr/local/bin/tool\nENV TOOL=1\n")
    base = await build_image(_request(base_ctx))
    async with RegistryClient(registry) as client:
        await client.push_image("base/tool", "1.0.0", base.manifest, base.blobs)
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("print(1)\n")
    (app / "Dockerfile").write_text(f"FROM {registry}/base/tool:1.0.0\nCOPY main.py /app/\n")
    image = await build_image(_request(app, cache_dir=tmp_path / "cache"))
    assert image.base == f"{registry}/base/tool:1.0.0@{base.digest}"
    assert image.manifest.layers[0].digest == base.manifest.layers[0].digest
    layout = tmp_path / "layout"
    write_oci_layout(image, layout, tag="v1")
    info = _skopeo("inspect", "--config", f"oci:{layout}:v1")
    assert "TOOL=1" in info["config"]["Env"]  # type: ignore[index]
    assert len(info["rootfs"]["diff_ids"]) == 2  # type: ignore[index]
