"""`ferry init`: scaffolds ferry.yaml and the config repo from what the repository holds; refuses to clobber."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ferry.build.project import load_project
from ferry.cli.init import init
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.platform import load_platform
from tests.unit.configrepo_support import git


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")  # no user identity: ferry init must still commit
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "shop"
    files = {
        "services/orders/VERSION": "1.4.2\n",
        "services/orders/app.py": "print('orders')\n",
        "services/orders/tests/test_x.py": "",
        "services/web/package.json": json.dumps({"name": "web", "version": "2.0.0"}),
        "services/web/server.js": "",
        "services/legacy/Dockerfile": "FROM scratch\n",
        "helm/orders/Chart.yaml": "apiVersion: v2\nname: orders\nversion: 0.1.0\n",
        "helm/monitoring/Chart.yaml": "apiVersion: v2\nname: monitoring\nversion: 0.1.0\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_init_writes_a_ferry_yaml_both_halves_load(app: Path) -> None:
    result = CliRunner().invoke(init, [str(app)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "created ferry.yaml",
        "created deploy/ (git repository: README.md, envs/{sit,qa,prod})",
        "service legacy: dockerfile, no chart yet (helm/legacy)",
        "service orders: python, helm/orders",
        "service web: node, no chart yet (helm/web)",
        "note    helm/monitoring: a chart with no service of that name (set a service's `chart:`)",
        "app shop: environments sit → qa → prod, namespaces shop-<env>",
    ]
    project = load_project(app)
    assert project.services["orders"].test == "python3 -m unittest discover -s tests"
    assert project.services["web"].version.kind == "packageJson"
    assert project.services["legacy"].version.value == "0.1.0"
    platform = load_platform(app)
    assert [(e.name, e.namespace, e.promotion.approval) for e in platform.environments] == [
        ("sit", "shop-sit", False),
        ("qa", "shop-qa", False),
        ("prod", "shop-prod", True),
    ]
    assert platform.services["orders"].chart == "helm/orders"
    assert platform.config_repo is not None and platform.config_repo.path == app / "deploy"


def test_the_config_repo_is_a_committed_git_repository_with_the_layout(app: Path) -> None:
    CliRunner().invoke(init, [str(app)])
    deploy = app / "deploy"
    assert git(deploy, "log", "--format=%s") == "ferry init: config repo layout"
    assert git(deploy, "status", "--porcelain") == ""
    tracked = set(git(deploy, "ls-files").splitlines())
    assert {
        "README.md",
        "envs/sit/values.yaml",
        "envs/qa/orders/values.yaml",
        "envs/prod/web/values.yaml",
    } <= tracked
    assert "envs/<env>/<service>/pin.yaml" in (deploy / "README.md").read_text()
    repo = ConfigRepo.for_platform(load_platform(app))
    assert repo.values_files("qa", "orders")[1].path == "envs/qa/orders/values.yaml"
    assert not list(app.glob(".deploy.*")) and not list(app.glob(".ferry.yaml.*"))  # no temporaries left


def test_an_existing_ferry_yaml_is_refused_without_force(app: Path) -> None:
    (app / "ferry.yaml").write_text("# mine\n")
    result = CliRunner().invoke(init, [str(app)])
    assert result.exit_code == 2
    assert result.output == f"error: {app / 'ferry.yaml'}: already exists (use --force to overwrite it)\n"
    assert (app / "ferry.yaml").read_text() == "# mine\n"
    assert not (app / "deploy").exists()  # nothing written at all
    forced = CliRunner().invoke(init, [str(app), "--force", "--app", "orders-app", "--config-repo", "../cfg"])
    assert forced.exit_code == 0, forced.output
    assert load_platform(app).environments[0].namespace == "orders-app-sit"
    assert (app.parent / "cfg" / ".git").is_dir()


def test_an_existing_config_repo_is_kept(app: Path) -> None:
    (app / "deploy").mkdir()
    (app / "deploy" / "mine.txt").write_text("keep me\n")
    result = CliRunner().invoke(init, [str(app)])
    assert result.exit_code == 0
    assert (
        "created deploy/" not in result.output
        and f"kept    {app / 'deploy'} (already there)" in result.output
    )
    assert sorted(p.name for p in (app / "deploy").iterdir()) == ["mine.txt"]


def test_a_repository_without_services_still_gets_a_loadable_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(init, [str(tmp_path / "empty")])
    assert result.exit_code == 2 and "not a directory" in result.output
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(init, [str(tmp_path / "empty")])
    assert result.exit_code == 0, result.output
    assert "no services found under services/*" in result.output
    assert load_platform(tmp_path / "empty").services == {}
    assert load_project(tmp_path / "empty").services == {}


def test_an_invalid_service_directory_name_fails_before_writing(app: Path) -> None:
    (app / "services" / "Billing").mkdir()
    result = CliRunner().invoke(init, [str(app)])
    assert result.exit_code == 2
    assert "services/Billing: a service name must be lowercase" in result.output
    assert not (app / "ferry.yaml").exists() and not (app / "deploy").exists()
