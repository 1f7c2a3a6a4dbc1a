"""End-to-end: bad input to `ferry build --push` and `ferry ci` (real processes) against the embedded registry.

Issue 5's "Bad input" line: a broken Dockerfile line, a missing COPY source, an unknown base image, a registry
that is down, a digest mismatch on upload. Each must give a non-zero exit, exactly one line on stderr naming the
problem (no traceback), and no tag in the registry, read back over HTTP (`/v2/<repo>/tags/list`). The digest
mismatch is made by a TCP proxy in front of the registry that flips one byte of every blob upload body, so the
registry itself answers DIGEST_INVALID. Also the immutable-tag line: a second, different image pushed to
`demo-api:1.0.0` is refused and the tag keeps its first digest; `:latest` is refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ferry.registry.server import RegistrySettings, start_registry

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REVISION = "0123456789abcdef0123456789abcdef01234567"
CREATED = "2026-01-31T12:00:00Z"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "e2e",
    "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
    "GIT_COMMITTER_NAME": "e2e",
    "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- a byte-flipping proxy ------------------------------------------------------------------------------------


@dataclass
class FlippingProxy:
    """A TCP proxy that parses HTTP/1.1 requests (Content-Length framing, keep-alive) on their way to the
    registry and flips one byte in the body of every blob upload request whose method is in `methods`.
    Responses are piped back untouched. `flipped` records (method, path, body length) of each corruption,
    `uploads` the method of every upload request that went through."""

    upstream_port: int
    methods: tuple[str, ...] = ("PUT", "PATCH")
    flipped: list[tuple[str, str, int]] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)  # the method of every blob upload request seen
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        me = asyncio.current_task()
        assert me is not None
        self._tasks.add(me)
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        back = asyncio.create_task(self._pipe(up_r, client_w))
        self._tasks.add(back)
        try:
            while True:
                try:
                    head = await client_r.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.split(b"\r\n")
                method, target, _ = lines[0].decode("latin-1").split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    # the proxy only understands Content-Length framing: fail loudly on anything else
                    assert name != b"transfer-encoding", f"unexpected chunked request body: {lines[0]!r}"
                body = await client_r.readexactly(length) if length else b""
                path = target.split("?", 1)[0]
                if "/blobs/uploads/" in path:
                    self.uploads.append(method)
                if method in self.methods and "/blobs/uploads/" in path and body:
                    corrupted = bytearray(body)
                    corrupted[len(corrupted) // 2] ^= 0x01
                    body = bytes(corrupted)
                    self.flipped.append((method, path, len(body)))
                up_w.write(head + body)
                await up_w.drain()
        finally:
            up_w.close()
            await asyncio.gather(back, return_exceptions=True)
            client_w.close()
            self._tasks.discard(back)
            self._tasks.discard(me)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


# --- the registry, in a thread of its own -------------------------------------------------------------------


@dataclass
class Registry:
    host_port: str
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def get(self, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(
            f"http://{self.host_port}{path}", method=method, headers={"Accept": OCI_MANIFEST}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def tags(self, repo: str) -> list[str] | None:
        """The repository's tags, or None when the registry does not know the repository (404 NAME_UNKNOWN)."""
        status, _, body = self.get(f"/v2/{repo}/tags/list")
        if status == 404:
            assert json.loads(body)["errors"][0]["code"] == "NAME_UNKNOWN", body
            return None
        assert status == 200, (status, body)
        tags: list[str] = json.loads(body)["tags"] or []
        return tags

    def manifest_digest(self, repo: str, reference: str) -> str | None:
        status, headers, _ = self.get(f"/v2/{repo}/manifests/{reference}", method="HEAD")
        return headers["Docker-Content-Digest"] if status == 200 else None

    def has_blob(self, repo: str, digest: str) -> bool:
        status, _, _ = self.get(f"/v2/{repo}/blobs/{digest}", method="HEAD")
        assert status in (200, 404), status
        return status == 200


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """The embedded registry on a free 127.0.0.1 port, served by an event loop in a background thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    settings = RegistrySettings(data_dir=tmp_path / "registry-data", port=0)
    running = asyncio.run_coroutine_threadsafe(start_registry(settings), loop).result(30)
    try:
        yield Registry(running.host_port, loop)
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


# --- the CLI ----------------------------------------------------------------------------------------------------


def ferry(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FERRY_DEBUG"} | GIT_ENV
    return subprocess.run(
        [sys.executable, "-m", "ferry", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


def ferry_build(context: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return ferry(
        "build",
        str(context),
        "--version",
        "1.0.0",
        "--revision",
        REVISION,
        "--created",
        CREATED,
        "--cache-dir",
        str(context.parent / "cache"),
        *args,
    )


def built_digests(context: Path) -> dict[str, Any]:
    """Build without pushing: the image's digest, config and layer digests (reproducible, so what a push sends)."""
    done = ferry_build(context, "--output-format", "json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The process failed with exactly one line on stderr, `error: ...`, and no traceback; that line."""
    assert done.returncode != 0, f"expected a failure; stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{done.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def make_context(tmp_path: Path, dockerfile: str, files: dict[str, bytes] | None = None) -> Path:
    context = tmp_path / "svc"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    for name, data in (files or {"hello.txt": b"hello\n"}).items():
        (context / name).write_bytes(data)
    return context


# --- the tests ----------------------------------------------------------------------------------------------------


def test_a_good_build_is_pushed_and_listed(tmp_path: Path, registry: Registry) -> None:
    """The control: the same setup with valid input exits 0 and the tag shows up, so the checks below can fail."""
    context = make_context(tmp_path, 'FROM scratch\nCOPY hello.txt /srv/\nCMD ["/srv/hello.txt"]\n')
    assert registry.tags("shop/svc") is None
    done = ferry_build(context, "--push", f"{registry.host_port}/shop/svc:1.0.0-0123456")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert registry.tags("shop/svc") == ["1.0.0-0123456"]


BAD_DOCKERFILES = {
    "copy-without-arguments": (
        "FROM scratch\nCOPY\n",
        ["Dockerfile:2:", "COPY"],
    ),
    "unknown-instruction": (
        "FROM scratch\nFROBNICATE hello.txt /\n",
        ["Dockerfile:2:", "unknown instruction", "FROBNICATE"],
    ),
    "run-line": (
        "FROM scratch\nCOPY hello.txt /\nRUN echo hi\n",
        ["Dockerfile:3:", "RUN"],
    ),
    "unterminated-quote": (
        'FROM scratch\nENV GREETING="hello\n',
        ["Dockerfile:2:"],
    ),
    "missing-copy-source": (
        "FROM scratch\nCOPY hello.txt /srv/\nCOPY missing.txt /srv/\n",
        ["Dockerfile:3:", "missing.txt"],
    ),
    "copy-wildcard-matching-nothing": (
        "FROM scratch\nCOPY *.nothing /srv/\n",
        ["Dockerfile:2:", "*.nothing"],
    ),
    "copy-source-outside-context": (
        "FROM scratch\nCOPY ../outside.txt /srv/\n",
        ["Dockerfile:2:", "outside.txt"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCKERFILES))
def test_broken_dockerfile_or_missing_copy_source(tmp_path: Path, registry: Registry, case: str) -> None:
    dockerfile, expected = BAD_DOCKERFILES[case]
    (tmp_path / "outside.txt").write_text("not in the context\n")
    context = make_context(tmp_path, dockerfile)
    layout = tmp_path / "layout"
    done = ferry_build(context, "--output", f"oci:{layout}", "--push", f"{registry.host_port}/shop/svc:t1")
    line = one_error_line(done)
    for part in expected:
        assert part in line, line
    assert done.returncode == 1
    assert done.stdout == ""
    assert registry.tags("shop/svc") is None
    assert not layout.exists(), "a failed build wrote an OCI layout"


def test_unknown_base_image_in_the_registry(tmp_path: Path, registry: Registry) -> None:
    base = f"{registry.host_port}/nope/base:1"
    context = make_context(tmp_path, f"FROM {base}\nCOPY hello.txt /srv/\n")
    done = ferry_build(context, "--push", f"{registry.host_port}/shop/svc:t1")
    line = one_error_line(done)
    # the base is named (not the FROM line: tests/unit/test_build_bases.py pins this form)
    assert line.startswith(f"error: unknown base image '{base}': "), line
    assert "NAME_UNKNOWN" in line, line
    assert registry.tags("shop/svc") is None
    assert registry.tags("nope/base") is None


def test_unknown_tag_of_a_known_base_image(tmp_path: Path, registry: Registry) -> None:
    base_context = make_context(tmp_path, "FROM scratch\nCOPY hello.txt /base/\n")
    pushed = ferry_build(base_context, "--push", f"{registry.host_port}/shop/base:1.0.0")
    assert pushed.returncode == 0, pushed.stderr
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {registry.host_port}/shop/base:9.9.9\n")
    done = ferry_build(context, "--push", f"{registry.host_port}/shop/svc:t1")
    line = one_error_line(done)
    assert line.startswith(f"error: unknown base image '{registry.host_port}/shop/base:9.9.9': "), line
    assert "MANIFEST_UNKNOWN" in line, line
    assert registry.tags("shop/svc") is None
    assert registry.tags("shop/base") == ["1.0.0"]


@pytest.mark.parametrize("base", ["NOT//a::reference", "127.0.0.1:1/UPPER/case:1", "img@sha256:abc"])
def test_unparseable_base_image_reference(tmp_path: Path, registry: Registry, base: str) -> None:
    context = make_context(tmp_path, f"FROM {base}\nCOPY hello.txt /srv/\n")
    done = ferry_build(context, "--push", f"{registry.host_port}/shop/svc:t1")
    line = one_error_line(done)
    assert line.startswith(f"error: unknown base image '{base}': invalid image reference "), line
    assert registry.tags("shop/svc") is None


def test_registry_that_is_down(tmp_path: Path, registry: Registry) -> None:
    down = f"127.0.0.1:{free_port()}"
    context = make_context(tmp_path, "FROM scratch\nCOPY hello.txt /srv/\n")
    done = ferry_build(context, "--push", f"{down}/shop/svc:t1")
    line = one_error_line(done)
    assert f"registry {down} is unavailable" in line, line
    # the live registry is untouched too (nothing was redirected to it)
    assert registry.tags("shop/svc") is None


def context_with_big_base(tmp_path: Path, registry: Registry) -> Path:
    """A context `FROM` a base whose one layer is 9 MiB of random bytes, pushed to `registry` as shop/base:1.0.0.

    The builder reads that layer from its blob cache as a file, so pushing the image to another registry name
    (the proxy) uploads it in 8 MiB PATCH chunks (the client's default chunk size) and a final PUT."""
    base_context = tmp_path / "base"
    base_context.mkdir()
    (base_context / "Dockerfile").write_text("FROM scratch\nCOPY big.bin /data/\n")
    (base_context / "big.bin").write_bytes(os.urandom(9 << 20))
    pushed = ferry_build(base_context, "--push", f"{registry.host_port}/shop/base:1.0.0")
    assert pushed.returncode == 0, pushed.stderr
    return make_context(tmp_path, f"FROM {registry.host_port}/shop/base:1.0.0\nCOPY hello.txt /srv/\n")


def push_through_proxy(
    registry: Registry, context: Path, methods: tuple[str, ...]
) -> tuple[FlippingProxy, subprocess.CompletedProcess[str]]:
    proxy = FlippingProxy(int(registry.host_port.rsplit(":", 1)[1]), methods=methods)
    registry.run(proxy.start())
    try:
        done = ferry_build(context, "--push", f"127.0.0.1:{proxy.port}/shop/svc:1.0.0-0123456")
    finally:
        registry.run(proxy.stop())
    return proxy, done


def test_the_proxy_passes_intact_uploads_through(tmp_path: Path, registry: Registry) -> None:
    """The control for the digest mismatch: without corruption the same push through the proxy succeeds
    (monolithic PUTs and chunked PATCHes alike), so the failures below come from the flipped byte alone."""
    context = context_with_big_base(tmp_path, registry)
    report = built_digests(context)
    proxy, done = push_through_proxy(registry, context, methods=())
    assert done.returncode == 0, done.stderr
    assert proxy.flipped == []
    assert {"POST", "PATCH", "PUT"} <= set(proxy.uploads), proxy.uploads
    assert registry.tags("shop/svc") == ["1.0.0-0123456"]
    assert registry.manifest_digest("shop/svc", "1.0.0-0123456") == report["digest"]
    assert all(registry.has_blob("shop/svc", layer["digest"]) for layer in report["layers"])


@pytest.mark.parametrize(
    ("upload", "methods"),
    [
        # every blob is small and in memory: one monolithic PUT each, its body corrupted
        ("monolithic-put", ("PUT", "PATCH")),
        # the 9 MiB base layer goes in PATCH chunks; only PATCH bodies are corrupted, so the small blobs
        # arrive intact and the big layer fails at the final PUT
        ("chunked-patch", ("PATCH",)),
    ],
)
def test_digest_mismatch_on_upload(
    tmp_path: Path, registry: Registry, upload: str, methods: tuple[str, ...]
) -> None:
    if upload == "chunked-patch":
        context = context_with_big_base(tmp_path, registry)
    else:
        context = make_context(tmp_path, "FROM scratch\nCOPY hello.txt /srv/\n")
    report = built_digests(context)
    layer = max(report["layers"], key=lambda layer: layer["size"])["digest"]
    proxy, done = push_through_proxy(registry, context, methods)
    assert proxy.flipped, "the proxy corrupted nothing: the test did not test anything"
    assert {method for method, _, _ in proxy.flipped} <= set(methods)
    if upload == "chunked-patch":
        assert any(m == "PATCH" for m, _, _ in proxy.flipped), proxy.flipped
    line = one_error_line(done)
    assert "DIGEST_INVALID" in line, line
    assert "shop/svc" in line, line
    if upload == "chunked-patch":
        assert layer in line, line  # the corrupted one is the big layer, named by its digest
    # the intact small blobs of the chunked case make the repository known (200, no tags); never a tag
    assert registry.tags("shop/svc") in (None, [])
    assert registry.manifest_digest("shop/svc", report["digest"]) is None
    assert not registry.has_blob("shop/svc", layer), "a corrupted upload was stored"


def test_second_different_image_to_an_existing_tag_and_latest_are_refused(
    tmp_path: Path, registry: Registry
) -> None:
    context = make_context(tmp_path, "FROM scratch\nCOPY hello.txt /srv/\n")
    target = f"{registry.host_port}/demo-api:1.0.0"
    first = ferry_build(context, "--push", target, "--output-format", "json")
    assert first.returncode == 0, first.stderr
    first_digest = json.loads(first.stdout)["digest"]
    assert registry.tags("demo-api") == ["1.0.0"]
    assert registry.manifest_digest("demo-api", "1.0.0") == first_digest

    # the same image again: accepted, nothing to send
    again = ferry_build(context, "--push", target, "--output-format", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["pushed"]["manifest"] is False

    # different content, same tag: refused by the registry, in one line, and the tag does not move
    (context / "hello.txt").write_text("hello, changed\n")
    second_digest = built_digests(context)["digest"]
    assert second_digest != first_digest
    done = ferry_build(context, "--push", target)
    line = one_error_line(done)
    assert "TAG_INVALID" in line and "demo-api:1.0.0 is immutable" in line, line
    assert first_digest in line and second_digest in line, line
    assert registry.tags("demo-api") == ["1.0.0"]
    assert registry.manifest_digest("demo-api", "1.0.0") == first_digest
    assert registry.manifest_digest("demo-api", second_digest) is None

    # latest: refused, whether the image is new or already there
    for ctx_text in ("hello, changed\n", "hello\n"):
        (context / "hello.txt").write_text(ctx_text)
        done = ferry_build(context, "--push", f"{registry.host_port}/demo-api:latest")
        line = one_error_line(done)
        assert "TAG_INVALID" in line and '"latest" is refused' in line, line
    assert registry.tags("demo-api") == ["1.0.0"]
    assert registry.manifest_digest("demo-api", "latest") is None


def test_ferry_ci_with_a_registry_that_is_down(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    shutil.copytree(EXAMPLES, repo, ignore=shutil.ignore_patterns("__pycache__", "node_modules", ".ferry"))
    env = dict(os.environ, **GIT_ENV)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)
    down = f"127.0.0.1:{free_port()}"
    done = ferry("ci", "--repo", str(repo), "--registry", down, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    # stderr carries the plan (which services are affected and why) and then exactly one error line
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, done.stderr
    assert errors[0] == done.stderr.splitlines()[-1], done.stderr
    assert errors[0].startswith(f"error: registry {down} is unavailable"), errors[0]
    # checked before anything ran: no tests, no build records, no last-success
    assert not (repo / ".ferry" / "ci").exists()
    plan = done.stderr.splitlines()[:-1]
    assert plan[0].startswith("ferry ci ") and plan[0].endswith("5 of 5 services affected"), plan
    assert all(line.startswith("  ") and "first run" in line for line in plan[1:]), plan
