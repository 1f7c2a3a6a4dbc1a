"""Planning a run: the default range, --since, --service, --all, and the dirty work tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.build.ci.plan import CiConfigError, make_plan
from ferry.build.ci.records import write_last_success

from .ci_support import commit, git, make_monorepo, write


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_monorepo(tmp_path / "repo")
    return tmp_path / "repo"


def test_default_range_starts_at_the_last_success(repo: Path) -> None:
    plan = make_plan(repo)
    assert plan.affected.since is None
    assert [s.name for s in plan.services] == ["auth-service", "order-service", "payment-service"]
    assert plan.commit.sha == git(repo, "rev-parse", "HEAD")
    assert plan.commit.created == "2026-01-02T02:04:05Z"
    write_last_success(repo, plan.commit.sha)
    assert make_plan(repo).services == []
    write(repo, {"services/auth-service/app.py": "print('auth v2')\n"})
    commit(repo)
    plan = make_plan(repo)
    assert plan.affected.since == git(repo, "rev-parse", "HEAD~1")
    assert [s.name for s in plan.services] == ["auth-service"]


def test_a_last_success_missing_from_the_clone_builds_everything(repo: Path) -> None:
    write_last_success(repo, "0123456789abcdef0123456789abcdef01234567")
    plan = make_plan(repo)
    assert len(plan.services) == 3
    assert (
        plan.affected.reasons["auth-service"] == "the last successful CI commit 0123456 is not in this clone"
    )


def test_since_service_and_all(repo: Path) -> None:
    write(repo, {"services/auth-service/app.py": "v2\n", "services/order-service/app.py": "v2\n"})
    commit(repo)
    assert [s.name for s in make_plan(repo, since="HEAD~1").services] == ["auth-service", "order-service"]
    only = make_plan(repo, since="HEAD~1", only=["order-service", "payment-service"])
    assert [s.name for s in only.services] == ["order-service"]
    assert only.narrowed and not only.records_last_success
    forced = make_plan(repo, since="HEAD", all_services=True, only=["payment-service"])
    assert [s.name for s in forced.services] == ["payment-service"]


def test_plan_works_from_a_subdirectory(repo: Path) -> None:
    assert make_plan(repo / "services" / "order-service").root == repo.resolve()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": "no-such-rev"}, "--since: 'no-such-rev' is not a commit"),
        (
            {"only": ["order-servce"]},
            "--service order-servce: no such service in ferry.yaml (did you mean 'order-service'?)",
        ),
    ],
)
def test_usage_errors(repo: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(CiConfigError) as info:
        make_plan(repo, **kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_not_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(CiConfigError, match="not inside a git repository"):
        make_plan(tmp_path)


def test_a_bad_ferry_yaml_is_a_config_error(repo: Path) -> None:
    (repo / "ferry.yaml").write_text("services:\n  x:\n    path: nowhere\n    version: '1'\n")
    with pytest.raises(
        CiConfigError, match=r"^ferry.yaml:3: services.x.path: directory nowhere does not exist"
    ):
        make_plan(repo)


def test_a_dirty_work_tree_is_refused_unless_allowed(repo: Path) -> None:
    write(repo, {"services/order-service/app.py": "uncommitted\n", "services/order-service/new.py": "x\n"})
    with pytest.raises(CiConfigError) as info:
        make_plan(repo)
    message = str(info.value)
    assert "services/order-service/app.py" in message and "services/order-service/new.py" in message
    assert "--allow-dirty" in message
    plan = make_plan(repo, allow_dirty=True)
    assert plan.tag_suffix == "-dirty"
    assert not plan.records_last_success


def test_ferry_own_records_do_not_make_the_tree_dirty(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_monorepo(repo)
    git(repo, "rm", "-q", "--cached", ".gitignore")
    (repo / ".gitignore").unlink()
    commit(repo)
    write_last_success(repo, git(repo, "rev-parse", "HEAD"))
    assert make_plan(repo).dirty == []
