"""``ferry cluster up --gitops APP_REPO``: the cluster supervises the GitOps reconciler.

One ``ferry cluster up --detach --runtime sim --gitops <app>`` process (module-scoped) over a copy of examples/
whose environments name no cluster, so "the embedded cluster" must mean this one whatever its data dir is
called. Pins are written with ``ConfigRepo.write_pin`` (what ``ferry promote`` does) and announced on the
webhook address ``cluster.json`` gives; the outcome is read the way a user would: ``kubectl`` and the
reconciler's status ConfigMaps. Then the reconciler is killed (the cluster starts a new one) and the cluster
is stopped (the reconciler goes with it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.request import Request, urlopen

import pytest

from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.pins import Pin
from tests.e2e.conftest import Kube, ferry

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AUTHOR = "alice <alice@example.invalid>"
SERVICE = "order-service"
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still has a pid; only a process that is not exiting counts.
    stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
    return stat.split(") ")[-1][:1] not in ("Z", "X", "")


@dataclass
class GitopsCluster:
    data: Path
    kube: Kube
    repo: ConfigRepo
    namespace: str

    @property
    def state(self) -> dict[str, str]:
        gitops: dict[str, str] = json.loads((self.data / "cluster.json").read_text())["gitops"]
        return gitops

    def reconciler_pid(self) -> int | None:
        text = Path(self.state["pidFile"]).read_text().strip() if Path(self.state["pidFile"]).exists() else ""
        return int(text) if text.isdigit() and alive(int(text)) else None

    def pin(self, n: int) -> str:
        pin = Pin(repository=f"127.0.0.1:5000/{SERVICE}", tag=f"1.0.{n}-abc1234", digest=f"sha256:{n:064x}")
        sha = self.repo.write_pin("sit", SERVICE, pin, f"promote {SERVICE} 1.0.{n} → sit", AUTHOR)
        assert sha is not None
        return sha

    def poke(self) -> None:
        req = Request(self.state["webhook"], data=b"", method="POST")
        with urlopen(req, timeout=10) as resp:
            assert resp.status == 202

    def synced_at(self, sha: str) -> bool:
        out = self.kube.run("get", "configmap", f"ferry-app-sit-{SERVICE}", "-o", "json", check=False)
        if out.returncode != 0:
            return False
        data = json.loads(out.stdout).get("data") or {}
        return (data.get("sync"), data.get("syncedRevision")) == ("Synced", sha)

    def image(self) -> str:
        out = self.kube.run(
            "get", "deployment", SERVICE, "-o", "jsonpath={.spec.template.spec.containers[0].image}"
        )
        return out.stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitopsCluster]:
    base = tmp_path_factory.mktemp("gitops-cluster")
    app = base / "app"
    shutil.copytree(EXAMPLES, app, ignore=shutil.ignore_patterns(".ferry", "node_modules"))
    namespace = f"gitops-{uuid.uuid4().hex[:6]}-sit"
    text = (app / "ferry.yaml").read_text().replace("namespace: shop-sit", f"namespace: {namespace}")
    (app / "ferry.yaml").write_text(text)
    deploy = base / "deploy"  # configRepo: ../deploy
    deploy.mkdir()
    git_env = dict(os.environ, GIT_AUTHOR_NAME="seed", GIT_AUTHOR_EMAIL="s@x", GIT_COMMITTER_NAME="seed",
                   GIT_COMMITTER_EMAIL="s@x")  # fmt: skip
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["commit", "--quiet", "--allow-empty", "-m", "init"],
    ):
        subprocess.run(["git", "-C", str(deploy), *args], check=True, env=git_env)
    data = base / "data"  # deliberately not named "cluster": the reconciler must still find this cluster
    up = ferry(
        "cluster", "up", "--detach", "--data-dir", str(data), "--listen", "127.0.0.1:0", "--runtime", "sim",
        "--registry", "off", "--gitops", str(app),
    )  # fmt: skip
    assert "gitops reconciler" in up.stdout, up.stdout
    repo = ConfigRepo(deploy, env_dirs={"sit": "envs/sit", "qa": "envs/qa", "prod": "envs/prod"})
    kube = Kube(data, base / "kubectl-cache", namespace)
    try:
        yield GitopsCluster(data, kube, repo, namespace)
    finally:
        ferry("cluster", "down", "--data-dir", str(data), check=False)


def test_cluster_status_names_the_reconciler_and_a_promotion_syncs_through_its_webhook(
    cluster: GitopsCluster,
) -> None:
    state = cluster.state
    assert state["webhook"].startswith("http://127.0.0.1:") and state["webhook"].endswith("/hooks/git")
    pid = wait_for("the reconciler's pid", cluster.reconciler_pid)
    status = ferry("cluster", "status", "--data-dir", str(cluster.data))
    assert f"gitops reconciler (pid {pid}): repo " in status.stdout
    assert state["webhook"] in status.stdout

    first = cluster.pin(1)
    wait_for("the webhook to answer", lambda: _poked(cluster))
    wait_for(f"sit/{SERVICE} Synced at {first[:7]}", lambda: cluster.synced_at(first))
    assert cluster.image() == f"127.0.0.1:5000/{SERVICE}:1.0.1-abc1234@sha256:{1:064x}"
    log = Path(state["log"]).read_text()
    assert "webhook listening on" in log and f"sit/{SERVICE}: sync {first[:7]}" in log


def test_a_killed_reconciler_is_restarted_and_keeps_syncing(cluster: GitopsCluster) -> None:
    old = wait_for("the reconciler's pid", cluster.reconciler_pid)
    os.kill(old, signal.SIGKILL)
    new = wait_for("a new reconciler", lambda: (p := cluster.reconciler_pid()) is not None and p != old and p)
    assert alive(new) and not alive(old)
    second = cluster.pin(2)
    wait_for("the new reconciler's webhook", lambda: _poked(cluster))
    wait_for(f"sit/{SERVICE} Synced at {second[:7]}", lambda: cluster.synced_at(second))
    assert cluster.image() == f"127.0.0.1:5000/{SERVICE}:1.0.2-abc1234@sha256:{2:064x}"
    assert Path(cluster.state["log"]).read_text().count(" started: ") >= 2


def test_cluster_down_stops_the_reconciler(cluster: GitopsCluster) -> None:
    pid = wait_for("the reconciler's pid", cluster.reconciler_pid)
    pid_file = Path(cluster.state["pidFile"])
    ferry("cluster", "down", "--data-dir", str(cluster.data))
    assert not alive(pid)
    assert not pid_file.exists()


def _poked(cluster: GitopsCluster) -> bool:
    try:
        cluster.poke()
    except OSError:
        return False  # a restarted reconciler is not listening yet
    return True
