"""Issue 6's bad input through the CLI (``ferry promote`` / ``sync`` / ``reconcile``): an unknown environment
or service, an unreachable cluster, values failing the chart's schema — each one line naming the cause, a
non-zero exit, and nothing committed or applied (checked afterwards). Push deploys have the same cases end to
end in tests/e2e/test_deploy_push.py; the config repo's push race in tests/unit/test_configrepo_race.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ferry.cli import main
from tests.unit.gitops_support import World, one_pass, world

DEAD_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: dead, context: {cluster: dead, user: u}}]
current-context: dead
"""


@pytest.fixture
def dead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """The example platform whose environments (no ``cluster:``) point at a cluster nothing answers for."""
    home = tmp_path / "ferry-home"
    (home / "cluster").mkdir(parents=True)
    (home / "cluster" / "kubeconfig").write_text(DEAD_KUBECONFIG)  # 9 is the discard port: nothing listens
    monkeypatch.setenv("FERRY_HOME", str(home))
    monkeypatch.setenv("FERRY_USER", "alice <alice@example.invalid>")
    w = world(tmp_path)
    w.pin("sit", "order-service")
    return w


def run(w: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--repo", str(w.root)])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("promote", "order-service", "--to", "uat"),
            "error: ferry.yaml: unknown environment 'uat' (known: sit, qa, prod)",
        ),
        (
            ("promote", "orders", "--to", "qa"),
            "error: ferry.yaml: unknown service 'orders' (known: demo-api, ",
        ),
        (
            ("promote", "order-service", "--from", "sit", "--to", "qa"),
            "error: promote order-service sit → qa refused by gate health: sit is Unknown (cannot reach the "
            "cluster at https://127.0.0.1:9: ",
        ),
        (
            ("sync", "order-service", "--env", "sit"),
            "error: cannot reach the cluster at https://127.0.0.1:9: ",
        ),
    ],
    ids=["unknown-env", "unknown-service", "promote-unreachable", "sync-unreachable"],
)
def test_bad_input_is_one_line_and_commits_nothing(dead: World, args: tuple[str, ...], line: str) -> None:
    head = dead.repo.head()
    code, output = run(dead, *args)
    assert code == 1
    [only] = output.splitlines()
    assert only.startswith(line), only
    assert dead.repo.head() == head  # no commit: the config repo is as it was


async def test_values_failing_the_schema_fail_their_app_only_and_apply_nothing(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pin("sit", "order-service")
    w.pin("sit", "payment-service")
    sha = w.commit("envs/sit/order-service/values.yaml", "replicaCount: 0\n")
    reconciler = w.reconciler()
    await one_pass(reconciler)
    status = w.status("sit", "order-service")
    assert status is not None and status["sync"] == "Unknown"
    assert status["message"].startswith(
        f"cannot render {sha[:7]}: values do not match order-service/values.schema.json: replicaCount: minimum"
    ), status["message"]
    assert json.loads(status["lastSync"])["result"] == "Failed"
    assert w.deployment("sit", "order-service") is None  # nothing of the refused app was applied
    assert w.deployment("sit", "payment-service") is not None  # the other app synced
    assert reconciler.failed == {("sit", "order-service")}
