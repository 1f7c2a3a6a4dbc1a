"""``ferry reconcile`` end to end: a real process (started and killed by the test) against a ``ferry cluster up
--runtime sim`` process, over HTTPS with a kubeconfig only, reading a git config repo in tmp.

Each test copies examples/ into tmp with environments on their own namespaces of the session's sim cluster,
writes pins with ``ConfigRepo.write_pin`` (what ``ferry promote`` will do), and looks at the outcome the way a
user would: ``kubectl`` for the workloads, the ``ferry-app-<env>-<service>`` status ConfigMaps for the
reconciler's report, and its log lines. Slow intervals (600 s) are used where the test must prove that
something happened *because of* the webhook or the restart, not because of polling.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.request import Request, urlopen

import pytest

from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.pins import Pin
from tests.e2e.conftest_sim import SimCluster

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AUTHOR = "alice <alice@example.invalid>"
T = TypeVar("T")
HOOK_HEADERS = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
FERRY = [sys.executable, "-m", "ferry"]  # the real CLI, error handling included


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 90.0, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reconciler:
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Setup:
    tmp: Path
    cluster: SimCluster
    prefix: str
    app: Path
    repo: ConfigRepo
    running: list[Reconciler] = field(default_factory=list)

    def ns(self, env: str) -> str:
        return f"{self.prefix}-{env}"

    def kube(self, env: str) -> SimCluster:
        return self.cluster.namespaced(self.ns(env))

    def pin(self, env: str, service: str, n: int) -> str:
        pin = Pin(repository=f"127.0.0.1:5000/{service}", tag=f"1.0.{n}-abc1234", digest=f"sha256:{n:064x}")
        sha = self.repo.write_pin(env, service, pin, f"promote {service} 1.0.{n} → {env}", AUTHOR)
        assert sha is not None
        return sha

    def start(self, *args: str) -> Reconciler:
        log = self.tmp / f"reconcile-{len(self.running)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [*FERRY, "reconcile", "--repo", str(self.app), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, FERRY_HOME=str(self.tmp / "ferry-home")),
            )
        r = Reconciler(proc, log)
        self.running.append(r)
        return r

    def status(self, env: str, service: str) -> dict[str, str]:
        out = self.kube(env).run("get", "configmap", f"ferry-app-{env}-{service}", "-o", "json", check=False)
        if out.returncode != 0:
            return {}
        data: dict[str, str] = json.loads(out.stdout).get("data") or {}
        return data

    def settled(self, env: str, service: str, sha: str) -> dict[str, str] | None:
        """The status once the app is Synced and Healthy at ``sha`` with no operation in flight."""
        s = self.status(env, service)
        ok = (s.get("sync"), s.get("health"), s.get("syncedRevision"), s.get("operation")) == (
            "Synced",
            "Healthy",
            sha,
            "",
        )
        return s if ok else None

    def get(self, env: str, kind: str, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = json.loads(self.kube(env).run("get", kind, name, "-o", "json").stdout)
        return obj

    def replicasets(self, env: str, service: str) -> dict[str, str]:
        """uid → revision annotation of the service's ReplicaSets."""
        out = self.kube(env).run("get", "rs", "-l", f"app.kubernetes.io/name={service}", "-o", "json").stdout
        return {
            rs["metadata"]["uid"]: rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
            for rs in json.loads(out)["items"]
        }


@pytest.fixture
def setup(tmp_path: Path, sim_cluster: SimCluster) -> Iterator[Setup]:
    prefix = f"gitops-{uuid.uuid4().hex[:6]}"
    app = tmp_path / "app"
    shutil.copytree(EXAMPLES, app, ignore=shutil.ignore_patterns(".ferry", "node_modules"))
    text = (app / "ferry.yaml").read_text()
    cluster = f"    cluster: {{kubeconfig: {sim_cluster.kubeconfig}}}\n"
    for env in ("sit", "qa", "prod"):
        text = text.replace(f"    namespace: shop-{env}\n", f"    namespace: {prefix}-{env}\n{cluster}")
    text = text.replace('promotion: {soakSeconds: 0, verify: "true"}', "sync: {mode: auto, selfHeal: false}")
    (app / "ferry.yaml").write_text(text)
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["commit", "--quiet", "--allow-empty", "-m", "init"],
    ):
        subprocess.run(
            ["git", "-C", str(deploy), *args],
            check=True,
            env=dict(os.environ, GIT_AUTHOR_NAME="seed", GIT_AUTHOR_EMAIL="s@x", GIT_COMMITTER_NAME="seed",
                     GIT_COMMITTER_EMAIL="s@x"),
        )  # fmt: skip
    repo = ConfigRepo(deploy, env_dirs={"sit": "envs/sit", "qa": "envs/qa", "prod": "envs/prod"})
    s = Setup(tmp_path, sim_cluster, prefix, app, repo)
    try:
        yield s
    finally:
        for r in s.running:
            if r.proc.poll() is None:
                r.proc.send_signal(signal.SIGTERM)
                try:
                    r.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    r.proc.kill()
                    r.proc.wait()


