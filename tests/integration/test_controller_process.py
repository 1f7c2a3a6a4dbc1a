"""The controller manager as a supervised child process, against the real in-process API server.

The child authenticates with the tokens the parent minted (each controller as its own service account),
reconciles a Deployment to available through the sim kubelet, is started again when it dies, and is
gone when the component stops. The tokens are revoked after the stop.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from ferry.cluster.controllers import process
from tests.integration.conftest import Cluster, eventually

DEPLOY_PATH = "/apis/apps/v1/namespaces/default/deployments"


def _children() -> set[int]:
    """Our own children running the controller-manager module (from /proc, no extra tools)."""
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if ppid == os.getpid() and b"ferry.cluster.controllers.process" in cmd:
            out.add(int(entry))
    return out


def _deployment(replicas: int) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {"sim.ferry.dev/ready-after-ms": "0"}},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            },
        },
    }


async def test_the_child_reconciles_is_restarted_after_a_crash_and_stops_with_the_component(
    cluster: Cluster, monkeypatch: Any
) -> None:
    monkeypatch.setattr(process, "BACKOFF_INITIAL_SECONDS", 0.1)
    api = cluster.api
    tokens_before = set(cluster.ctx.authenticator.tokens)
    stop = asyncio.Event()
    component = process.controller_manager_process(runtime="sim", nodes=1, data_dir=cluster.config.data_dir)
    task = asyncio.create_task(component(cluster.ctx, stop))
    try:
        assert (await api.post(DEPLOY_PATH, _deployment(2))).status == 201

        async def available(n: int) -> bool:
            body = (await api.get(f"{DEPLOY_PATH}/web")).body
            return int((body.get("status") or {}).get("availableReplicas") or 0) == n

        await eventually(lambda: available(2), timeout=30.0)
        minted = set(cluster.ctx.authenticator.tokens) - tokens_before
        assert len(minted) == 1 + len(process.controllers_for(runtime="sim", nodes=1))
        users = {cluster.ctx.authenticator.tokens[t].name for t in minted}
        assert "system:serviceaccount:kube-system:deployment-controller" in users

        (first,) = await eventually(lambda: asyncio.sleep(0, _children() or None), timeout=30.0)
        os.kill(first, signal.SIGKILL)
        (second,) = await eventually(lambda: asyncio.sleep(0, (_children() - {first}) or None), timeout=30.0)
        assert second != first
        # The restarted child carries on reconciling: a scale-up reaches available.
        patch = await api.patch(
            f"{DEPLOY_PATH}/web", {"spec": {"replicas": 3}}, content_type="application/merge-patch+json"
        )
        assert patch.status == 200, patch.body
        await eventually(lambda: available(3), timeout=30.0)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert _children() == set()
    assert set(cluster.ctx.authenticator.tokens) == tokens_before
