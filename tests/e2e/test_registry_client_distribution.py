"""End-to-end: ferry's registry client against Debian's docker-registry (CNCF Distribution 2.8), a real peer.

Each test starts `/usr/bin/docker-registry serve <config>` as a direct child (so it can be reaped: started from a
subshell it lingers `<defunct>`) on a free 127.0.0.1 port with filesystem storage in tmp_path and deletes
enabled, and stops it at the end. The registry's access log (its stdout) is the independent witness of what the
client sent: "pushing again uploads nothing" is checked there, not on the client's own PushResult alone.

The htpasswd variant makes its bcrypt entry with the stdlib `crypt` module (libxcrypt's `$2b$`), which Python
3.11 still ships; no dependency is added.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ferry.registry.client import NotFound, RegistryClient, Unauthorized
from ferry.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, Descriptor, Manifest, canonical_json, digest_of

pytestmark = pytest.mark.e2e

DOCKER_REGISTRY = "/usr/bin/docker-registry"
BIG = 20 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bcrypt_htpasswd(user: str, password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5))}\n"


@dataclass
class Distribution:
    host: str
    log: Path

    def access_lines(self, method: str, fragment: str) -> list[str]:
        return [
            line
            for line in self.log.read_text(errors="replace").splitlines()
            if f'"{method} ' in line and fragment in line
        ]


def start_distribution(tmp_path: Path, *, htpasswd: str | None = None) -> Iterator[Distribution]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    auth = ""
    if htpasswd is not None:
        (tmp_path / "htpasswd").write_text(htpasswd)
        auth = f"auth:\n  htpasswd:\n    realm: ferry-test\n    path: {tmp_path / 'htpasswd'}\n"
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: ferry-e2e\n" + auth
    )
    log = tmp_path / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([DOCKER_REGISTRY, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # 401 with auth: it answers
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"docker-registry did not start: {log.read_text()}") from None
                time.sleep(0.05)
        yield Distribution(f"127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[Distribution]:
    yield from start_distribution(tmp_path / "registry")


@pytest.fixture
def distribution_htpasswd(tmp_path: Path) -> Iterator[Distribution]:
    yield from start_distribution(tmp_path / "registry", htpasswd=bcrypt_htpasswd("ci", "s3cret"))


@dataclass
class Image:
    manifest: Manifest
    blobs: dict[str, bytes | Path]
    big: Path


def make_image(tmp_path: Path) -> Image:
    config = canonical_json({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/app"]}})
    small = os.urandom(64 * 1024)
    big = tmp_path / "big-layer.tar.gz"
    big.write_bytes(os.urandom(BIG))
    big_digest = digest_of(big.read_bytes())
    manifest = Manifest.build(
        Descriptor.of(OCI_CONFIG, config),
        [Descriptor.of(OCI_LAYER_GZIP, small), Descriptor(OCI_LAYER_GZIP, big_digest, BIG)],
    )
    return Image(manifest, {digest_of(config): config, digest_of(small): small, big_digest: big}, big)


async def test_push_pull_list_head_repush_delete(distribution: Distribution, tmp_path: Path) -> None:
    image = make_image(tmp_path)
    async with RegistryClient(distribution.host) as client:
        first = await client.push_image("shop/api", "1.0.0-abc1234", image.manifest, image.blobs)
        assert (first.blobs_pushed, first.manifest_pushed) == (3, True)
        assert first.bytes_pushed == sum(
            len(b) if isinstance(b, bytes) else BIG for b in image.blobs.values()
        )
        # the 20 MB layer went through the chunked path: several PATCHes on the registry's side
        assert len(distribution.access_lines("PATCH", "/v2/shop/api/blobs/uploads/")) == 3

        layout = tmp_path / "pulled"
        pulled = await client.pull_image("shop/api", "1.0.0-abc1234", layout)
        assert pulled.raw == image.manifest.raw and pulled.digest == image.manifest.digest
        for digest, source in image.blobs.items():
            expected = source if isinstance(source, bytes) else source.read_bytes()
            assert (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes() == expected

        assert await client.list_tags("shop/api") == ["1.0.0-abc1234"]
        head = await client.head_manifest("shop/api", "1.0.0-abc1234")
        assert head == image.manifest.descriptor()
        assert await client.head_manifest("shop/api", "9.9.9") is None

        uploads_before = len(distribution.access_lines("POST", "/blobs/uploads/"))
        again = await client.push_image("shop/api", "1.0.0-abc1234", image.manifest, image.blobs)
        assert (again.blobs_pushed, again.bytes_pushed, again.manifest_pushed) == (0, 0, False)
        assert len(distribution.access_lines("POST", "/blobs/uploads/")) == uploads_before
        assert len(distribution.access_lines("PUT", "/manifests/")) == 1

        await client.delete_manifest("shop/api", image.manifest.digest)
        assert await client.head_manifest("shop/api", image.manifest.digest) is None
        with pytest.raises(NotFound, match="MANIFEST_UNKNOWN"):
            await client.get_manifest("shop/api", "1.0.0-abc1234")


async def test_tags_and_blobs_mounted_across_repositories(distribution: Distribution) -> None:
    config = canonical_json({"os": "linux"})
    layer = os.urandom(4096)
    manifest = Manifest.build(Descriptor.of(OCI_CONFIG, config), [Descriptor.of(OCI_LAYER_GZIP, layer)])
    blobs: dict[str, bytes | Path] = {digest_of(config): config, digest_of(layer): layer}
    async with RegistryClient(distribution.host) as client:
        names = sorted(f"1.0.{i}" for i in range(5))
        for name in names:
            await client.push_image("shop/base", name, manifest, blobs)
        # Distribution 2.8 ignores `n` on tags/list (pagination came with v3) and answers in no particular
        # order; the client follows Link pages when there are some (see the unit tests' fake registry).
        assert sorted(await client.list_tags("shop/base", page_size=2)) == names

        result = await client.push_image("shop/web", "1.0.0", manifest, blobs, mount_from="shop/base")
        assert (result.blobs_pushed, result.blobs_skipped, result.bytes_pushed) == (0, 2, 0)
        assert len(distribution.access_lines("POST", "/v2/shop/web/blobs/uploads/?mount=")) == 2
        assert await client.pull_blob("shop/web", digest_of(layer)) == layer


async def test_htpasswd_basic_auth(distribution_htpasswd: Distribution, tmp_path: Path) -> None:
    config = canonical_json({"os": "linux"})
    manifest = Manifest.build(Descriptor.of(OCI_CONFIG, config), [])
    async with RegistryClient(distribution_htpasswd.host, username="ci", password="s3cret") as client:
        await client.push_image("shop/api", "1.0.0", manifest, {digest_of(config): config})
        assert (await client.get_manifest("shop/api", "1.0.0")).raw == manifest.raw
    async with RegistryClient(distribution_htpasswd.host, username="ci", password="wrong") as client:
        with pytest.raises(Unauthorized, match=f"registry {distribution_htpasswd.host}: UNAUTHORIZED"):
            await client.list_tags("shop/api")
    async with RegistryClient(distribution_htpasswd.host) as client:
        with pytest.raises(Unauthorized):
            await client.ping()


class CuttingProxy:
    """A TCP proxy that, once armed, cuts the connection `after` bytes into the next PATCH request."""

    def __init__(self, upstream_port: int, after: int) -> None:
        self.upstream_port = upstream_port
        self.after = after
        self.armed = True
        self.cuts = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, watch: bool) -> None:
            budget: int | None = None
            try:
                while data := await src.read(65536):
                    if watch and self.armed and budget is None and b"PATCH /v2/" in data:
                        budget = self.after + data.index(b"PATCH /v2/")
                    if budget is not None:
                        dst.write(data[:budget])
                        budget -= min(budget, len(data))
                        if budget == 0:
                            self.armed = False
                            self.cuts += 1
                            await dst.drain()
                            break
                        continue
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                for w in (dst, writer, up_writer):
                    w.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


@pytest.fixture
async def cutting_proxy(distribution: Distribution) -> AsyncIterator[tuple[CuttingProxy, str]]:
    proxy = CuttingProxy(int(distribution.host.rsplit(":", 1)[1]), after=3 * 1024 * 1024)
    port = await proxy.start()
    try:
        yield proxy, f"127.0.0.1:{port}"
    finally:
        await proxy.stop()


async def test_a_chunked_upload_cut_mid_patch_still_arrives_intact(
    distribution: Distribution, cutting_proxy: tuple[CuttingProxy, str], tmp_path: Path
) -> None:
    proxy, host = cutting_proxy
    image = make_image(tmp_path)
    async with RegistryClient(host, insecure=True) as client:
        result = await client.push_image("shop/api", "1.0.0", image.manifest, image.blobs)
    assert proxy.cuts == 1
    assert result.manifest_pushed
    async with RegistryClient(distribution.host) as direct:
        assert await direct.pull_blob("shop/api", image.manifest.layers[1].digest) == image.big.read_bytes()
