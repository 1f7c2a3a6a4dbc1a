"""The reconciler in a cluster: the app repository cloned from a git URL and fetched before each tick, and
environments without ``cluster:`` meaning the cluster the pod runs in (``$FERRY_IN_CLUSTER``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ferry.delivery.apply import ClientConfig
from ferry.delivery.apps import client_config
from ferry.delivery.environments import ClusterRef, embedded_kubeconfig
from ferry.delivery.gitops.apprepo import clone_app_repo
from ferry.delivery.repoerrors import ConfigRepoError
from tests.unit.configrepo_support import git, origin
from tests.unit.gitops_support import world


def test_the_app_repo_is_cloned_from_a_url_and_refresh_catches_up(tmp_path: Path) -> None:
    url = origin(tmp_path, {"ferry.yaml": "app: shop\n", "helm/web/Chart.yaml": "name: web\n"})
    app = clone_app_repo(url, cache_root=tmp_path / "cache")
    assert app.path.is_relative_to(tmp_path / "cache" / "app")
    assert (app.path / "ferry.yaml").read_text() == "app: shop\n"
    seed = tmp_path / "seed"
    (seed / "helm/web/Chart.yaml").write_text("name: web\nversion: 0.2.0\n")
    git(seed, "commit", "--quiet", "-am", "chart 0.2.0")
    git(seed, "push", "--quiet", str(tmp_path / "origin.git"), "main")
    head = app.refresh()
    assert head == git(seed, "rev-parse", "HEAD")
    assert (app.path / "helm/web/Chart.yaml").read_text().endswith("version: 0.2.0\n")


def test_an_unreachable_app_repo_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigRepoError, match=r"^cannot clone the app repo file:///nonexistent/app.git: "):
        clone_app_repo("file:///nonexistent/app.git", cache_root=tmp_path)


def test_in_cluster_environments_use_the_service_account_or_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = world(tmp_path).platform.environment("sit")
    assert env.cluster == ClusterRef(embedded_kubeconfig(), None)
    other = replace(env, cluster=ClusterRef(None, "kind-prod"))
    explicit = replace(env, cluster=ClusterRef(Path("/etc/kube/prod"), "prod"))
    monkeypatch.setenv("KUBECONFIG", "/etc/ferry/kube/config")
    assert client_config(env) == ClientConfig(embedded_kubeconfig(), None)  # on a laptop: the embedded one
    monkeypatch.setenv("FERRY_IN_CLUSTER", "1")
    assert client_config(env) == ClientConfig(None, None)  # lightkube: the pod's ServiceAccount
    assert client_config(other) == ClientConfig(Path("/etc/ferry/kube/config"), "kind-prod")
    assert client_config(explicit) == ClientConfig(Path("/etc/kube/prod"), "prod")
