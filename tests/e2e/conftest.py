"""End-to-end: a real `ferry cluster up --detach` process, driven by the real /usr/bin/kubectl.

One cluster per test session (starting it is the slow part); each test works in a namespace of its own.
The cluster is stopped with `ferry cluster down` at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


@dataclass
class Kube:
    data_dir: Path
    cache_dir: Path
    namespace: str = "default"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def env(self) -> dict[str, str]:
        return dict(os.environ, KUBECONFIG=str(self.kubeconfig))

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
        namespaced: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [KUBECTL, "--cache-dir", str(self.cache_dir)]
        if namespaced:
            cmd += ["-n", self.namespace]
        cmd += list(args)
        proc = subprocess.run(
            cmd, input=input, text=True, capture_output=True, env=self.env(), timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def popen(self, *args: str) -> subprocess.Popen[str]:
        cmd = [KUBECTL, "--cache-dir", str(self.cache_dir), "-n", self.namespace, *args]
        return subprocess.Popen(
            cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env()
        )


def ferry(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "ferry", *args], text=True, capture_output=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"ferry {' '.join(args)} exited {proc.returncode}: {proc.stdout}{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    base = tmp_path_factory.mktemp("e2e")
    data = base / "cluster"
    # The API server's own behaviour, without controllers acting on what the tests create.
    up = ferry(
        "cluster", "up", "--detach", "--data-dir", str(data), "--listen", "127.0.0.1:0", "--runtime", "none"
    )
    assert "export KUBECONFIG=" in up.stdout
    try:
        yield Kube(data, base / "kubectl-cache")
    finally:
        ferry("cluster", "down", "--data-dir", str(data), check=False)


@pytest.fixture
def kube(kube_cluster: Kube) -> Iterator[Kube]:
    ns = f"e2e-{uuid.uuid4().hex[:8]}"
    k = Kube(kube_cluster.data_dir, kube_cluster.cache_dir, ns)
    k.run("create", "namespace", ns, namespaced=False)
    yield k


# The sim cluster's fixtures are defined once here, for every module: a module that imported them itself would
# get its own "session" cluster (pytest keys a fixture by where it is defined), all alive until the end.
from tests.e2e.conftest_sim import sim_cluster, sim_kube  # noqa: E402, F401
