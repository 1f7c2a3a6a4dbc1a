"""A session-wide embedded cluster with the control plane and the simulated kubelet (``--runtime sim``).

Not a conftest of its own (``tests/e2e/conftest.py`` starts the API-only cluster the other e2e tests use):
test modules that want workloads to actually run import ``sim_cluster`` and ``sim_kube`` from here.

The cluster is ``ferry cluster up --detach --runtime sim --nodes 3`` in a temporary data dir, stopped with
``ferry cluster down`` when the session ends. ``sim_kube`` gives each test a namespace of its own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import Kube, ferry

SIM_NODES = 3


@dataclass
class SimCluster(Kube):
    """:class:`Kube` plus what a raw HTTPS client needs: the server's address, the CA and the admin token."""

    @property
    def port(self) -> int:
        return int(json.loads((self.data_dir / "cluster.json").read_text())["port"])

    @property
    def host(self) -> str:
        return str(json.loads((self.data_dir / "cluster.json").read_text()).get("host") or "127.0.0.1")

    @property
    def ca(self) -> Path:
        return self.data_dir / "pki" / "ca.crt"

    @property
    def token(self) -> str:
        return (self.data_dir / "admin.token").read_text().strip()

    def namespaced(self, namespace: str) -> SimCluster:
        return SimCluster(self.data_dir, self.cache_dir, namespace)


def wait_for_nodes(cluster: SimCluster, timeout: float = 30.0) -> None:
    """Until the sim kubelet has registered all its nodes and they are Ready."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = cluster.run("get", "nodes", "--no-headers", namespaced=False, check=False).stdout
        ready = [line for line in out.splitlines() if line.split()[1:2] == ["Ready"]]
        if len(ready) == SIM_NODES:
            return
        time.sleep(0.1)
    raise AssertionError(f"{SIM_NODES} Ready nodes expected within {timeout}s; kubectl get nodes:\n{out}")


@pytest.fixture(scope="session")
def sim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    base = tmp_path_factory.mktemp("e2e-sim")
    data = base / "cluster"
    up = ferry(
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
        str(SIM_NODES),
    )
    assert "export KUBECONFIG=" in up.stdout
    try:
        cluster = SimCluster(data, base / "kubectl-cache")
        wait_for_nodes(cluster)
        yield cluster
    finally:
        ferry("cluster", "down", "--data-dir", str(data), check=False)


@pytest.fixture
def sim_kube(sim_cluster: SimCluster) -> SimCluster:
    ns = f"e2e-sim-{uuid.uuid4().hex[:8]}"
    k = sim_cluster.namespaced(ns)
    k.run("create", "namespace", ns, namespaced=False)
    return k