def test_pin_syncs_webhook_syncs_at_once_and_only_the_changed_service_rolls(setup: Setup) -> None:
    services = ("order-service", "payment-service", "auth-service")
    for service in services:
        first = setup.pin("sit", service, 1)
    port = free_port()
    # 600 s between polls: within this test, anything after the first pass happens because of the webhook.
    r = setup.start("--interval", "600", "--webhook", f"127.0.0.1:{port}", "--health-timeout", "60")
    for service in services:
        status = wait_for(
            f"sit/{service} Synced and Healthy", lambda s=service: setup.settled("sit", s, first)
        )
        last = json.loads(status["lastSync"])
        assert (last["sha"], last["result"], last["who"]) == (first, "Succeeded", "alice")
        assert status["digest"] == f"sha256:{1:064x}" and status["tag"] == "1.0.1-abc1234"
        assert status["healthySince"].endswith("Z")  # what the promotion gates' soak time reads
    before = {s: setup.replicasets("sit", s) for s in services}
    assert all(len(rs) == 1 for rs in before.values()), before

    second = setup.pin("sit", "order-service", 2)  # the "merged PR": only order-service moves
    body = json.dumps({"ref": "refs/heads/main", "after": second, "pusher": {"name": "alice"}}).encode()
    req = Request(f"http://127.0.0.1:{port}/hooks/git", data=body, headers=HOOK_HEADERS)
    with urlopen(req, timeout=10) as resp:
        assert resp.status == 202 and json.loads(resp.read())["after"] == second
    wait_for(
        "order-service synced at the second commit", lambda: setup.settled("sit", "order-service", second)
    )
    assert f"webhook: push to refs/heads/main after {second[:7]} by alice; refreshing now" in r.text()
    dep = setup.get("sit", "deployment", "order-service")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f"@sha256:{2:064x}")
    after = setup.replicasets("sit", "order-service")
    assert len(after) == 2 and set(before["order-service"]) < set(after)
    # Story 3: the other services' ReplicaSets are the very same objects, at the same revisions.
    for service in ("payment-service", "auth-service"):
        assert setup.replicasets("sit", service) == before[service]
        status = setup.status("sit", service)
        assert status["syncedRevision"] == first and len(json.loads(status["history"])) == 1
    assert (
        f"config repo at {second[:7]} (was {first[:7]}): 1 app(s) re-rendered: sit/order-service" in r.text()
    )


