"""skopeo (containers/image, a real peer) against `ferry registry serve`: copy, inspect, list-tags, auth, policy."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.registry.server import hash_password
from tests.integration.registry_support import Image, Served, make_image, write_layout

pytestmark = [pytest.mark.e2e]

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([SKOPEO, *args], capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


@pytest.fixture
def servers() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for s in started:
        s.kill9()


@pytest.fixture
def registry(tmp_path: Path, servers: list[Served]) -> Served:
    servers.append(Served(tmp_path / "data"))
    return servers[-1]


def _layout(tmp_path: Path, seed: str, tag: str = "v1") -> tuple[Image, str]:
    image = make_image(seed, layer_sizes=(2000, 500_000))
    write_layout(tmp_path / seed, image, tag)
    return image, f"oci:{tmp_path / seed}:{tag}"


def test_copy_inspect_and_list_tags(tmp_path: Path, registry: Served) -> None:
    image, source = _layout(tmp_path, "app")
    ref = f"docker://{registry.host_port}/shop/order-service:1.0.0-abc1234"
    skopeo("copy", "--dest-tls-verify=false", source, ref)

    raw = skopeo("inspect", "--raw", "--tls-verify=false", ref).stdout.encode()
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == image.digest
    info = json.loads(skopeo("inspect", "--tls-verify=false", ref).stdout)
    assert info["Digest"] == image.digest
    assert info["Labels"] == {"seed": "app"}
    assert len(info["Layers"]) == 2

    # registry → another repository of the same registry, and → an OCI layout on disk
    other = f"docker://{registry.host_port}/shop/copy:1.0.0"
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", ref, other)
    assert json.loads(skopeo("inspect", "--tls-verify=false", other).stdout)["Digest"] == image.digest
    skopeo("copy", "--src-tls-verify=false", other, f"oci:{tmp_path / 'out'}:pulled")
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == image.digest
    for digest in image.blobs:
        blob = (tmp_path / "out" / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()
        assert f"sha256:{hashlib.sha256(blob).hexdigest()}" == digest

    skopeo(
        "copy", "--dest-tls-verify=false", source, f"docker://{registry.host_port}/shop/order-service:1.0.1"
    )
    tags = json.loads(
        skopeo("list-tags", "--tls-verify=false", f"docker://{registry.host_port}/shop/order-service").stdout
    )
    assert tags["Tags"] == ["1.0.0-abc1234", "1.0.1"]


def test_latest_is_refused_with_the_message(tmp_path: Path, registry: Served) -> None:
    _, source = _layout(tmp_path, "app")
    proc = skopeo(
        "copy",
        "--dest-tls-verify=false",
        source,
        f"docker://{registry.host_port}/demo-api:latest",
        check=False,
    )
    assert proc.returncode != 0
    assert (
        'tag "latest" is refused by this registry: tags must be immutable (use <version>-<sha7>)'
        in proc.stderr.replace('\\"', '"')  # logrus escapes the quotes
    )
    tags = skopeo("list-tags", "--tls-verify=false", f"docker://{registry.host_port}/demo-api", check=False)
    assert tags.returncode != 0 or json.loads(tags.stdout)["Tags"] == []


def test_moving_a_tag_is_refused_and_the_tag_stays(tmp_path: Path, registry: Served) -> None:
    first, source1 = _layout(tmp_path, "one")
    second, source2 = _layout(tmp_path, "two")
    ref = f"docker://{registry.host_port}/demo-api:1.0.0"
    skopeo("copy", "--dest-tls-verify=false", source1, ref)
    skopeo("copy", "--dest-tls-verify=false", source1, ref)  # the same digest again is fine
    proc = skopeo("copy", "--dest-tls-verify=false", source2, ref, check=False)
    assert proc.returncode != 0
    assert (
        f"tag demo-api:1.0.0 is immutable: it points to {first.digest} and cannot be moved to {second.digest}"
        in (proc.stderr)
    )
    assert json.loads(skopeo("inspect", "--tls-verify=false", ref).stdout)["Digest"] == first.digest


def test_creds_against_an_auth_enabled_registry(tmp_path: Path, servers: list[Served]) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"alice:{hash_password('s3cret', iterations=1000)}\n")
    servers.append(Served(tmp_path / "data", "--htpasswd", str(htpasswd)))
    registry = servers[-1]
    image, source = _layout(tmp_path, "app")
    ref = f"docker://{registry.host_port}/shop/private:1.0.0"

    denied = skopeo("copy", "--dest-tls-verify=false", source, ref, check=False)
    assert denied.returncode != 0 and "unauthorized" in denied.stderr.lower()
    wrong = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:wrong", source, ref, check=False)
    assert wrong.returncode != 0

    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret", source, ref)
    info = json.loads(skopeo("inspect", "--tls-verify=false", "--creds", "alice:s3cret", ref).stdout)
    assert info["Digest"] == image.digest
    assert skopeo("inspect", "--tls-verify=false", ref, check=False).returncode != 0
    # a cross-repository copy with credentials on both sides (exercises mount with a bearer token)
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--src-creds",
        "alice:s3cret",
        "--dest-creds",
        "alice:s3cret",
        ref,
        f"docker://{registry.host_port}/shop/other:1.0.0",
    )
    tags = skopeo(
        "list-tags",
        "--tls-verify=false",
        "--creds",
        "alice:s3cret",
        f"docker://{registry.host_port}/shop/other",
    )
    assert json.loads(tags.stdout)["Tags"] == ["1.0.0"]
