"""Which services a commit range affects, computed on a real git repository made by the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.build.ci.affected import affected_services, touches
from ferry.build.project import load_project

from .ci_support import FERRY_YAML, commit, git, make_monorepo, write


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_monorepo(tmp_path / "repo")
    return tmp_path / "repo"


def affected(repo: Path, since: str | None) -> dict[str, str]:
    return affected_services(load_project(repo), repo, since).reasons


def test_first_run_affects_every_service(repo: Path) -> None:
    assert list(affected(repo, None)) == ["auth-service", "order-service", "payment-service"]


def test_a_change_inside_one_service_affects_only_it(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    write(repo, {"services/order-service/app.py": "print('order v2')\n"})
    commit(repo)
    assert affected(repo, base) == {"order-service": "services/order-service/app.py changed"}


def test_nothing_changed_affects_nothing_and_unrelated_files_neither(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    assert affected(repo, base) == {}
    write(repo, {"README.md": "more\n", "services/order-service-old/notes.txt": "x\n"})
    commit(repo)
    assert affected(repo, base) == {}


def test_depends_on_paths_and_version_files_count(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    write(repo, {"libs/common/util.py": "X = 2\n", "libs/common/more.py": "Y = 1\n"})
    commit(repo)
    assert affected(repo, base) == {"order-service": "libs/common/more.py changed and 1 more"}


def test_moving_a_file_out_of_a_service_affects_it(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "mv", "services/auth-service/app.py", "attic.py")
    commit(repo)
    assert list(affected(repo, base)) == ["auth-service"]


def test_ferry_yaml_affects_only_the_services_whose_entry_changed(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    write(
        repo, {"ferry.yaml": FERRY_YAML.replace("environments: {sit: {}}", "environments: {sit: {}, qa: {}}")}
    )
    commit(repo)
    assert affected(repo, base) == {}
    write(
        repo,
        {
            "ferry.yaml": FERRY_YAML.replace('version: "2.0.1"', 'version: "2.0.2"')
            + "  api-gateway:\n    path: services/api-gateway\n    version: '0.1.0'\n",
            "services/api-gateway/app.py": "print('gw')\n",
        },
    )
    commit(repo)
    assert affected(repo, base) == {
        "payment-service": "its ferry.yaml entry changed",
        "api-gateway": "services/api-gateway/app.py changed",
    }


def test_an_unreadable_old_ferry_yaml_affects_everything(repo: Path) -> None:
    write(repo, {"ferry.yaml": "services: [broken\n"})
    base = commit(repo)
    write(repo, {"ferry.yaml": FERRY_YAML})
    commit(repo)
    assert list(affected(repo, base)) == ["auth-service", "order-service", "payment-service"]


def test_paths_match_on_whole_components(repo: Path) -> None:
    service = load_project(repo).services["order-service"]
    assert touches(service, "services/order-service/app.py")
    assert touches(service, "services/order-service/VERSION")
    assert touches(service, "libs/common/util.py")
    assert not touches(service, "services/order-service2/app.py")
    assert not touches(service, "libs/commonality.py")
