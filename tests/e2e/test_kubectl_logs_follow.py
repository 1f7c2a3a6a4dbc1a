"""`kubectl logs -f` through `ferry cluster up` to a kubelet API: lines arrive as written; kubectl exits when the
container does; a waiting container is answered as kube answers it."""

from __future__ import annotations

import select
import subprocess
from pathlib import Path

from tests.e2e.conftest import Kube
from tests.e2e.kubectl_logs_support import kubelet_for
from tests.unit.kubelet_server_support import running, terminated, waiting


def _readline(proc: subprocess.Popen[str], timeout: float = 10) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "kubectl printed nothing in time"
    return proc.stdout.readline()


def test_follow_until_the_container_exits(kube: Kube, tmp_path: Path) -> None:
    with kubelet_for(kube, tmp_path) as kubelet:
        p = kubelet.run_pod(kube, "tail", [running("app")])
        kubelet.node.write(p, "app", 0, ["started"])
        proc = kube.popen("logs", "-f", "tail")
        try:
            assert _readline(proc) == "started\n"
            kubelet.node.append_now(p, "app", 0, "request 1")
            assert _readline(proc) == "request 1\n"
            kubelet.node.append_now(p, "app", 0, "shutting down")
            kubelet.node.set_status(p, [terminated("app")])
            out, err = proc.communicate(timeout=15)
            assert proc.returncode == 0, err
            assert out == "shutting down\n"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_waiting_container(kube: Kube, tmp_path: Path) -> None:
    with kubelet_for(kube, tmp_path) as kubelet:
        kubelet.run_pod(kube, "new", [waiting("app", "ContainerCreating")])
        out = kube.run("logs", "new", check=False)
        assert out.returncode == 1
        assert (
            'Error from server (BadRequest): container "app" in pod "new" is waiting to start: ContainerCreating'
            in out.stderr
        )
