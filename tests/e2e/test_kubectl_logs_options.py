"""Real `kubectl logs` (--tail, --timestamps, --since, -c, --previous, deploy/x) through `ferry cluster up` to a
kubelet API the test runs, reading CRI log files the test wrote."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.e2e.conftest import Kube
from tests.e2e.kubectl_logs_support import kubelet_for
from tests.unit.kubelet_server_support import SECOND, running


def test_logs_tail_timestamps_since(kube: Kube, tmp_path: Path) -> None:
    with kubelet_for(kube, tmp_path) as kubelet:
        p = kubelet.run_pod(kube, "web", [running("app")])
        now = time.time_ns()
        kubelet.node.write(
            p,
            "app",
            0,
            ["two hours ago", "a minute ago"],
            start_ns=now - 7200 * SECOND,
            step_ns=7140 * SECOND,
        )
        kubelet.node.write(p, "app", 0, ["just now"], start_ns=now)
        assert kube.run("logs", "web").stdout == "two hours ago\na minute ago\njust now\n"
        assert kube.run("logs", "pod/web", "--tail=2").stdout == "a minute ago\njust now\n"
        assert kube.run("logs", "web", "--since=1h").stdout == "a minute ago\njust now\n"
        stamped = kube.run("logs", "web", "--tail=1", "--timestamps").stdout
        assert stamped.endswith("Z just now\n") and stamped[:4] == time.strftime("%Y", time.gmtime())
        assert kube.run("logs", "web", "--limit-bytes=5").stdout == "two h"


def test_logs_container_flag_and_previous(kube: Kube, tmp_path: Path) -> None:
    with kubelet_for(kube, tmp_path) as kubelet:
        p = kubelet.run_pod(kube, "duo", [running("app", 1, crashed_before=True), running("side")])
        kubelet.node.write(p, "app", 0, ["app crashed here"])
        kubelet.node.write(p, "app", 1, ["app again"])
        kubelet.node.write(p, "side", 0, ["side car"])
        assert kube.run("logs", "duo", "-c", "side").stdout == "side car\n"
        assert kube.run("logs", "duo", "-c", "app").stdout == "app again\n"
        assert kube.run("logs", "duo", "-c", "app", "--previous").stdout == "app crashed here\n"
        # without -c kubectl picks the first container and says so
        first = kube.run("logs", "duo")
        assert first.stdout == "app again\n"
        assert 'Defaulted container "app" out of: app, side' in first.stderr
        missing = kube.run("logs", "duo", "-c", "side", "--previous", check=False)
        assert missing.returncode == 1
        assert (
            'Error from server (BadRequest): previous terminated container "side" in pod "duo" not found'
            in missing.stderr
        )


def test_logs_of_a_deployment(kube: Kube, tmp_path: Path) -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "shop"}},
            "template": {
                "metadata": {"labels": {"app": "shop"}},
                "spec": {"containers": [{"name": "app", "image": "busybox"}]},
            },
        },
    }
    kube.run("create", "-f", "-", input=json.dumps(deploy))
    with kubelet_for(kube, tmp_path) as kubelet:
        p = kubelet.run_pod(kube, "shop-abc12", [running("app")], labels={"app": "shop"})
        kubelet.node.write(p, "app", 0, [f"line {i}" for i in range(8)])
        out = kube.run("logs", "deploy/shop", "--tail=5", "--timestamps")
        lines = out.stdout.splitlines()
        assert [line.split(" ", 1)[1] for line in lines] == [f"line {i}" for i in range(3, 8)]
        assert all(line.startswith("2026-09-21T14:13:") for line in lines)
