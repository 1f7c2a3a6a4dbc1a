"""`ferry cluster up|status|down` as a user runs them."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ferry
from tests.e2e.test_kubelet_proc_support import leftovers


def test_up_status_down(tmp_path: Path) -> None:
    data = tmp_path / "c"
    up = ferry(
        "cluster", "up", "--detach", "--data-dir", str(data), "--listen", "127.0.0.1:0", "--runtime", "sim"
    )
    try:
        assert f"export KUBECONFIG={data / 'kubeconfig'}" in up.stdout
        status = ferry("cluster", "status", "--data-dir", str(data))
        assert (
            "running: pid" in status.stdout
            and "Kubernetes v1.32" in status.stdout
            and "ready: yes" in status.stdout
        )
        again = ferry(
            "cluster",
            "up",
            "--detach",
            "--data-dir",
            str(data),
            "--listen",
            "127.0.0.1:0",
            "--runtime",
            "sim",
            check=False,
        )
        assert again.returncode == 1
        assert again.stderr.strip().startswith("Error: a cluster is already running on")
        assert len(again.stderr.strip().splitlines()) == 1
        state = json.loads((data / "cluster.json").read_text())
        assert state["server"].startswith("https://127.0.0.1:")
    finally:
        down = ferry("cluster", "down", "--data-dir", str(data))
    assert down.stdout.startswith("stopped")
    stopped = ferry("cluster", "status", "--data-dir", str(data), check=False)
    assert stopped.returncode == 3 and stopped.stdout.startswith("not running")
    assert ferry("cluster", "down", "--data-dir", str(data)).stdout.strip() == "not running"


def test_listen_on_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    first = tmp_path / "a"
    ferry(
        "cluster", "up", "--detach", "--data-dir", str(first), "--listen", "127.0.0.1:0", "--runtime", "sim"
    )
    try:
        port = json.loads((first / "cluster.json").read_text())["port"]
        busy = ferry(
            "cluster",
            "up",
            "--detach",
            "--data-dir",
            str(tmp_path / "b"),
            "--listen",
            f"127.0.0.1:{port}",
            "--runtime",
            "sim",
            check=False,
        )
        assert busy.returncode == 1
        assert "cannot listen on 127.0.0.1" in busy.stderr
        assert "Traceback" not in busy.stderr
    finally:
        ferry("cluster", "down", "--data-dir", str(first))


def _v2(host_port: str) -> int:
    with urllib.request.urlopen(f"http://{host_port}/v2/", timeout=5) as resp:
        return int(resp.status)


def test_the_cluster_serves_the_registry_and_stops_it(tmp_path: Path) -> None:
    data = tmp_path / "c"
    up = ferry(
        "cluster", "up", "--detach", "--data-dir", str(data), "--listen", "127.0.0.1:0", "--runtime", "sim"
    )
    try:
        registry = json.loads((data / "cluster.json").read_text())["registry"]
        assert registry.startswith("127.0.0.1:") and not registry.endswith(":5000")  # any free port with :0
        assert f"registry serving on {registry}" in up.stdout
        assert f"registry: {registry}" in ferry("cluster", "status", "--data-dir", str(data)).stdout
        assert _v2(registry) == 200
        assert (data / "registry" / "registry.lock").exists()
    finally:
        ferry("cluster", "down", "--data-dir", str(data))
    with pytest.raises(OSError):
        _v2(registry)


def test_registry_off_and_a_busy_registry_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        clash = ferry(
            "cluster",
            "up",
            "--detach",
            "--data-dir",
            str(tmp_path / "a"),
            "--listen",
            "127.0.0.1:0",
            "--runtime",
            "sim",
            "--registry",
            str(port),
            check=False,
        )
        assert clash.returncode == 1 and "Traceback" not in clash.stderr
        assert f"cannot serve the registry on 127.0.0.1:{port}" in clash.stderr
    data = tmp_path / "b"
    ferry(
        "cluster",
        "up",
        "--detach",
        "--data-dir",
        str(data),
        "--listen",
        "127.0.0.1:0",
        "--runtime",
        "sim",
        "--registry",
        "off",
    )
    try:
        assert json.loads((data / "cluster.json").read_text())["registry"] is None
        status = ferry("cluster", "status", "--data-dir", str(data)).stdout.splitlines()
        assert status[0].startswith("running:") and not any(line.startswith("registry:") for line in status)
    finally:
        ferry("cluster", "down", "--data-dir", str(data))


def test_the_default_runtime_runs_real_containers(tmp_path: Path) -> None:
    """`ferry cluster up` without --runtime: the process kubelet, isolated with runc (root here)."""
    data, prefix = tmp_path / "c", f"fd{uuid.uuid4().hex[:4]}"
    env = dict(
        os.environ,
        FERRY_KUBELET_PREFIX=prefix,
        FERRY_KUBELET_POD_CIDR=f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24",
    )
    cidr = f"10.{random.randint(100, 190)}.0.0/16"
    up = [sys.executable, "-m", "ferry", "cluster", "up", "--detach", "--data-dir", str(data)]
    subprocess.run([*up, "--listen", "127.0.0.1:0", "--service-cidr", cidr], env=env, check=True, timeout=120)
    try:
        kubectl = [
            "kubectl",
            "--kubeconfig",
            str(data / "kubeconfig"),
            "get",
            "node",
            "ferry-node-1",
            "-o",
            "json",
        ]
        node: dict[str, Any] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not node:
            got = subprocess.run(kubectl, capture_output=True, text=True, timeout=30)
            node = json.loads(got.stdout) if got.returncode == 0 else {}
            time.sleep(0.5 if not node else 0)
        assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("runc://")
        assert node["metadata"]["annotations"]["kubelet.ferry.dev/network"].startswith("bridge")
    finally:
        ferry("cluster", "down", "--data-dir", str(data))
    assert leftovers(data, prefix) == []
