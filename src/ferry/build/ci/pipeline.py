"""The CI pipeline: for each affected service, version → test → build → tag → push → record.

Services run one after another, in `ferry.yaml` order (the machine's cores go to the tests and the builder).
A service that fails a step stops there: failing tests mean nothing is built, a failed build means nothing is
pushed. The other services still run, unless `fail_fast`, which stops the whole run at the first failure
(the services not reached are reported as `skipped`, and get no record on disk).

Tags are `<version>-<sha7>` and nothing else: the tag must describe the commit, so it is never `latest` and
never anything the registry's tag grammar refuses. The same commit built twice gives the same digest (the
builder is reproducible); the client then finds the tag already pointing at it and pushes nothing, which is
what makes re-running CI cheap and safe. An immutable registry refusing the tag (same tag, other digest)
fails the service with the registry's message.

The two heavy collaborators are seams, so the pipeline is tested with recording fakes:
`builder` has the signature of `ferry.build.build_image`, and `client_factory(registry)` returns an async
context manager with the `ping`/`push_image` of `ferry.registry.client.RegistryClient`.

Errors: a step's exception becomes that service's failure (`status: "failed"`, `failedStep`, `error`);
`RegistryDown` (the preflight ping failed) ends the run before any test, because nothing could be pushed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ferry.build.ci.git import Commit
from ferry.build.ci.records import BuildRecord, PushedSummary, TestSummary, write_record
from ferry.build.ci.testing import TestResult, run_tests
from ferry.build.model import BlobSource, BuildRequest, BuiltImage
from ferry.build.project import Project, ProjectError, Service, read_version
from ferry.registry.oci import Manifest, valid_tag

__all__ = [
    "Builder",
    "ClientFactory",
    "PipelineOptions",
    "Pusher",
    "RegistryDown",
    "Reporter",
    "exit_code",
    "make_tag",
    "run_pipeline",
]


class PushOutcome(Protocol):
    @property
    def digest(self) -> str: ...
    @property
    def blobs_pushed(self) -> int: ...
    @property
    def bytes_pushed(self) -> int: ...
    @property
    def manifest_pushed(self) -> bool: ...


class Pusher(Protocol):
    async def ping(self) -> None: ...

    async def push_image(
        self,
        repo: str,
        tag: str | None,
        manifest: Manifest,
        blobs: Mapping[str, BlobSource],
        *,
        referrers: Sequence[tuple[Manifest, Mapping[str, BlobSource]]] = (),
    ) -> Any: ...


Builder = Callable[[BuildRequest], Awaitable[BuiltImage]]
ClientFactory = Callable[[str], AbstractAsyncContextManager[Pusher]]


class Reporter(Protocol):
    """What the pipeline tells the progress display (see ferry.build.ci.progress)."""

    def step_started(self, service: str, step: str, detail: str) -> None: ...
    def step_finished(
        self, service: str, step: str, ok: bool, detail: str, *, output: str | None = None
    ) -> None: ...
    def service_finished(self, record: BuildRecord) -> None: ...


class RegistryDown(Exception):
    """The registry could not be reached before the run started."""


@dataclass(frozen=True)
class PipelineOptions:
    fail_fast: bool = False
    registry_override: str | None = None  # `--registry`: replaces every service's registry host
    cache_dir: Path | None = None  # the builder's layer cache
    tag_suffix: str = ""  # "-dirty" when building an uncommitted work tree (--allow-dirty)
    write_records: bool = True
    build_options: Mapping[str, Any] | None = None  # extra BuildRequest fields (e.g. registry_client_factory)


def make_tag(version: str, commit: Commit, suffix: str = "") -> str:
    """`<version>-<sha7>[suffix]`; ProjectError if that is not a tag ferry may push."""
    tag = f"{version}-{commit.short}{suffix}"
    if version == "latest" or tag == "latest" or not valid_tag(tag):
        raise ProjectError(
            f"version {version!r} gives the tag {tag!r}, which is not a valid immutable image tag"
        )
    return tag


def exit_code(records: Sequence[BuildRecord]) -> int:
    """0 when every service succeeded, 1 when any failed (CI systems read this)."""
    return 0 if all(r.get("status") == "ok" for r in records) else 1


async def run_pipeline(
    project: Project,
    services: Sequence[Service],
    commit: Commit,
    *,
    builder: Builder,
    client_factory: ClientFactory,
    reporter: Reporter,
    options: PipelineOptions = PipelineOptions(),
) -> list[BuildRecord]:
    """Run every service through the pipeline; returns one record per service (skipped ones included)."""
    targets = {s.name: project.repository(s, registry_override=options.registry_override) for s in services}
    records: list[BuildRecord] = []
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, Pusher] = {}
        for registry in dict.fromkeys(host for host, _ in targets.values()):
            client = await stack.enter_async_context(client_factory(registry))
            try:
                await client.ping()
            except Exception as exc:
                said = str(exc)
                raise RegistryDown(
                    said if registry in said else f"registry {registry} is not reachable: {said}"
                ) from None
            clients[registry] = client
        failed: str | None = None
        for service in services:
            if failed is not None and options.fail_fast:
                record = _skipped(service, commit, f"not run: --fail-fast after {failed} failed")
                reporter.service_finished(record)
                records.append(record)
                continue
            registry, repo = targets[service.name]
            run = _ServiceRun(
                project, service, commit, reporter, options, builder, clients[registry], registry, repo
            )
            record = await run.run()
            if options.write_records:
                write_record(project.root, record)
            reporter.service_finished(record)
            records.append(record)
            if record["status"] != "ok" and failed is None:
                failed = service.name
    return records


def _skipped(service: Service, commit: Commit, why: str) -> BuildRecord:
    return BuildRecord(
        service=service.name,
        version=None,
        tag=None,
        image=None,
        digest=None,
        gitSha=commit.sha,
        status="skipped",
        error=why,
        tests=None,
        durations={},
        pushed=None,
    )


class _StepFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


@dataclass
class _ServiceRun:
    project: Project
    service: Service
    commit: Commit
    reporter: Reporter
    options: PipelineOptions
    builder: Builder
    client: Pusher
    registry: str
    repo: str

    def __post_init__(self) -> None:
        self.record = _skipped(self.service, self.commit, "")
        del self.record["error"]
        self.record["durations"] = {}

    async def run(self) -> BuildRecord:
        try:
            version = self._version()
            try:
                tag = make_tag(version, self.commit, self.options.tag_suffix)
            except ProjectError as exc:
                raise _StepFailed("version", str(exc)) from None
            self.record["version"], self.record["tag"] = version, tag
            self.record["image"] = f"{self.registry}/{self.repo}:{tag}"
            await self._test()
            image = await self._build(version)
            await self._push(image, tag)
        except _StepFailed as exc:
            self.record["status"], self.record["failedStep"] = "failed", exc.step
            self.record["error"], self.record["digest"] = str(exc), None
            return self.record
        self.record["status"] = "ok"
        return self.record

    def _version(self) -> str:
        try:
            return read_version(self.service, self.project.root)
        except ProjectError as exc:
            self.reporter.step_finished(self.service.name, "version", False, str(exc))
            raise _StepFailed("version", str(exc)) from None

    async def _test(self) -> None:
        command = self.service.test
        if command is None:
            self.record["tests"] = None
            self.record["durations"]["test"] = 0.0
            self.reporter.step_finished(self.service.name, "test", True, "no test command")
            return
        self.reporter.step_started(self.service.name, "test", command)
        try:
            result = await run_tests(
                command,
                self.project.root / self.service.path,
                timeout_seconds=self.service.test_timeout_seconds,
            )
        except OSError as exc:
            self.reporter.step_finished(self.service.name, "test", False, str(exc))
            raise _StepFailed("test", f"tests could not start: {exc}") from None
        self.record["tests"] = _test_summary(result)
        self.record["durations"]["test"] = round(result.duration_seconds, 3)
        detail = f"{result.summary} in {result.duration_seconds:.1f}s"
        self.reporter.step_finished(
            self.service.name, "test", result.ok, detail, output=None if result.ok else result.tail()
        )
        if not result.ok:
            names = f": {', '.join(result.failures[:3])}" if result.failures else ""
            more = f" and {len(result.failures) - 3} more" if len(result.failures) > 3 else ""
            raise _StepFailed("test", f"tests failed ({result.summary}){names}{more}")

    async def _build(self, version: str) -> BuiltImage:
        self.reporter.step_started(self.service.name, "build", self.service.path)
        request = BuildRequest(
            context=self.project.root / self.service.path,
            version=version,
            revision=self.commit.sha,
            created=self.commit.created,
            source=self.commit.source,
            cache_dir=self.options.cache_dir,
            **dict(self.options.build_options or {}),
        )
        started = time.monotonic()
        try:
            image = await self.builder(request)
        except Exception as exc:
            self.record["durations"]["build"] = round(time.monotonic() - started, 3)
            self.reporter.step_finished(self.service.name, "build", False, str(exc))
            raise _StepFailed("build", f"build failed: {exc}") from None
        elapsed = time.monotonic() - started
        self.record["durations"]["build"] = round(elapsed, 3)
        if image.warnings:
            self.record["warnings"] = list(image.warnings)
        self.reporter.step_finished(
            self.service.name, "build", True, f"{image.manifest.digest[:19]} in {elapsed:.1f}s"
        )
        return image

    async def _push(self, image: BuiltImage, tag: str) -> None:
        self.reporter.step_started(self.service.name, "push", f"{self.registry}/{self.repo}:{tag}")
        started = time.monotonic()
        try:
            result: PushOutcome = await self.client.push_image(
                self.repo,
                tag,
                image.manifest,
                image.blobs,
                referrers=[image.sbom] if image.sbom is not None else [],
            )
        except Exception as exc:
            self.record["durations"]["push"] = round(time.monotonic() - started, 3)
            self.reporter.step_finished(self.service.name, "push", False, str(exc))
            raise _StepFailed("push", f"push failed: {exc}") from None
        elapsed = time.monotonic() - started
        self.record["durations"]["push"] = round(elapsed, 3)
        self.record["digest"] = result.digest
        self.record["pushed"] = PushedSummary(
            blobs=result.blobs_pushed, bytes=result.bytes_pushed, manifest=result.manifest_pushed
        )
        what = (
            f"{result.blobs_pushed} blobs, {result.bytes_pushed} bytes"
            if result.manifest_pushed or result.blobs_pushed
            else "already there, nothing pushed"
        )
        self.reporter.step_finished(self.service.name, "push", True, f"{what} in {elapsed:.1f}s")


def _test_summary(result: TestResult) -> TestSummary:
    return TestSummary(
        passed=result.passed,
        failed=result.failed,
        command=result.command,
        exitCode=result.exit_code,
        durationSeconds=round(result.duration_seconds, 3),
        failures=list(result.failures),
    )
