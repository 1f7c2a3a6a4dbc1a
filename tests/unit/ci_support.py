"""Shared helpers for the `ferry ci` unit tests: a throw-away git monorepo, a fake builder, a fake registry.

The fakes have the signatures of `ferry.build.build_image` and `ferry.registry.client.RegistryClient`
(`ping`, `push_image`) and record what they were asked, so tests assert on the exact calls.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.build.model import BlobSource, BuildRequest, BuiltImage
from ferry.registry.oci import OCI_CONFIG, OCI_LAYER_GZIP, Descriptor, Manifest, digest_of

GIT_ENV = {
    "GIT_AUTHOR_NAME": "ci test",
    "GIT_AUTHOR_EMAIL": "ci@example.invalid",
    "GIT_COMMITTER_NAME": "ci test",
    "GIT_COMMITTER_EMAIL": "ci@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-02T03:04:05+01:00",
    "GIT_COMMITTER_DATE": "2026-01-02T03:04:05+01:00",
    "GIT_CONFIG_NOSYSTEM": "1",
}

FERRY_YAML = """\
registry: 127.0.0.1:5000
environments: {sit: {}}
services:
  auth-service:
    path: services/auth-service
    version: {file: services/auth-service/VERSION}
    test: python3 -m unittest discover -s tests
  order-service:
    path: services/order-service
    version: {file: services/order-service/VERSION}
    test: python3 -m unittest discover -s tests
    dependsOn: [libs/common]
  payment-service:
    path: services/payment-service
    version: "2.0.1"
"""

PASSING_TEST = """\
import unittest

class T(unittest.TestCase):
    def test_one(self):
        self.assertEqual(1 + 1, 2)

    def test_two(self):
        self.assertTrue(True)
"""

FAILING_TEST = """\
import unittest

class T(unittest.TestCase):
    def test_one(self):
        self.assertEqual(1 + 1, 2)

    def test_total(self):
        self.assertEqual(1 + 1, 3)
"""


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_ENV, HOME=str(repo.parent))
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def write(repo: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def commit(repo: Path, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_monorepo(repo: Path, *, ferry_yaml: str = FERRY_YAML) -> str:
    """A git repository with three services and a shared lib; returns the first commit's SHA."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    write(
        repo,
        {
            "ferry.yaml": ferry_yaml,
            ".gitignore": ".ferry/\n",
            "README.md": "monorepo\n",
            "libs/common/util.py": "X = 1\n",
            "services/auth-service/VERSION": "1.2.0\n",
            "services/auth-service/app.py": "print('auth')\n",
            "services/auth-service/tests/test_app.py": PASSING_TEST,
            "services/order-service/VERSION": "1.4.2\n",
            "services/order-service/app.py": "print('order')\n",
            "services/order-service/tests/test_app.py": PASSING_TEST,
            "services/payment-service/app.py": "print('payment')\n",
        },
    )
    return commit(repo, "initial")


@dataclass
class FakeBuilder:
    """`build_image` stand-in: the digest is a hash of the context's files, so it changes with the code."""

    fail: dict[str, str] = field(default_factory=dict)  # context dir name -> error message
    requests: list[BuildRequest] = field(default_factory=list)

    async def __call__(self, request: BuildRequest) -> BuiltImage:
        self.requests.append(request)
        if request.context.name in self.fail:
            raise RuntimeError(self.fail[request.context.name])
        h = hashlib.sha256()
        for path in sorted(p for p in request.context.rglob("*") if p.is_file()):
            h.update(path.relative_to(request.context).as_posix().encode() + b"\0" + path.read_bytes())
        layer = h.digest() * 4
        config = f'{{"version":"{request.version}","revision":"{request.revision}"}}'.encode()
        manifest = Manifest.build(
            Descriptor(media_type=OCI_CONFIG, digest=digest_of(config), size=len(config)),
            [Descriptor(media_type=OCI_LAYER_GZIP, digest=digest_of(layer), size=len(layer))],
        )
        blobs: dict[str, BlobSource] = {digest_of(config): config, digest_of(layer): layer}
        return BuiltImage(
            manifest=manifest, config=config, blobs=blobs, sbom=None, warnings=(), base="scratch"
        )


@dataclass(frozen=True)
class FakePushResult:
    digest: str
    blobs_pushed: int
    blobs_skipped: int
    bytes_pushed: int
    manifest_pushed: bool


@dataclass
class FakeRegistry:
    """Tags and blobs per registry host, shared by every FakeClient made from it; immutable tags."""

    down: bool = False
    fail_push: dict[str, str] = field(default_factory=dict)  # repo -> error message
    tags: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (host, repo, tag) -> digest
    blobs: set[tuple[str, str]] = field(default_factory=set)  # (host, digest)
    pushes: list[tuple[str, str, str]] = field(default_factory=list)  # (host, repo, tag) of pushed manifests
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def client(self, host: str) -> FakeClient:
        return FakeClient(self, host)


@dataclass
class FakeClient:
    registry: FakeRegistry
    host: str

    async def __aenter__(self) -> FakeClient:
        self.registry.opened.append(self.host)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.registry.closed.append(self.host)

    async def ping(self) -> None:
        if self.registry.down:
            raise ConnectionRefusedError("connection refused")

    async def push_image(
        self,
        repo: str,
        tag: str | None,
        manifest: Manifest,
        blobs: Mapping[str, BlobSource],
        *,
        referrers: Sequence[tuple[Manifest, Mapping[str, BlobSource]]] = (),
    ) -> Any:
        if repo in self.registry.fail_push:
            raise RuntimeError(self.registry.fail_push[repo])
        assert tag is not None
        key = (self.host, repo, tag)
        current = self.registry.tags.get(key)
        if current is not None and current != manifest.digest:
            raise RuntimeError(f"tag {repo}:{tag} is immutable")
        missing = [d for d in blobs if (self.host, d) not in self.registry.blobs]
        size = sum(len(b) for d, b in blobs.items() if d in missing and isinstance(b, bytes))
        self.registry.blobs.update((self.host, d) for d in missing)
        if current == manifest.digest:
            return FakePushResult(manifest.digest, len(missing), len(blobs) - len(missing), size, False)
        self.registry.tags[key] = manifest.digest
        self.registry.pushes.append(key)
        return FakePushResult(manifest.digest, len(missing), len(blobs) - len(missing), size, True)


@dataclass
class RecordingReporter:
    events: list[tuple[str, ...]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    def step_started(self, service: str, step: str, detail: str) -> None:
        self.events.append(("start", service, step))

    def step_finished(
        self, service: str, step: str, ok: bool, detail: str, *, output: str | None = None
    ) -> None:
        self.events.append(("done", service, step, "ok" if ok else "failed"))
        if output:
            self.outputs[service] = output

    def service_finished(self, record: Any) -> None:
        self.events.append(("service", record["service"], record["status"]))