def test_kubectl_scale_is_healed_with_self_heal_and_reported_without(setup: Setup) -> None:
    sha = setup.pin("sit", "order-service", 1)
    setup.pin("qa", "order-service", 1)
    sha = str(setup.repo.head())
    setup.start("--interval", "1", "--health-timeout", "30")
    for env in ("sit", "qa"):
        wait_for(f"{env}/order-service settled", lambda e=env: setup.settled(e, "order-service", sha))
        setup.kube(env).run("scale", "deployment/order-service", "--replicas=6")

    # sit (selfHeal: true): reverted within an interval, and the history says who did it.
    def healed() -> dict[str, str] | None:
        s = setup.settled("sit", "order-service", sha)
        if not s or setup.get("sit", "deployment", "order-service")["spec"]["replicas"] != 4:
            return None
        return s if json.loads(s["lastSync"])["who"] == "ferry (self-heal)" else None

    status = wait_for("sit's scale reverted", healed)
    assert json.loads(status["lastSync"])["message"].startswith("self-heal: 1 changed")

    # qa (selfHeal: false): left as the human made it, reported OutOfSync with the changed path.
    ns = setup.ns("qa")
    qa = wait_for(
        "qa reported OutOfSync",
        lambda: (s := setup.status("qa", "order-service"))["sync"] == "OutOfSync" and s,
    )
    assert json.loads(qa["drift"]) == [f"Deployment {ns}/order-service: spec.replicas"]
    assert setup.get("qa", "deployment", "order-service")["spec"]["replicas"] == 6

    # kubectl rollout undo in sit is drift too: the template goes back to the old image, ferry puts it forward.
    newer = setup.pin("sit", "order-service", 2)
    wait_for("sit at the newer pin", lambda: setup.settled("sit", "order-service", newer))
    setup.kube("sit").run("rollout", "undo", "deployment/order-service")

    def forward_again() -> bool:
        s = setup.settled("sit", "order-service", newer)
        image = setup.get("sit", "deployment", "order-service")["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]
        heals = [h for h in json.loads((s or {}).get("history") or "[]") if h["who"] == "ferry (self-heal)"]
        return bool(s) and image.endswith(f"@sha256:{2:064x}") and len(heals) == 2

    wait_for("rollout undo reverted", forward_again)


def test_kill_9_mid_sync_then_restart_resumes_and_converges(setup: Setup) -> None:
    # Pods of this chart copy get ready 5 s after they start, so a sync stays in flight long enough to kill it.
    template = setup.app / "helm" / "order-service" / "templates" / "deployment.yaml"
    text = template.read_text()
    probe = "          readinessProbe:\n"
    assert probe in text
    template.write_text(text.replace(probe, probe + "            initialDelaySeconds: 5\n", 1))
    sha = setup.pin("sit", "order-service", 1)
    first = setup.start("--interval", "600", "--health-timeout", "60")
    op = wait_for(
        "the operation recorded",
        lambda: setup.status("sit", "order-service").get("operation"),
        every=0.05,
    )
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    recorded = json.loads(op)
    assert recorded["sha"] == sha and recorded["reason"] == "first sync"
    left = setup.status("sit", "order-service")
    assert left["operation"] != "" and left["lastSync"] == ""  # killed: nothing recorded as done

    second = setup.start("--interval", "600", "--health-timeout", "60")
    status = wait_for("resumed and converged", lambda: setup.settled("sit", "order-service", sha))
    last = json.loads(status["lastSync"])
    assert last["result"] == "Succeeded" and last["message"].startswith("resume of first sync: ")
    assert re.search(
        r"sit/order-service: resuming interrupted sync \w{7} \(first sync, phase \w+", second.text()
    )
    dep = setup.get("sit", "deployment", "order-service")
    assert dep["status"].get("readyReplicas") == 4 and dep["status"].get("updatedReplicas") == 4


def test_a_broken_chart_fails_its_app_only(setup: Setup) -> None:
    template = setup.app / "helm" / "auth-service" / "templates" / "deployment.yaml"
    template.write_text(template.read_text().replace("{{- with .Values.env }}", "{{- with .Values.env }"))
    setup.pin("sit", "auth-service", 1)
    sha = setup.pin("sit", "order-service", 1)
    proc = subprocess.run(
        [
            *FERRY,
            "reconcile",
            "--repo",
            str(setup.app),
            "--once",
            "--health-timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, FERRY_HOME=str(setup.tmp / "ferry-home")),
    )
    assert proc.returncode == 1, proc.stderr
    assert setup.settled("sit", "order-service", sha), setup.status("sit", "order-service")
    broken = setup.status("sit", "auth-service")
    assert broken["sync"] == "Unknown"
    assert broken["message"].startswith(
        f"cannot render {sha[:7]}: template auth-service/templates/deployment.yaml:"
    )
    assert json.loads(broken["lastSync"])["result"] == "Failed"
    assert "sit/auth-service: cannot render" in proc.stderr
    missing = setup.kube("sit").run("get", "deployment", "auth-service", check=False)
    assert missing.returncode != 0  # nothing of the broken app was applied


def ferry_cli(setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FERRY, *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, FERRY_HOME=str(setup.tmp / "ferry-home")),
    )


def test_manual_policy_reports_out_of_sync_until_ferry_sync(setup: Setup) -> None:
    text = (setup.app / "ferry.yaml").read_text()
    head = f"    namespace: {setup.ns('prod')}\n"
    (setup.app / "ferry.yaml").write_text(text.replace(head, f"{head}    sync: manual\n"))
    sha = setup.pin("prod", "order-service", 1)
    once = ferry_cli(setup, "reconcile", "--repo", str(setup.app), "--once")
    assert once.returncode == 0, once.stderr
    status = setup.status("prod", "order-service")
    assert status["sync"] == "OutOfSync" and status["lastSync"] == ""
    assert (
        status["message"]
        == f"manual sync policy: {sha[:7]} is not synced (ferry sync order-service --env prod)"
    )
    assert setup.kube("prod").run("get", "deployment", "order-service", check=False).returncode != 0

    done = ferry_cli(setup, "sync", "order-service", "--env", "prod", "--repo", str(setup.app))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"prod/order-service: Succeeded at {sha[:7]}: Synced, Healthy"
    assert setup.settled("prod", "order-service", sha)
    assert setup.get("prod", "deployment", "order-service")["status"].get("readyReplicas") == 4

    bad = ferry_cli(setup, "sync", "order-servce", "--env", "prod", "--repo", str(setup.app))
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("error: ") and "order-servce" in bad.stderr and bad.stderr.count("\n") == 1
    unpinned = ferry_cli(setup, "sync", "auth-service", "--env", "prod", "--repo", str(setup.app))
    assert unpinned.returncode == 1
    assert unpinned.stderr == (
        "error: no image is pinned for auth-service in prod: promote a build first "
        "(ferry promote auth-service --to prod --build <record>)\n"
    )
