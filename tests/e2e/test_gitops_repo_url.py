"""``ferry reconcile --repo-url``: the app repository cloned from a git URL (how the reconciler runs in a
cluster, charts/ferry-reconciler), syncing a sim cluster process from a config repo that is a git URL too."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.test_gitops_reconcile import Setup, ferry_cli, setup

__all__ = ["setup"]  # the fixture used below (sim_cluster comes from conftest.py)

pytestmark = pytest.mark.e2e


def test_reconcile_from_an_app_repo_url(setup: Setup) -> None:
    text = (setup.app / "ferry.yaml").read_text()
    (setup.app / "ferry.yaml").write_text(
        text.replace("configRepo: ../deploy", f"configRepo: file://{setup.repo.path}")
    )
    git = ["git", "-C", str(setup.app), "-c", "user.name=alice", "-c", "user.email=a@x"]
    subprocess.run([*git, "init", "--quiet", "--initial-branch=main"], check=True)
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "app"], check=True)
    sha = setup.pin("sit", "order-service", 1)
    once = ferry_cli(
        setup, "reconcile", "--repo-url", f"file://{setup.app}", "--once", "--health-timeout", "60"
    )
    assert once.returncode == 0, once.stderr
    assert setup.settled("sit", "order-service", sha), setup.status("sit", "order-service")
    assert list((setup.tmp / "ferry-home" / "repos" / "app").glob("*/ferry.yaml"))  # the clone it read
    bad = ferry_cli(setup, "reconcile", "--repo-url", "file:///nonexistent/app.git", "--once")
    assert bad.returncode != 0
    assert (
        bad.stderr.strip()
        .splitlines()[-1]
        .startswith("error: cannot clone the app repo file:///nonexistent/app.git")
    )
