"""End-to-end: a host-base image (``FROM host:python3.11`` / ``host:node20``, built by ferry.build) runs under
runc on the host's interpreters, bound read-only into the container; the image carries only the app."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ferry.build import BuildRequest, build_image, write_oci_layout
from ferry.cluster.kubelet.images import PulledImage
from ferry.cluster.kubelet.layers import apply_layer
from ferry.cluster.kubelet.runtime import RuncRuntime, parse_line
from ferry.registry.oci import parse_reference
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, run

pytestmark = pytest.mark.e2e

# the fixtures this module uses, from the support module
busybox_image = support.busybox_image
runc_runtime = support.runc_runtime
spec_for = support.spec_for

PYTHON_APP = """\
import os, sys
print("python", sys.version_info[:2] >= (3, 11), os.getcwd(), os.environ["GREETING"])
try:
    open("/usr/ferry-test", "w")
except OSError as e:
    print("usr", e.strerror)
"""


def _build(tmp_path: Path, dockerfile: str, files: dict[str, str]) -> PulledImage:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (context / name).write_text(text)
    built = asyncio.run(
        build_image(
            BuildRequest(context=context, version="1.0.0", revision="1" * 40, created="2026-01-31T12:00:00Z")
        )
    )
    layout = tmp_path / "layout"
    write_oci_layout(built, layout, tag="1.0.0-1111111")
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    for layer in built.manifest.layers:
        apply_layer(rootfs, layout / "blobs" / "sha256" / layer.digest.split(":")[1], label=layer.digest)
    ref = "127.0.0.1:5000/e2e/host-app:1.0.0-1111111"
    return PulledImage(ref, parse_reference(ref), built.manifest.digest, json.loads(built.config), rootfs)


def _run_image(runtime: RuncRuntime, spec_for: SpecFor, img: PulledImage) -> tuple[int, list[str]]:
    async def go() -> tuple[int, list[str]]:
        spec = spec_for(image=img, read_only_root_filesystem=True)
        cid = await runtime.create(spec)
        await runtime.start(cid)
        status = await runtime.wait(cid)
        await runtime.delete(cid)
        return status.exit_code, [
            parse_line(x).content.decode() for x in spec.log_path.read_bytes().splitlines()
        ]

    result: tuple[int, list[str]] = run(go())
    return result


def test_python_app_on_the_host_python(runc_runtime: RuncRuntime, spec_for: SpecFor, tmp_path: Path) -> None:
    img = _build(
        tmp_path,
        'FROM host:python3.11\nENV GREETING=hello\nWORKDIR /app\nCOPY main.py /app/main.py\nCMD ["python3", "/app/main.py"]\n',
        {"main.py": PYTHON_APP},
    )
    assert img.host_base
    assert not (img.rootfs / "usr").exists()  # the image holds only the app
    assert _run_image(runc_runtime, spec_for, img) == (
        0,
        ["python True /app hello", "usr Read-only file system"],
    )


def test_node_app_on_the_host_node(runc_runtime: RuncRuntime, spec_for: SpecFor, tmp_path: Path) -> None:
    img = _build(
        tmp_path,
        'FROM host:node20\nCOPY server.js /app/server.js\nCMD ["node", "/app/server.js"]\n',
        {"server.js": 'console.log("node", process.version.startsWith("v"), require("os").hostname())\n'},
    )
    assert _run_image(runc_runtime, spec_for, img) == (0, ["node true web-1"])
