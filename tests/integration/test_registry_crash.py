"""Durability: what a `ferry registry serve` process acknowledged survives `kill -9` and a restart."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.registry.oci import OCI_MANIFEST, digest_of
from tests.integration.registry_support import Served, make_image


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Served]]:
    servers: list[Served] = []
    yield servers
    for s in servers:
        if s.proc.poll() is None:
            s.kill9()


def test_acknowledged_push_survives_kill_9(tmp_path: Path, started: list[Served]) -> None:
    data_dir = tmp_path / "data"
    first = Served(data_dir)
    started.append(first)
    image = make_image("crash", layer_sizes=(1000, 300_000))
    for digest, data in image.blobs.items():
        status, _, _ = first.request("POST", f"/v2/shop/api/blobs/uploads/?digest={digest}", data)
        assert status == 201
    status, _, _ = first.request(
        "PUT", "/v2/shop/api/manifests/1.0.0", image.manifest.raw, {"Content-Type": OCI_MANIFEST}
    )
    assert status == 201
    # an acknowledged chunk of an unfinished upload too
    status, headers, _ = first.request("POST", "/v2/shop/api/blobs/uploads/", b"")
    location = headers["Location"]
    status, headers, _ = first.request("PATCH", location, b"x" * 4096, {"Content-Range": "0-4095"})
    assert status == 202
    first.kill9()

    second = Served(data_dir)  # the lock of the killed process is gone with it
    started.append(second)
    status, headers, body = second.request(
        "GET", "/v2/shop/api/manifests/1.0.0", headers={"Accept": OCI_MANIFEST}
    )
    assert status == 200 and body == image.manifest.raw and headers["Docker-Content-Digest"] == image.digest
    for digest, data in image.blobs.items():
        status, _, body = second.request("GET", f"/v2/shop/api/blobs/{digest}")
        assert status == 200 and body == data and digest_of(body) == digest
    status, headers, _ = second.request("GET", location.replace(first.url, second.url))
    assert status == 204 and headers["Range"] == "0-4095"
    status, _, body = second.request("GET", "/v2/shop/api/tags/list")
    assert json.loads(body)["tags"] == ["1.0.0"]
    second.kill9()


def test_a_second_registry_on_the_same_directory_is_refused(tmp_path: Path, started: list[Served]) -> None:
    started.append(Served(tmp_path / "data"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferry",
            "registry",
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--listen",
            "127.0.0.1:0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: cannot start the registry:") and "Traceback" not in proc.stderr
