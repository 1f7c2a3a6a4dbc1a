"""A pin deleted from the config repo, end to end: ``ferry reconcile --once`` against a sim cluster process
prunes the app's objects and its status (``sync.prune: true``), and only reports them orphaned in an
environment with ``prune: false`` (checked with kubectl)."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.test_gitops_reconcile import Setup, ferry_cli, setup

__all__ = ["setup"]  # the fixture used below (sim_cluster comes from conftest.py)

pytestmark = pytest.mark.e2e


def remove_pin(s: Setup, env: str, service: str) -> str:
    git = ["git", "-C", str(s.repo.path), "-c", "user.name=alice", "-c", "user.email=a@x"]
    subprocess.run([*git, "rm", "--quiet", "-r", f"envs/{env}/{service}"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", f"retire {service} from {env}"], check=True)
    return subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def names(s: Setup, env: str, kind: str, service: str) -> list[str]:
    out = s.kube(env).run("get", kind, "-l", f"ferry.dev/app={env}-{service}", "-o", "json").stdout
    return sorted(o["metadata"]["name"] for o in json.loads(out)["items"])


def test_a_deleted_pin_prunes_the_app_where_prune_is_on_and_is_reported_where_off(setup: Setup) -> None:
    text = (setup.app / "ferry.yaml").read_text()
    head = f"    namespace: {setup.ns('prod')}\n"
    (setup.app / "ferry.yaml").write_text(
        text.replace(head, f"{head}    sync: {{mode: auto, prune: false}}\n")
    )
    for env in ("sit", "prod"):
        setup.pin(env, "order-service", 1)
        setup.pin(env, "payment-service", 1)
    once = ferry_cli(setup, "reconcile", "--repo", str(setup.app), "--once", "--health-timeout", "1")
    assert once.returncode == 0, once.stderr
    assert names(setup, "sit", "deployment", "order-service") == ["order-service"]
    payment = names(setup, "sit", "deployment", "payment-service")

    remove_pin(setup, "sit", "order-service")
    sha = remove_pin(setup, "prod", "order-service")
    once = ferry_cli(setup, "reconcile", "--repo", str(setup.app), "--once", "--health-timeout", "1")
    assert once.returncode == 0, once.stderr
    assert f"sit/order-service: pin deleted from the config repo (at {sha[:7]}): pruned" in once.stderr
    for kind in ("deployment", "service", "configmap"):
        assert names(setup, "sit", kind, "order-service") == [], kind
    assert setup.status("sit", "order-service") == {}
    assert names(setup, "sit", "deployment", "payment-service") == payment  # the other app stays

    assert names(setup, "prod", "deployment", "order-service") == ["order-service"]
    orphan = setup.status("prod", "order-service")
    assert orphan["sync"] == "OutOfSync" and orphan["message"].startswith(
        f"orphaned: order-service is no longer pinned in prod (config repo at {sha[:7]}); "
    )
    assert f"Deployment {setup.ns('prod')}/order-service: orphaned" in json.loads(orphan["drift"])
