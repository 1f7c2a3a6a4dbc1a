"""End-to-end: ``kubectl port-forward`` (SPDY/3.1 in WebSocket) through the API server to the process kubelet.

One cluster per module (``proc_cluster``); one busybox pod serves HTTP on 8080 from an emptyDir holding
``index.html`` and a ~2 MiB file of numbered lines (to push well past SPDY's 64 KiB window), behind a Service.
Each test starts the real kubectl, reads its ``Forwarding from 127.0.0.1:NNNN -> P`` line and fetches through it.
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from tests.e2e.test_kubelet_proc_support import KUBECTL, ProcCluster, proc_cluster

pytestmark = pytest.mark.e2e
__all__ = ["proc_cluster"]

BIG_LINES = 300_000
BIG = "".join(f"{i}\n" for i in range(1, BIG_LINES + 1)).encode()  # what `seq 1 300000` prints (~2 MiB)
FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")


@pytest.fixture(scope="module")
def web(proc_cluster: ProcCluster) -> ProcCluster:
    k = proc_cluster
    script = f"cp /www/index.html /data/; /bin/busybox seq 1 {BIG_LINES} > /data/big; exec /bin/busybox httpd -f -p 8080 -h /data"
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: pf, labels: {{app: pf}}}}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{{name: data, emptyDir: {{}}}}]
  containers:
  - name: httpd
    image: {k.image}
    command: ["/bin/busybox", "sh", "-c", "{script}"]
    ports: [{{name: http, containerPort: 8080}}]
    volumeMounts: [{{name: data, mountPath: /data}}]
    readinessProbe:
      tcpSocket: {{port: 8080}}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {{name: pf}}
spec:
  selector: {{app: pf}}
  ports: [{{port: 80, targetPort: http}}]
""")
    k.pod_until(
        "pf",
        lambda p: any(
            c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or []
        ),
        "Ready",
    )
    return k


class PortForward:
    """A running ``kubectl port-forward``: its local ports and everything it has printed."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc, self.lines, self.ports = proc, queue.Queue[str](), dict[int, int]()
        self.output: list[str] = []
        for stream in (proc.stdout, proc.stderr):
            threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: object) -> None:
        for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
            self.lines.put(line)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 60.0) -> re.Match[str]:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        for seen in self.output:
            if m := regex.search(seen):
                return m
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if m := regex.search(line):
                return m
        raise AssertionError(f"kubectl port-forward never printed {regex.pattern!r}:\n{''.join(self.output)}")

    def local_port(self, remote: int) -> int:
        while remote not in self.ports:
            m = self.wait_for(FORWARDING)
            self.output.remove(m.string)
            self.ports[int(m.group(2))] = int(m.group(1))
        return self.ports[remote]


@contextmanager
def port_forward(k: ProcCluster, *args: str) -> Iterator[PortForward]:
    env = dict(os.environ, KUBECONFIG=str(k.data_dir / "kubeconfig"))
    cmd = [KUBECTL, "--cache-dir", str(k.data_dir / "kcache"), "-n", k.namespace, "port-forward", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        yield PortForward(proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fetch(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
        body: bytes = response.read()
        return body


def test_two_connections_and_a_large_response_through_one_port_forward(web: ProcCluster) -> None:
    with port_forward(web, "pod/pf", ":8080") as pf:
        port = pf.local_port(8080)
        assert fetch(port, "/index.html") == b"ferry process kubelet\n"
        assert fetch(port, "/index.html") == b"ferry process kubelet\n"  # a second local connection
        big = fetch(port, "/big")
        assert len(big) == len(BIG) and big == BIG
        with ThreadPoolExecutor(4) as pool:  # streams of four connections interleaved on one session
            assert list(pool.map(lambda _: fetch(port, "/big") == BIG, range(4))) == [True] * 4
        assert pf.proc.poll() is None, "".join(pf.output)


def test_a_request_body_reaches_the_pod_and_the_answer_comes_back(web: ProcCluster) -> None:
    """Client → pod bytes: a raw HTTP request written in small pieces, the response read to EOF."""
    with (
        port_forward(web, "pod/pf", ":8080") as pf,
        socket.create_connection(("127.0.0.1", pf.local_port(8080))) as s,
    ):
        for piece in (b"GET /index.html HTTP/1.0\r\n", b"Host: pf\r\n", b"\r\n"):
            s.sendall(piece)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.") and b" 200 " in answer.split(b"\r\n", 1)[0]
        assert answer.endswith(b"\r\n\r\nferry process kubelet\n")


def test_a_port_nothing_listens_on_reports_kube_s_error(web: ProcCluster) -> None:
    """kubectl prints the error stream's message, then (client-go since 1.31) closes the session and exits 1
    with ``lost connection to pod``; a new kubectl forwards again."""
    pod_uid = web.pod("pf")["metadata"]["uid"]
    with port_forward(web, "pod/pf", ":9999", ":8080") as pf:
        port = pf.local_port(9999)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.settimeout(30)
            assert s.recv(1) == b""  # the forwarded connection is closed, nothing sent
        line = pf.wait_for(r"an error occurred forwarding \d+ -> 9999.*").group(0)
        assert f"error forwarding port 9999 to pod {pod_uid}, uid : dial tcp " in line
        assert ":9999: connect: connection refused" in line
        pf.wait_for("error: lost connection to pod")
        assert pf.proc.wait(timeout=30) == 1
    with port_forward(web, "pod/pf", ":8080") as pf:  # the pod and the kubelet still serve
        assert fetch(pf.local_port(8080), "/index.html") == b"ferry process kubelet\n"


def test_port_forward_to_a_service_reaches_its_pod(web: ProcCluster) -> None:
    with port_forward(web, "svc/pf", ":80") as pf:
        port = pf.local_port(8080)  # kubectl resolves svc port 80 → targetPort http → 8080 client-side
        assert fetch(port, "/index.html") == b"ferry process kubelet\n"
        assert fetch(port, "/big") == BIG
