"""`ferry cluster up|status|down` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import ferry


def test_up_status_down(tmp_path: Path) -> None:
    data = tmp_path / "c"
    up = ferry("cluster", "up", "--detach", "--data-dir", str(data), "--listen", "127.0.0.1:0")
    try:
        assert f"export KUBECONFIG={data / 'kubeconfig'}" in up.stdout
        status = ferry("cluster", "status", "--data-dir", str(data))
        assert (
            "running: pid" in status.stdout
            and "Kubernetes v1.32" in status.stdout
            and "ready: yes" in status.stdout
        )
        again = ferry(
            "cluster", "up", "--detach", "--data-dir", str(data), "--listen", "127.0.0.1:0", check=False
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
    ferry("cluster", "up", "--detach", "--data-dir", str(first), "--listen", "127.0.0.1:0")
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
            check=False,
        )
        assert busy.returncode == 1
        assert "cannot listen on 127.0.0.1" in busy.stderr
        assert "Traceback" not in busy.stderr
    finally:
        ferry("cluster", "down", "--data-dir", str(first))
