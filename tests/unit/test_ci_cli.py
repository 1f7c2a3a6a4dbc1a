"""`ferry ci` through click: exit codes, --dry-run, --output json, last-success; builder and registry faked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import ferry.build
import ferry.registry.client
from ferry.cli import main

from .ci_support import FAILING_TEST, FakeBuilder, FakeRegistry, commit, git, make_monorepo, write


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_monorepo(tmp_path / "repo")
    return tmp_path / "repo"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    fake = FakeRegistry()
    monkeypatch.setattr(ferry.build, "build_image", FakeBuilder())
    monkeypatch.setattr(ferry.registry.client, "RegistryClient", lambda host, **kw: fake.client(host))
    return fake


def ci(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["ci", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_full_run_exits_0_prints_json_and_records_last_success(repo: Path, registry: FakeRegistry) -> None:
    code, out, err = ci("--repo", str(repo), "--output", "json")
    assert code == 0, err
    doc = json.loads(out)
    sha = git(repo, "rev-parse", "HEAD")
    assert doc["gitSha"] == sha and doc["exitCode"] == 0 and doc["since"] is None
    assert [r["tag"] for r in doc["records"]] == [f"1.2.0-{sha[:7]}", f"1.4.2-{sha[:7]}", f"2.0.1-{sha[:7]}"]
    assert "order-service: test: ok: 2 passed" in err
    assert (repo / ".ferry/ci/last-success").read_text().strip() == sha

    code, out, err = ci("--repo", str(repo))
    assert code == 0
    assert "0 of 3 services affected" in err and "nothing to do" in out
    assert len(registry.pushes) == 3


def test_a_failing_service_exits_1_naming_it(repo: Path, registry: FakeRegistry) -> None:
    write(repo, {"services/order-service/tests/test_app.py": FAILING_TEST})
    commit(repo)
    code, out, err = ci("--repo", str(repo))
    assert code == 1
    assert "error: 1 service(s) failed: order-service" in err
    assert "order-service: FAILED at test: tests failed (1 passed, 1 failed): test_app.T.test_total" in err
    assert [line.split()[0] for line in out.splitlines()] == [
        "SERVICE",
        "auth-service",
        "order-service",
        "payment-service",
    ]
    assert "failed (test)" in out
    assert not (repo / ".ferry/ci/last-success").exists()
    assert [key[1] for key in registry.pushes] == ["auth-service", "payment-service"]


def test_a_down_registry_exits_1_before_testing(repo: Path, registry: FakeRegistry) -> None:
    registry.down = True
    code, _, err = ci("--repo", str(repo))
    assert code == 1
    assert (
        err.strip().splitlines()[-1] == "error: registry 127.0.0.1:5000 is not reachable: connection refused"
    )
    assert "test:" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--service", "nope"], "error: --service nope: no such service in ferry.yaml"),
        (["--since", "v9"], "error: --since: 'v9' is not a commit"),
        (["--registry", "http://x"], "error: --registry: 'http://x' must be host[:port]"),
    ],
)
def test_usage_errors_exit_2(repo: Path, registry: FakeRegistry, args: list[str], message: str) -> None:
    code, _, err = ci("--repo", str(repo), *args)
    assert code == 2
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
    assert registry.opened == []


def test_a_dirty_tree_exits_2_and_a_bad_ferry_yaml_too(repo: Path, registry: FakeRegistry) -> None:
    write(repo, {"services/auth-service/app.py": "edited\n"})
    code, _, err = ci("--repo", str(repo))
    assert code == 2 and "uncommitted changes (services/auth-service/app.py)" in err
    git(repo, "checkout", "--", ".")
    (repo / "ferry.yaml").write_text("services:\n  a:\n    pathh: x\n")
    commit(repo)
    code, _, err = ci("--repo", str(repo))
    assert code == 2
    assert err.strip() == "error: ferry.yaml:3: services.a.pathh: unknown key (did you mean 'path'?)"


def test_allow_dirty_builds_with_a_dirty_tag(repo: Path, registry: FakeRegistry) -> None:
    write(repo, {"services/auth-service/app.py": "edited\n"})
    code, _, err = ci("--repo", str(repo), "--allow-dirty", "--service", "auth-service")
    assert code == 0, err
    assert registry.pushes[0][2].endswith("-dirty")
    assert "warning: building 1 uncommitted file(s)" in err


def test_dry_run_shows_tags_and_runs_nothing(repo: Path, registry: FakeRegistry) -> None:
    short = git(repo, "rev-parse", "--short=7", "HEAD")
    code, out, _ = ci("--repo", str(repo), "--dry-run", "--registry", "127.0.0.1:6000")
    assert code == 0
    assert f"would test, build and push order-service: 127.0.0.1:6000/order-service:1.4.2-{short}" in out
    code, out, _ = ci("--repo", str(repo), "--dry-run", "--output", "json", "--service", "payment-service")
    assert json.loads(out)["services"] == [
        {
            "service": "payment-service",
            "reason": "first run: no earlier successful CI record",
            "version": "2.0.1",
            "tag": f"2.0.1-{short}",
            "image": f"127.0.0.1:5000/payment-service:2.0.1-{short}",
            "test": None,
        }
    ]
    assert registry.opened == [] and not (repo / ".ferry").exists()
