"""End-to-end: an image ferry builds runs on a real OCI runtime, runc (Debian package, installed by `make test`).

The image is `FROM scratch` with a static busybox (Debian's busybox-static) and the config a Dockerfile gives it
(ENTRYPOINT, CMD, ENV, WORKDIR). It is written as an OCI image layout with `write_oci_layout`, read back from that
layout the way a runtime's image tool would (index → manifest → config and layers, every blob checked against its
digest), unpacked into a rootfs in layer order, and turned into a runtime bundle: `runc spec` for the defaults, then
the image config's Entrypoint + Cmd, Env and WorkingDir, and `terminal: false` (runc cannot allocate a tty here).
`runc run` must print what the image's CMD says, and exit with the container's status.

runc keeps its state under a directory of this test (`runc --root`), and every container is `runc delete -f`-ed.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ferry.build import BuildRequest, build_image, write_oci_layout

pytestmark = pytest.mark.e2e

RUNC = shutil.which("runc") or "/usr/sbin/runc"
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static: one static binary, no libc needed in the rootfs
REVISION = "0123456789abcdef0123456789abcdef01234567"
CREATED = "2026-01-31T12:00:00Z"
TAG = "1.0.0-0123456"
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
ENV GREETING=ferry
WORKDIR /work
ENTRYPOINT ["/bin/busybox", "sh", "-c"]
CMD ["echo hello from $GREETING"]
"""
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass
class Image:
    manifest: dict[str, Any]
    config: dict[str, Any]
    layers: list[Path]  # compressed layer blobs, in order


def read_blob(layout: Path, digest: str) -> bytes:
    algorithm, _, hex_digest = digest.partition(":")
    assert algorithm == "sha256", digest
    data = (layout / "blobs" / algorithm / hex_digest).read_bytes()
    assert hashlib.sha256(data).hexdigest() == hex_digest, f"blob {digest} does not match its digest"
    return data


def read_layout(layout: Path, tag: str) -> Image:
    """The image tagged `tag` in an OCI layout, every blob verified, each layer's diff_id checked."""
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    entries = [m for m in index["manifests"] if (m.get("annotations") or {}).get(REF_NAME) == tag]
    assert len(entries) == 1, index
    manifest = json.loads(read_blob(layout, entries[0]["digest"]))
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    config = json.loads(read_blob(layout, manifest["config"]["digest"]))
    layers = []
    for descriptor, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True):
        assert descriptor["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
        blob = read_blob(layout, descriptor["digest"])
        assert len(blob) == descriptor["size"]
        assert "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest() == diff_id
        layers.append(layout / "blobs" / "sha256" / descriptor["digest"].partition(":")[2])
    return Image(manifest, config, layers)


def unpack(image: Image, rootfs: Path) -> None:
    """Extract the layers in order (whiteouts are not handled: this image has one layer and none)."""
    rootfs.mkdir()
    for blob in image.layers:
        with tarfile.open(blob, mode="r:gz") as tar:
            names = tar.getnames()
            assert not any(Path(n).name.startswith(".wh.") for n in names), names
            tar.extractall(rootfs, filter="tar")


def make_bundle(bundle: Path, image: Image, *, args: list[str] | None = None) -> None:
    """`runc spec`'s defaults with the image's process: args, env, cwd; no terminal; a writable rootfs."""
    subprocess.run([RUNC, "spec", "--bundle", str(bundle)], check=True, capture_output=True, timeout=30)
    spec = json.loads((bundle / "config.json").read_text())
    cfg = image.config["config"]
    process = spec["process"]
    process["args"] = args if args is not None else [*cfg.get("Entrypoint", []), *cfg.get("Cmd", [])]
    process["env"] = list(cfg.get("Env", []))
    process["cwd"] = cfg.get("WorkingDir") or "/"
    process["terminal"] = False
    spec["root"] = {"path": "rootfs", "readonly": False}
    spec["hostname"] = "ferry-e2e"
    (bundle / "config.json").write_text(json.dumps(spec, indent=2))


@pytest.fixture
def runc_root(tmp_path: Path) -> Path:
    root = tmp_path / "runc-state"
    root.mkdir()
    return root


@pytest.fixture
def image(tmp_path: Path) -> Image:
    """The busybox image built by ferry's builder, written as an OCI layout and read back from it."""
    assert BUSYBOX.is_file(), f"{BUSYBOX} is missing: install Debian's busybox-static (make test does)"
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    shutil.copy2(BUSYBOX, context / "busybox")
    built = asyncio.run(
        build_image(
            BuildRequest(
                context=context,
                version="1.0.0",
                revision=REVISION,
                created=CREATED,
                cache_dir=tmp_path / "cache",
            )
        )
    )
    layout = tmp_path / "layout"
    write_oci_layout(built, layout, tag=TAG)
    image = read_layout(layout, TAG)
    assert image.manifest["config"]["digest"] == built.manifest.config.digest  # type: ignore[union-attr]
    return image


def run_container(
    tmp_path: Path, runc_root: Path, image: Image, *, args: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    bundle = tmp_path / f"bundle-{uuid.uuid4().hex[:8]}"
    bundle.mkdir()
    unpack(image, bundle / "rootfs")
    make_bundle(bundle, image, args=args)
    container_id = f"ferry-e2e-{uuid.uuid4().hex[:12]}"
    try:
        return subprocess.run(
            [RUNC, "--root", str(runc_root), "run", "--bundle", str(bundle), container_id],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    finally:
        subprocess.run(
            [RUNC, "--root", str(runc_root), "delete", "-f", container_id],
            capture_output=True,
            timeout=30,
        )


@pytest.fixture(autouse=True)
def no_leftover_containers(runc_root: Path) -> Iterator[None]:
    yield
    listed = subprocess.run(
        [RUNC, "--root", str(runc_root), "list", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(listed.stdout or "null") in (None, []), listed.stdout


def test_image_config_is_what_the_dockerfile_says(image: Image) -> None:
    cfg = image.config["config"]
    assert cfg["Entrypoint"] == ["/bin/busybox", "sh", "-c"]
    assert cfg["Cmd"] == ["echo hello from $GREETING"]
    assert "GREETING=ferry" in cfg["Env"]
    assert cfg["WorkingDir"] == "/work"
    assert (image.config["os"], len(image.layers)) == ("linux", 1)


def test_busybox_image_runs_on_runc(tmp_path: Path, runc_root: Path, image: Image) -> None:
    done = run_container(tmp_path, runc_root, image)
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello from ferry\n", "")


def test_runc_runs_the_image_in_its_working_dir_and_reports_its_exit_status(
    tmp_path: Path, runc_root: Path, image: Image
) -> None:
    entrypoint = image.config["config"]["Entrypoint"]
    done = run_container(tmp_path, runc_root, image, args=[*entrypoint, 'pwd; echo "$GREETING"; exit 3'])
    assert (done.returncode, done.stdout, done.stderr) == (3, "/work\nferry\n", "")
