"""Helpers of the demo-api rollout test (no tests here): images of ``examples/services/demo-api`` in several
versions, and a paced HTTP load generator that records every response.

**Images.** :func:`push_demo_api` copies the example to tmp per version, writes that version into
``package.json`` (and the lock file), builds it with ``ferry.build`` (the Node buildpack on the host base, as
``ferry ci`` would) and pushes ``e2e/demo-api:<version>`` to the cluster's embedded registry. The app answers
``GET /`` with its version, which is how the test tells old pods from new ones.

**Load.** :class:`LoadGenerator` runs threads per target (a ``host:port``), each paced to its share of the
target's rate (requests/s), with room to spare (a thread sends one request per ``thread_seconds``), so a slow
answer delays no other request. Every request opens a **new connection** (HTTP/1.0), so each one is
routed by the service proxy afresh: this is what exercises endpoint changes (a keep-alive connection would stay
on one pod). A request counts as failed on any socket error (refused, reset, timeout), a status other than 200
or a body that is not a version. The generator records every result with its start time (monotonic), so the
test can assert the achieved rate (requests / the generator's own running time) rather than wall-clock bounds,
and can look at which versions answered before and after a given moment.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ferry.build import BuildRequest, build_image
from ferry.registry.client import RegistryClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "services" / "demo-api"
REPOSITORY = "e2e/demo-api"


NAIVE_SIGTERM = "process.on('SIGTERM', () => process.exit(0));"


def push_demo_api(
    tmp: Path, registry: str, versions: Iterable[str], *, naive: Iterable[str] = ()
) -> dict[str, str]:
    """Build and push demo-api once per version; the image reference of each version. The versions in
    ``naive`` exit at once on SIGTERM instead of draining (as many apps do): what a rollout must survive too."""
    naive = set(naive)
    refs: dict[str, str] = {}

    async def go() -> None:
        async with RegistryClient(registry) as client:
            for version in versions:
                context = tmp / f"demo-api-{version}"
                shutil.copytree(EXAMPLE, context, ignore=shutil.ignore_patterns("node_modules", "test"))
                for name in ("package.json", "package-lock.json"):
                    doc = json.loads((context / name).read_text())
                    doc["version"] = version
                    if name == "package-lock.json":
                        doc["packages"][""]["version"] = version
                    (context / name).write_text(json.dumps(doc, indent=2) + "\n")
                if version in naive:
                    server = (context / "server.js").read_text()
                    start = server.index("  process.on('SIGTERM'")
                    end = server.index("});", start) + 3
                    (context / "server.js").write_text(server[:start] + "  " + NAIVE_SIGTERM + server[end:])
                built = await build_image(
                    BuildRequest(
                        context=context,
                        version=version,
                        revision="0" * 40,
                        created="2026-01-31T12:00:00Z",
                        cache_dir=tmp / "bcache",
                    )
                )
                await client.push_image(REPOSITORY, version, built.manifest, built.blobs)
                refs[version] = f"{registry}/{REPOSITORY}:{version}"

    asyncio.run(go())
    return refs


@dataclass(frozen=True)
class Result:
    target: str
    started: float  # time.monotonic() when the request began
    version: str | None  # the body's version when it succeeded
    error: str | None  # why it failed


def get_version(
    host: str, port: int, *, host_header: str = "demo-api", trickle_seconds: float = 0.0, timeout: float = 5.0
) -> str:
    """One ``GET /`` on a new connection (HTTP/1.0: no chunks, then close): the version answered; raises on
    any failure. ``trickle_seconds``: the pause between the request line and the rest of the request."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.0\r\n")
        if trickle_seconds:
            time.sleep(trickle_seconds)
        s.sendall(f"Host: {host_header}\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if status.split(b" ")[1:2] != [b"200"]:
        raise OSError(f"answered {status.decode(errors='replace')!r}")
    text = body.decode(errors="replace").strip()
    if not text[:1].isdigit():
        raise OSError(f"not a version: {text!r}")
    return text


@dataclass
class LoadGenerator:
    """Paced requests to named targets; see the module docstring."""

    targets: dict[str, tuple[str, int]]  # name → (host, port)
    rates: dict[str, float]  # name → requests/s
    thread_seconds: float = 0.15  # each thread sends one request per this many seconds (3 times the trickle)
    trickle_seconds: float = 0.05
    results: list[Result] = field(default_factory=list)
    started_at: float = 0.0
    stopped_at: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> LoadGenerator:
        self.started_at = time.monotonic()
        for name in self.targets:
            for i in range(self.threads(name)):
                t = threading.Thread(target=self._work, args=(name, i), name=f"load-{name}-{i}", daemon=True)
                self._threads.append(t)
                t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)
        self.stopped_at = time.monotonic()

    def threads(self, name: str) -> int:
        return max(1, math.ceil(self.rates[name] * self.thread_seconds))

    def _work(self, name: str, index: int) -> None:
        host, port = self.targets[name]
        interval = self.threads(name) / self.rates[name]
        due = self.started_at + interval * index / self.threads(name)
        while not self._stop.is_set():
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            due += interval
            started = time.monotonic()
            try:
                version = get_version(host, port, trickle_seconds=self.trickle_seconds)
                result = Result(name, started, version, None)
            except OSError as e:
                result = Result(name, started, None, f"{type(e).__name__}: {e}")
            with self._lock:
                self.results.append(result)

    # -- what the test asserts on ----------------------------------------------------------------------
    def of(self, name: str) -> list[Result]:
        return sorted((r for r in self.results if r.target == name), key=lambda r: r.started)

    def rate(self, name: str) -> float:
        """Requests per second the generator achieved on ``name`` over its own running time."""
        return len(self.of(name)) / max(1e-9, self.stopped_at - self.started_at)

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.error is not None]

    def versions(self, name: str, *, after: float = 0.0, before: float = float("inf")) -> list[str]:
        """The versions answered, in order, for requests started within [after, before)."""
        return [r.version for r in self.of(name) if r.version and after <= r.started < before]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for r in self.results:
            key = f"{r.target}:{r.version or 'FAILED'}"
            counts[key] = counts.get(key, 0) + 1
        fails = self.failures()[:5]
        return f"{counts}; first failures: {fails}"
