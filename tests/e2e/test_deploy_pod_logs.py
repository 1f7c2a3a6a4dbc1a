"""A crash-looping pod's last log lines, read the way ``ferry deploy`` reads them (``RolloutObserver`` over a
kubeconfig), from a real container on ``ferry cluster up --runtime process`` (``proc_cluster``)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from ferry.delivery.apply import ClientConfig, LightkubeApi
from ferry.delivery.releases import RolloutObserver
from tests.e2e.test_kubelet_proc_support import ProcCluster, proc_cluster

pytestmark = pytest.mark.e2e
__all__ = ["proc_cluster"]


def crashed_once(pod: dict[str, Any]) -> bool:
    statuses = pod["status"].get("containerStatuses") or []
    return bool(statuses) and statuses[0].get("restartCount", 0) >= 1


def test_a_crash_looping_pods_previous_log_is_in_the_progress_and_the_reason(
    proc_cluster: ProcCluster,
) -> None:
    k = proc_cluster
    k.apply(f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: crasher}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: crasher}}}}
  template:
    metadata: {{labels: {{app: crasher}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: {k.image}
          command: ["/bin/busybox", "sh", "-c", "echo starting up; echo 'fatal: DATABASE_URL is not set'; exit 3"]
""")

    def restarted() -> dict[str, Any] | None:
        pods = json.loads(k.kubectl("get", "pods", "-l", "app=crasher", "-o", "json"))["items"]
        return next((p for p in pods if crashed_once(p)), None)

    pod = k.wait_for("a crasher pod that restarted", restarted)
    name = pod["metadata"]["name"]

    async def observe() -> tuple[list[str], str]:
        config = ClientConfig(kubeconfig=k.data_dir / "kubeconfig")
        async with LightkubeApi.connect(config) as api:
            observer = RolloutObserver(api, k.namespace, ["crasher"], since="2026-01-01T00:00:00Z")
            lines: list[str] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                await observer.read()
                lines += observer.lines()
                if any("fatal" in line for line in lines):
                    break
                await asyncio.sleep(0.5)
            return lines, observer.failure()

    lines, reason = asyncio.run(observe())
    assert "    | fatal: DATABASE_URL is not set" in lines, lines
    header = next(line for line in lines if line.startswith(f"  pod {name} container app, restart "))
    assert header.endswith("(previous instance), last log lines:")
    assert reason.startswith(f"pods not ready: {name}: "), reason
    assert reason.endswith(f"; last log lines of {name}/app: starting up | fatal: DATABASE_URL is not set")
    k.kubectl("delete", "deployment", "crasher", "--wait=false")
