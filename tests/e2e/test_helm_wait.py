"""Helm waits for real rollouts: helm-python-sdk install/upgrade/rollback with ``wait`` enabled, both the
``watcher`` (kstatus over WatchList) and ``legacy`` (polling) strategies, on a cluster with controllers and the
simulated kubelet. A release whose image never becomes ready fails when the wait times out."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import helm_python as helm
import pytest

from tests.e2e.conftest import Kube, ferry

pytestmark = pytest.mark.e2e

CHART = Path(__file__).parent / "charts" / "web"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    base = tmp_path_factory.mktemp("helm-wait")
    data = base / "cluster"
    ferry(
        "cluster",
        "up",
        "--detach",
        "--data-dir",
        str(data),
        "--listen",
        "127.0.0.1:0",
        "--runtime",
        "sim",
        "--nodes",
        "2",
    )
    try:
        yield Kube(data, base / "kubectl-cache")
    finally:
        ferry("cluster", "down", "--data-dir", str(data), check=False)


@pytest.fixture
def kube(sim: Kube) -> Kube:
    k = Kube(sim.data_dir, sim.cache_dir, f"wait-{uuid.uuid4().hex[:8]}")
    k.run("create", "namespace", k.namespace, namespaced=False)
    return k


def _deployment(kube: Kube, name: str) -> dict:
    obj: dict = json.loads(kube.run("get", "deployment", name, "-o", "json").stdout)
    return obj


@pytest.mark.parametrize("strategy", ["watcher", "legacy"])
def test_install_waits_for_the_rollout_and_a_never_ready_upgrade_fails(kube: Kube, strategy: str) -> None:
    with helm.Config(kubeconfig_path=kube.kubeconfig, namespace=kube.namespace) as cfg:
        release = cfg.install(CHART, "shop", wait=strategy, timeout=60)
        assert release["status"] == "deployed"
        status = _deployment(kube, "shop-web")["status"]
        # Helm returned only once the Deployment was rolled out: every replica updated and available
        assert status["updatedReplicas"] == 2 and status["availableReplicas"] == 2

        # Helm gives up when its wait deadline passes ("context deadline exceeded": HelmCancelledError)
        with pytest.raises((helm.HelmReleaseError, helm.HelmCancelledError), match=r"not ready|deadline"):
            cfg.upgrade(CHART, "shop", {"image": {"tag": "2.0.0-never-ready"}}, wait=strategy, timeout=8)
        history = {r["revision"]: r["status"] for r in cfg.history("shop")}
        assert history[2] == "failed"

        cfg.rollback("shop", version=1, wait=strategy, timeout=60)
        deploy = _deployment(kube, "shop-web")
        assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "myrepo/web:1.0.0"
        assert deploy["status"]["availableReplicas"] == 2
        assert {r["revision"]: r["status"] for r in cfg.history("shop")}[3] == "deployed"
