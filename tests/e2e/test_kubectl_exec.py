"""End-to-end: ``kubectl exec`` (WebSocket ``v5.channel.k8s.io``) through the API server to the process kubelet.

One cluster per module (``proc_cluster``); one long-running busybox pod serves every exec. The image has only
``/bin/busybox``, so commands run as ``/bin/busybox sh -c …`` (busybox's shell runs its own applets).
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from tests.e2e.test_kubelet_proc_support import KUBECTL, ProcCluster, proc_cluster

pytestmark = pytest.mark.e2e
__all__ = ["proc_cluster"]

SH = ["/bin/busybox", "sh", "-c"]


@pytest.fixture(scope="module")
def shell(proc_cluster: ProcCluster) -> ProcCluster:
    k = proc_cluster
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: shell}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {k.image}
    command: ["/bin/busybox", "sleep", "3600"]
""")
    k.pod_until("shell", lambda p: p["status"].get("phase") == "Running", "Running")
    return k


def _exec(k: ProcCluster, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUBECONFIG=str(k.data_dir / "kubeconfig"))
    cmd = [KUBECTL, "--cache-dir", str(k.data_dir / "kcache"), "exec", *args]
    return subprocess.run(cmd, input=input, text=True, capture_output=True, env=env, timeout=60)


def test_exec_separates_stdout_and_stderr_and_returns_the_exit_code(shell: ProcCluster) -> None:
    done = _exec(shell, "shell", "--", *SH, "echo out; echo err >&2; exit 3")
    assert done.stdout == "out\n"
    assert "err\n" in done.stderr
    assert "command terminated with exit code 3" in done.stderr
    assert done.returncode == 3


def test_exec_success_exits_zero(shell: ProcCluster) -> None:
    done = _exec(shell, "shell", "-c", "main", "--", *SH, "echo $((6 * 7))")
    assert (done.returncode, done.stdout, done.stderr) == (0, "42\n", "")


def test_exec_with_stdin(shell: ProcCluster) -> None:
    done = _exec(shell, "-i", "shell", "--", *SH, "cat; echo done", input="line one\nline two\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "line one\nline two\ndone\n"


class PtyKubectl:
    """``kubectl exec -it`` with a pty of our own as its terminal (``rows`` x ``cols``)."""

    def __init__(self, k: ProcCluster, script: str, *, rows: int, cols: int) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, KUBECONFIG=str(k.data_dir / "kubeconfig"))
        cmd = [KUBECTL, "--cache-dir", str(k.data_dir / "kcache"), "exec", "-it", "shell", "--", *SH, script]
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.out = bytearray()

    def read_until(self, text: str, timeout: float = 30) -> str:
        """Output so far once it contains ``text`` (or kubectl has exited: all of it)."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: kubectl exited and closed the terminal
                break
            if not chunk:
                break
            self.out += chunk
        return self.out.decode(errors="replace")

    def resize(self, rows: int, cols: int) -> None:
        """What a terminal emulator does: new size, then SIGWINCH to kubectl (which sends a resize)."""
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc.send_signal(signal.SIGWINCH)

    def os_write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> int:
        self.read_until("\0never\0", timeout=30)
        os.close(self.master)
        return self.proc.wait(timeout=30)


def test_exec_with_a_tty_reports_the_terminal_and_its_size(shell: ProcCluster) -> None:
    term = PtyKubectl(shell, "tty; stty size; exit 5", rows=33, cols=111)
    code = term.close()
    text = term.out.decode(errors="replace")
    assert "/dev/pts/" in text, text
    assert "33 111" in text, text
    assert code == 5, text


def test_exec_with_a_tty_follows_the_terminal_when_it_is_resized(shell: ProcCluster) -> None:
    term = PtyKubectl(shell, "echo ready; while read line; do stty size; done; exit 7", rows=20, cols=80)
    assert "ready" in term.read_until("ready")
    term.resize(40, 120)
    deadline = time.monotonic() + 30
    while "40 120" not in term.out.decode(errors="replace") and time.monotonic() < deadline:
        term.os_write(b"\r")  # each line typed prints the size the container's terminal has now
        term.read_until("40 120", timeout=1)
    term.os_write(b"\x04")  # ^D: read fails, the loop ends
    code = term.close()
    text = term.out.decode(errors="replace")
    assert "40 120" in text, text
    assert code == 7, text


def test_exec_into_a_missing_container_is_refused(shell: ProcCluster) -> None:
    done = _exec(shell, "shell", "-c", "nope", "--", *SH, "true")
    assert done.returncode != 0
    assert "container nope is not valid for pod shell" in done.stderr, done.stderr


def test_exec_into_a_missing_pod_is_not_found(shell: ProcCluster) -> None:
    done = _exec(shell, "ghost", "--", *SH, "true")
    assert done.returncode == 1
    assert 'Error from server (NotFound): pods "ghost" not found' in done.stderr


def test_attach_is_refused_with_a_clear_message(shell: ProcCluster) -> None:
    env = dict(os.environ, KUBECONFIG=str(shell.data_dir / "kubeconfig"))
    cmd = [KUBECTL, "--cache-dir", str(shell.data_dir / "kcache"), "attach", "shell"]
    done = subprocess.run(cmd, text=True, capture_output=True, env=env, timeout=60)
    assert done.returncode == 1
    assert "Error from server (BadRequest): ferry does not support attach" in done.stderr, done.stderr
