"""End-to-end: gRPC readiness and liveness probes of the process kubelet, against a server in a real pod.

One cluster for the module (``proc_cluster``). The pod's server is ``grpc_health_app.py`` (standard library only:
the host-base image's Python has no grpcio), built by ``ferry.build`` (buildpack python, host base) and pushed to
the cluster's registry. Checked with the real kubectl: a grpc readiness probe makes a pod Ready; a service that
answers NOT_SERVING keeps it unready with kube's ``Unhealthy`` text; a liveness probe on a service the server
does not know restarts the container.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ferry.build import BuildRequest, build_image
from ferry.registry.client import RegistryClient
from tests.e2e.test_kubelet_proc_support import ProcCluster, proc_cluster

pytestmark = pytest.mark.e2e
__all__ = ["proc_cluster"]

APP = Path(__file__).with_name("grpc_health_app.py")


@pytest.fixture(scope="module")
def grpc_image(proc_cluster: ProcCluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    registry = json.loads((proc_cluster.data_dir / "cluster.json").read_text())["registry"]
    context = tmp_path_factory.mktemp("grpc-app")
    shutil.copy2(APP, context / "app.py")

    async def go() -> None:
        built = await build_image(
            BuildRequest(
                context=context,
                version="1.0.0",
                revision="9" * 40,
                created="2026-01-31T12:00:00Z",
                cache_dir=context.parent / "grpc-bcache",
            )
        )
        async with RegistryClient(registry) as client:
            await client.push_image("e2e/grpc-health", "1.0.0", built.manifest, built.blobs)

    asyncio.run(go())
    return f"{registry}/e2e/grpc-health:1.0.0"


def _pod(name: str, image: str, health: str, probes: str) -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: {image}
    env: [{{name: HEALTH, value: {json.dumps(health)}}}]
    ports: [{{name: grpc, containerPort: 9000}}]
{probes}"""


def _ready(pod: dict[str, Any]) -> str:
    return next((c["status"] for c in pod["status"].get("conditions") or [] if c["type"] == "Ready"), "")


def _restarts(pod: dict[str, Any]) -> int:
    return sum(int(c.get("restartCount", 0)) for c in pod["status"].get("containerStatuses") or [])


def _events(k: ProcCluster, name: str) -> list[tuple[str, str]]:
    out = k.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json")
    return [(e["reason"], e["message"]) for e in json.loads(out)["items"]]


def test_grpc_readiness_and_liveness_probes(proc_cluster: ProcCluster, grpc_image: str) -> None:
    k = proc_cluster
    ok = """    readinessProbe:
      grpc: {port: 9000}
      periodSeconds: 1
    livenessProbe:
      grpc: {port: 9000, service: live}
      periodSeconds: 1
"""
    bad = """    readinessProbe:
      grpc: {port: 9000, service: db}
      periodSeconds: 1
    livenessProbe:
      grpc: {port: 9000, service: gone}
      initialDelaySeconds: 2
      periodSeconds: 1
      failureThreshold: 2
"""
    k.apply(
        _pod("grpc-ok", grpc_image, '{"": 1, "live": 1}', ok)
        + "---"
        + _pod("grpc-bad", grpc_image, '{"": 1, "db": 2}', bad)
    )
    k.pod_until("grpc-ok", lambda p: _ready(p) == "True", "Ready through its grpc readiness probe")
    pod = k.pod_until("grpc-bad", lambda p: _restarts(p) >= 1, "a restart by its grpc liveness probe")
    assert _ready(pod) == "False"
    messages = _events(k, "grpc-bad")
    assert (
        "Unhealthy",
        'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")',
    ) in messages
    gone = "Liveness probe failed: error: health rpc probe failed: rpc error: code = NotFound desc = unknown service"
    assert ("Unhealthy", gone) in messages, messages
    assert ("Killing", "Container app failed liveness probe, will be restarted") in messages
    # its liveness service answers SERVING (an attempt before the server listens may fail; one is not three)
    assert _restarts(k.pod("grpc-ok")) == 0
    k.kubectl("delete", "pod", "grpc-ok", "grpc-bad", "--wait=true", "--grace-period=1", timeout=60)
