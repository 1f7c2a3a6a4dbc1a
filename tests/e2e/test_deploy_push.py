"""Push deploys end to end: ``ferry deploy`` / ``history`` / ``rollback`` as processes, against a
``ferry cluster up --runtime sim`` process reached over HTTPS with a kubeconfig only.

Each test copies ``examples/`` into a temporary app repo whose ``ferry.yaml`` points the ``sit`` environment
at the test cluster (its own namespace) and ``registry`` at the cluster's embedded registry. The example
charts render ``repo:tag@sha256:...`` (a runtime pulls by digest), so the sim kubelet, which reads behaviour
from the tag, can be told ``2.0.0-never-ready``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from ferry.registry.client import RegistryClient
from tests.e2e.conftest_sim import SimCluster
from tests.integration.registry_support import make_image

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GOOD = "sha256:" + "1a" * 32
NEXT = "sha256:" + "2b" * 32
BAD = "sha256:" + "3c" * 32
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class App:
    root: Path
    kube: SimCluster
    registry: str

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ferry", args[0], *args[1:], "--repo", str(self.root)]

    def ferry(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cmd(*args), text=True, capture_output=True, timeout=timeout)

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = self.ferry(*args)
        assert proc.returncode == 0, f"ferry {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc

    def image(self) -> str:
        dep = json.loads(self.kube.run("get", "deployment", "demo-api", "-o", "json").stdout)
        image: str = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        return image

    def records(self) -> dict[str, str]:
        """Release record name → its status label."""
        out = self.kube.run("get", "secrets", "-l", "owner=ferry,name=demo-api", "-o", "json").stdout
        return {s["metadata"]["name"]: s["metadata"]["labels"]["status"] for s in json.loads(out)["items"]}

    def lease(self, record: str) -> str:
        """The record's lease-renewed annotation (changes with every heartbeat)."""
        out = self.kube.run("get", "secret", record, "-o", "json").stdout
        renewed: str = json.loads(out)["metadata"]["annotations"]["ferry.dev/lease-renewed"]
        return renewed

    def history(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(
            self.ok("history", "demo-api", "--env", "sit", "--output", "json").stdout
        )
        return rows

    def rolled_out(self) -> None:
        self.kube.run("rollout", "status", "deployment/demo-api", "--timeout=60s", timeout=90)


@pytest.fixture
def app(sim_kube: SimCluster, sim_cluster: SimCluster, tmp_path: Path) -> App:
    root = tmp_path / "app"
    shutil.copytree(EXAMPLES, root)
    # The chart renders repo:tag@digest, so the sim kubelet can read behaviour from the tag.
    helpers = (root / "helm" / "demo-api" / "templates" / "_helpers.tpl").read_text()
    assert "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}@" in helpers
    registry = str(json.loads((sim_cluster.data_dir / "cluster.json").read_text())["registry"])
    dead = tmp_path / "dead-kubeconfig"
    config = yaml.safe_load(sim_kube.kubeconfig.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:9"  # the discard port: nothing listens
    dead.write_text(yaml.safe_dump(config))
    model = yaml.safe_load((root / "ferry.yaml").read_text())
    model.pop("configRepo", None)
    model["registry"] = registry
    model["environments"] = [
        {"name": "sit", "namespace": sim_kube.namespace, "cluster": {"kubeconfig": str(sim_kube.kubeconfig)}},
        {"name": "qa", "namespace": sim_kube.namespace, "cluster": {"kubeconfig": str(dead)}},
    ]
    (root / "ferry.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    return App(root, sim_kube, registry)


def test_deploy_healthy_then_history(app: App) -> None:
    proc = app.ok(
        "deploy", "demo-api", "--env", "sit", "--tag", "1.0.0", "--digest", GOOD, "--set", "replicaCount=3"
    )
    assert "v1 (1.0.0) deployed" in proc.stdout
    assert "demo-api: new ReplicaSet demo-api-" in proc.stdout and " 3/3 ready" in proc.stdout
    assert "new ReplicaSet demo-api-" in proc.stdout  # live progress, plain lines off a terminal
    assert app.image() == f"{app.registry}/demo-api:1.0.0@{GOOD}"
    app.rolled_out()
    assert app.records() == {"ferry.release.demo-api.v1": "deployed"}
    [row] = app.history()
    assert (row["revision"], row["status"], row["tag"], row["digest"]) == (1, "deployed", "1.0.0", GOOD)
    replicas = app.kube.run("get", "deployment", "demo-api", "-o", "jsonpath={.status.readyReplicas}").stdout
    assert replicas == "3"  # --set reached the chart
    assert row["who"] and row["updated"]
    table = app.ok("history", "demo-api", "--env", "sit").stdout.splitlines()
    assert table[0].split()[:4] == ["REVISION", "STATUS", "TAG", "DIGEST"]
    assert table[1].split()[:3] == ["1", "deployed", "1.0.0"]


def test_never_ready_rolls_back_automatically(app: App) -> None:
    app.ok("deploy", "demo-api", "--env", "sit", "--tag", "1.0.0", "--digest", GOOD)
    proc = app.ferry("deploy", "demo-api", "--env", "sit", "--tag", "2.0.0-never-ready", "--digest", BAD,
                     "--timeout", "6")  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: rollout of demo-api in sit failed: pods not ready: demo-api-"), line
    assert "ContainersNotReady" in line and line.endswith("rolled back to v1 (1.0.0)"), line
    assert app.image() == f"{app.registry}/demo-api:1.0.0@{GOOD}"
    app.rolled_out()
    rows = {r["revision"]: r for r in app.history()}
    assert (rows[1]["status"], rows[2]["status"]) == ("deployed", "rolled-back")
    assert rows[2]["rolledBackTo"] == 1 and "pods not ready" in rows[2]["reason"]
    assert app.records() == {
        "ferry.release.demo-api.v1": "deployed",
        "ferry.release.demo-api.v2": "rolled-back",
    }


def test_rollback_to_a_revision(app: App) -> None:
    app.ok("deploy", "demo-api", "--env", "sit", "--tag", "1.0.0", "--digest", GOOD)
    app.ok("deploy", "demo-api", "--env", "sit", "--tag", "1.1.0", "--digest", NEXT)
    assert app.image().endswith(f":1.1.0@{NEXT}")
    proc = app.ok("rollback", "demo-api", "--env", "sit", "--to", "1")
    assert "v3 (1.0.0) deployed" in proc.stdout
    assert app.image() == f"{app.registry}/demo-api:1.0.0@{GOOD}"
    rows = {r["revision"]: r for r in app.history()}
    assert [rows[v]["status"] for v in (1, 2, 3)] == ["superseded", "superseded", "deployed"]
    assert rows[3]["kind"] == "rollback to v1" and rows[3]["digest"] == GOOD
    again = app.ferry("rollback", "demo-api", "--env", "sit", "--to", "3")
    assert (
        again.returncode == 1
        and again.stderr.strip() == "error: revision 3 is the one deployed now: nothing to roll back"
    )


def test_killed_deploy_is_recovered_by_the_next(app: App) -> None:
    app.ok("deploy", "demo-api", "--env", "sit", "--tag", "1.0.0", "--digest", GOOD)
    victim = subprocess.Popen(
        app.cmd("deploy", "demo-api", "--env", "sit", "--tag", "2.0.0-never-ready", "--digest", BAD, "--timeout", "120"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for("v2 deploying", lambda: app.records().get("ferry.release.demo-api.v2") == "deploying")
        wait_for("the never-ready rollout to start", lambda: "never-ready" in app.image())
        first = app.lease("ferry.release.demo-api.v2")
        renewed = wait_for("a heartbeat", lambda: app.lease("ferry.release.demo-api.v2") != first, timeout=30)
        assert renewed
        busy = app.ferry("deploy", "demo-api", "--env", "sit", "--tag", "1.0.1", "--digest", NEXT)
        assert busy.returncode == 1 and "revision 2 is deploying by " in busy.stderr, busy.stderr
        assert "ferry.release.demo-api.v3" not in app.records()  # refused before recording anything
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert app.records()["ferry.release.demo-api.v2"] == "deploying"  # left behind by the dead process
    proc = app.ok("deploy", "demo-api", "--env", "sit", "--tag", "1.0.1", "--digest", NEXT)
    assert "recovered v2: left deploying, marked failed" in proc.stdout
    assert "v3 (1.0.1) deployed" in proc.stdout
    assert app.image().endswith(f":1.0.1@{NEXT}")
    app.rolled_out()
    rows = {r["revision"]: r for r in app.history()}
    assert [rows[v]["status"] for v in (1, 2, 3)] == ["superseded", "failed", "deployed"]
    assert "interrupted" in rows[2]["reason"] and "no longer running" in rows[2]["reason"]


def test_tag_resolved_from_the_registry(app: App) -> None:
    image = make_image("deploy-push")

    async def push() -> None:
        async with RegistryClient(app.registry) as client:
            await client.push_image("demo-api", "1.2.0", image.manifest, image.blobs)

    asyncio.run(push())
    app.ok("deploy", "demo-api", "--env", "sit", "--tag", "1.2.0")
    assert app.image() == f"{app.registry}/demo-api:1.2.0@{image.digest}"


def _nothing_applied(app: App) -> None:
    assert app.records() == {}
    out = app.kube.run(
        "get", "deployments,configmaps", "-l", "app.kubernetes.io/managed-by=ferry", "-o", "name"
    ).stdout
    assert out.strip() == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--env", "sit", "--tag", "1.0.0", "--digest", GOOD), "unknown service 'no-such'"),
        (("--env", "uat", "--tag", "1.0.0", "--digest", GOOD), "unknown environment 'uat'"),
        (("--env", "sit", "--tag", "9.9.9"), "tag 9.9.9 not found in "),
        (
            ("--env", "qa", "--tag", "1.0.0", "--digest", GOOD),
            "cannot reach the cluster at https://127.0.0.1:9",
        ),
        (
            ("--env", "sit", "--tag", "1.0.0", "--digest", GOOD, "--set", "replicaCount=0"),
            "values do not match demo-api/values.schema.json: replicaCount: minimum: got 0, want 1",
        ),
    ],
    ids=[
        "unknown-service",
        "unknown-env",
        "tag-not-in-registry",
        "unreachable-cluster",
        "values-fail-schema",
    ],
)
def test_bad_input_is_one_line_and_applies_nothing(app: App, args: tuple[str, ...], expected: str) -> None:
    service = "no-such" if expected.startswith("unknown service") else "demo-api"
    proc = app.ferry("deploy", service, *args)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and expected in line, line
    _nothing_applied(app)


def test_broken_chart_is_one_line_and_applies_nothing(app: App) -> None:
    (app.root / "helm" / "demo-api" / "templates" / "broken.yaml").write_text(
        "kind: ConfigMap\n{{ .Values.nope.deeper }}\n"
    )
    proc = app.ferry("deploy", "demo-api", "--env", "sit", "--tag", "1.0.0", "--digest", GOOD)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "broken.yaml" in line, line
    _nothing_applied(app)
