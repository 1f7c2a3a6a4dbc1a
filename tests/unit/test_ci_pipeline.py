"""The pipeline with a fake builder and a fake registry: test → build → tag → push → record, and failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ferry.build.ci.git import Commit
from ferry.build.ci.pipeline import PipelineOptions, RegistryDown, exit_code, make_tag, run_pipeline
from ferry.build.ci.plan import Plan, make_plan
from ferry.build.ci.records import BuildRecord
from ferry.build.project import ProjectError

from .ci_support import (
    FAILING_TEST,
    FakeBuilder,
    FakeRegistry,
    RecordingReporter,
    commit,
    make_monorepo,
    write,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_monorepo(tmp_path / "repo")
    return tmp_path / "repo"


async def run(
    plan: Plan,
    builder: FakeBuilder,
    registry: FakeRegistry,
    reporter: RecordingReporter | None = None,
    **options: object,
) -> list[BuildRecord]:
    return await run_pipeline(
        plan.project,
        plan.services,
        plan.commit,
        builder=builder,
        client_factory=registry.client,
        reporter=reporter or RecordingReporter(),
        options=PipelineOptions(**options),  # type: ignore[arg-type]
    )


async def test_every_service_is_tested_built_tagged_and_pushed(repo: Path) -> None:
    plan = make_plan(repo)
    sha, short = plan.commit.sha, plan.commit.short
    builder, registry, reporter = FakeBuilder(), FakeRegistry(), RecordingReporter()
    records = await run(plan, builder, registry, reporter)

    assert exit_code(records) == 0
    assert registry.pushes == [
        ("127.0.0.1:5000", "auth-service", f"1.2.0-{short}"),
        ("127.0.0.1:5000", "order-service", f"1.4.2-{short}"),
        ("127.0.0.1:5000", "payment-service", f"2.0.1-{short}"),
    ]
    assert registry.opened == registry.closed == ["127.0.0.1:5000"]
    request = builder.requests[1]
    assert (request.context, request.version, request.revision, request.created) == (
        repo.resolve() / "services/order-service",
        "1.4.2",
        sha,
        "2026-01-02T02:04:05Z",
    )
    assert reporter.events[:6] == [
        ("start", "auth-service", "test"),
        ("done", "auth-service", "test", "ok"),
        ("start", "auth-service", "build"),
        ("done", "auth-service", "build", "ok"),
        ("start", "auth-service", "push"),
        ("done", "auth-service", "push", "ok"),
    ]

    on_disk = json.loads((repo / ".ferry/ci" / short / "order-service.json").read_text())
    digest = registry.tags[("127.0.0.1:5000", "order-service", f"1.4.2-{short}")]
    assert on_disk == records[1]
    assert {k: on_disk[k] for k in ("service", "version", "tag", "image", "digest", "gitSha", "status")} == {
        "service": "order-service",
        "version": "1.4.2",
        "tag": f"1.4.2-{short}",
        "image": f"127.0.0.1:5000/order-service:1.4.2-{short}",
        "digest": digest,
        "gitSha": sha,
        "status": "ok",
    }
    tests = on_disk["tests"]
    assert (tests["passed"], tests["failed"], tests["exitCode"]) == (2, 0, 0)
    assert tests["command"] == "python3 -m unittest discover -s tests"
    assert set(on_disk["durations"]) == {"test", "build", "push"}
    assert on_disk["pushed"] == {"blobs": 2, "bytes": on_disk["pushed"]["bytes"], "manifest": True}
    assert on_disk["pushed"]["bytes"] > 0
    assert records[2]["tests"] is None  # payment-service has no test command


async def test_the_same_commit_again_pushes_nothing(repo: Path) -> None:
    plan = make_plan(repo)
    registry = FakeRegistry()
    first = await run(plan, FakeBuilder(), registry)
    again = await run(plan, FakeBuilder(), registry)
    assert [r["digest"] for r in again] == [r["digest"] for r in first]
    assert [r["pushed"] for r in again] == [{"blobs": 0, "bytes": 0, "manifest": False}] * 3
    assert len(registry.pushes) == 3


async def test_failing_tests_stop_that_service_only(repo: Path) -> None:
    write(repo, {"services/order-service/tests/test_app.py": FAILING_TEST})
    commit(repo, "break order-service")
    plan = make_plan(repo)
    builder, registry, reporter = FakeBuilder(), FakeRegistry(), RecordingReporter()
    records = await run(plan, builder, registry, reporter)

    assert exit_code(records) == 1
    assert [r.context.name for r in builder.requests] == ["auth-service", "payment-service"]
    assert [key[1] for key in registry.pushes] == ["auth-service", "payment-service"]
    failed = records[1]
    assert (failed["status"], failed["failedStep"], failed["digest"]) == ("failed", "test", None)
    assert failed["error"] == "tests failed (1 passed, 1 failed): test_app.T.test_total"
    assert failed["tests"] is not None and failed["tests"]["failed"] == 1
    assert "AssertionError: 2 != 3" in reporter.outputs["order-service"]
    on_disk = json.loads((repo / ".ferry/ci" / plan.commit.short / "order-service.json").read_text())
    assert on_disk["status"] == "failed"


async def test_fail_fast_stops_at_the_first_failure(repo: Path) -> None:
    write(repo, {"services/auth-service/tests/test_app.py": FAILING_TEST})
    commit(repo, "break auth-service")
    plan = make_plan(repo)
    builder, registry = FakeBuilder(), FakeRegistry()
    records = await run(plan, builder, registry, fail_fast=True)

    assert [r["status"] for r in records] == ["failed", "skipped", "skipped"]
    assert records[1]["error"] == "not run: --fail-fast after auth-service failed"
    assert builder.requests == [] and registry.pushes == []
    assert sorted(p.name for p in (repo / ".ferry/ci" / plan.commit.short).iterdir()) == ["auth-service.json"]


async def test_a_failed_build_is_not_pushed_and_a_failed_push_is_reported(repo: Path) -> None:
    plan = make_plan(repo)
    builder = FakeBuilder(fail={"auth-service": "Dockerfile:3: RUN is not supported"})
    registry = FakeRegistry(fail_push={"payment-service": "registry refused the tag"})
    records = await run(plan, builder, registry)

    assert [(r["status"], r.get("failedStep")) for r in records] == [
        ("failed", "build"),
        ("ok", None),
        ("failed", "push"),
    ]
    assert records[0]["error"] == "build failed: Dockerfile:3: RUN is not supported"
    assert records[2]["error"] == "push failed: registry refused the tag"
    assert [key[1] for key in registry.pushes] == ["order-service"]


async def test_a_registry_that_is_down_stops_the_run_before_any_test(repo: Path) -> None:
    plan = make_plan(repo)
    builder, reporter = FakeBuilder(), RecordingReporter()
    with pytest.raises(
        RegistryDown, match=r"registry 127\.0\.0\.1:5000 is not reachable: connection refused"
    ):
        await run(plan, builder, FakeRegistry(down=True), reporter)
    assert reporter.events == [] and builder.requests == []
    assert not (repo / ".ferry/ci").exists()


async def test_a_latest_version_fails_that_service_before_its_tests(repo: Path) -> None:
    write(repo, {"services/auth-service/VERSION": "latest\n"})
    commit(repo)
    plan = make_plan(repo)
    reporter = RecordingReporter()
    records = await run(plan, FakeBuilder(), FakeRegistry(), reporter)
    assert (records[0]["status"], records[0]["failedStep"]) == ("failed", "version")
    assert "must not be 'latest'" in records[0]["error"]
    assert ("start", "auth-service", "test") not in reporter.events
    assert records[1]["status"] == "ok"


async def test_registry_override_and_dirty_suffix(repo: Path) -> None:
    plan = make_plan(repo)
    registry = FakeRegistry()
    await run(plan, FakeBuilder(), registry, registry_override="127.0.0.1:5999", tag_suffix="-dirty")
    assert {key[0] for key in registry.pushes} == {"127.0.0.1:5999"}
    assert registry.pushes[0][2] == f"1.2.0-{plan.commit.short}-dirty"


def test_tags_are_version_dash_sha7_and_never_latest() -> None:
    head = Commit(sha="a8f3d21" + "0" * 33, created="2026-01-01T00:00:00Z", source=None)
    assert make_tag("1.4.2", head) == "1.4.2-a8f3d21"
    for bad in ("latest", "1.0+x", "-1.0", "a" * 130):
        with pytest.raises(ProjectError, match="not a valid immutable image tag"):
            make_tag(bad, head)
