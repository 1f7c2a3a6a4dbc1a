"""End-to-end: ``ferry cluster up --runtime process`` runs real pods, checked with the real kubectl.

One cluster per module (``proc_cluster`` in ``test_kubelet_proc_support``; its teardown runs ``ferry cluster
down`` and asserts no container, netns, link, cgroup or mount is left). The image is busybox-static built by
``ferry.build`` and pushed to the cluster's embedded registry; containers run under runc in the pod's netns.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ferry.cluster.kubelet.runtime.rootfs import mounts_under
from tests.e2e.test_kubelet_proc_support import ProcCluster, proc_cluster

pytestmark = pytest.mark.e2e
__all__ = ["proc_cluster"]


def _ctr(pod: dict[str, Any], name: str) -> dict[str, Any]:
    empty = {"restartCount": -1, "state": {}, "lastState": {}}  # no status yet
    return next((s for s in pod["status"].get("containerStatuses") or [] if s["name"] == name), empty)


def _cond(pod: dict[str, Any], type_: str) -> str:
    return next((c["status"] for c in pod["status"].get("conditions") or [] if c["type"] == type_), "")


def test_pod_runs_and_becomes_ready_through_an_http_readiness_probe(proc_cluster: ProcCluster) -> None:
    k = proc_cluster
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: web, labels: {{app: web}}}}
spec:
  terminationGracePeriodSeconds: 2  # httpd is PID 1 and ignores SIGTERM
  containers:
  - name: httpd
    image: {k.image}
    command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: [{{name: http, containerPort: 8080}}]
    readinessProbe:
      httpGet: {{path: /index.html, port: http}}
      initialDelaySeconds: 1
      periodSeconds: 1
""")
    pod = k.pod_until("web", lambda p: _cond(p, "Ready") == "True", "Ready")
    s = _ctr(pod, "httpd")
    assert pod["status"]["phase"] == "Running"
    assert s["containerID"].startswith("ferry://") and s["ready"] and s["started"]
    assert s["imageID"].startswith(k.image.split(":1.0.0")[0] + "@sha256:")
    assert pod["status"]["podIP"].startswith(k.pod_cidr_prefix)
    events = k.kubectl("get", "events", "--field-selector", "involvedObject.name=web", "-o", "json")
    reasons = {e["reason"] for e in json.loads(events)["items"]}
    assert {"Pulling", "Pulled", "Created", "Started"} <= reasons, reasons
    k.kubectl("delete", "pod", "web", "--wait=true", timeout=60)


def test_a_crashing_container_goes_into_crash_loop_back_off(proc_cluster: ProcCluster) -> None:
    k = proc_cluster
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: crasher}}
spec:
  containers:
  - name: main
    image: {k.image}
    command: ["/bin/busybox", "sh", "-c", "echo dying; exit 3"]
""")
    pod = k.pod_until(
        "crasher",
        lambda p: (
            _ctr(p, "main")["restartCount"] >= 2
            and _ctr(p, "main")["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
        ),
        "CrashLoopBackOff after 2 restarts",
        timeout=60,
    )
    s = _ctr(pod, "main")
    assert s["lastState"]["terminated"]["exitCode"] == 3
    assert s["lastState"]["terminated"]["reason"] == "Error"
    assert "back-off 20s restarting failed container=main" in s["state"]["waiting"]["message"]
    assert pod["status"]["phase"] == "Running"
    assert k.kubectl("logs", "crasher", "--previous") == "dying\n"  # through the kubelet API
    k.kubectl("delete", "pod", "crasher", "--wait=true", timeout=60)


def test_a_failing_liveness_probe_restarts_the_container(proc_cluster: ProcCluster) -> None:
    k = proc_cluster
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: unlive}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: {k.image}
    command: ["/bin/busybox", "sh", "-c", "/bin/busybox touch /tmp/alive; exec /bin/busybox sleep 3600"]
    livenessProbe:
      exec: {{command: ["/bin/busybox", "sh", "-c", "/bin/busybox rm /tmp/alive"]}}
      periodSeconds: 1
      failureThreshold: 2
""")
    pod = k.pod_until("unlive", lambda p: _ctr(p, "main")["restartCount"] >= 1, "a restart", timeout=60)
    # sleep is the container's PID 1, which ignores SIGTERM (as under kube): SIGKILL after the grace period
    assert _ctr(pod, "main")["lastState"]["terminated"]["exitCode"] == 137
    events = json.loads(
        k.kubectl("get", "events", "--field-selector", "involvedObject.name=unlive", "-o", "json")
    )
    messages = [(e["reason"], e["message"]) for e in events["items"]]
    assert any(r == "Unhealthy" and m.startswith("Liveness probe failed") for r, m in messages), messages
    assert ("Killing", "Container main failed liveness probe, will be restarted") in messages
    k.kubectl("delete", "pod", "unlive", "--wait=true", "--grace-period=1", timeout=60)


def test_a_container_over_its_memory_limit_is_oom_killed(proc_cluster: ProcCluster) -> None:
    k = proc_cluster
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: hog}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: {k.image}
    command: ["/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]
    resources: {{limits: {{memory: 32Mi}}}}
""")
    pod = k.pod_until("hog", lambda p: p["status"]["phase"] == "Failed", "Failed", timeout=60)
    term = _ctr(pod, "main")["state"]["terminated"]
    assert (term["reason"], term["exitCode"]) == ("OOMKilled", 137)
    k.kubectl("delete", "pod", "hog", "--wait=true", timeout=60)


def test_a_deployment_of_two_replicas_rolls_out(proc_cluster: ProcCluster) -> None:
    k = proc_cluster
    k.apply(f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: webd}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: webd}}}}
  template:
    metadata: {{labels: {{app: webd}}}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: httpd
        image: {k.image}
        command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
        env:
        - {{name: MY_POD, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
        - {{name: MY_IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}
        readinessProbe:
          tcpSocket: {{port: 8080}}
          periodSeconds: 1
""")
    out = k.kubectl("rollout", "status", "deployment/webd", "--timeout=90s", timeout=100)
    assert 'deployment "webd" successfully rolled out' in out
    pods = json.loads(k.kubectl("get", "pods", "-l", "app=webd", "-o", "json"))["items"]
    assert len(pods) == 2 and all(_cond(p, "Ready") == "True" for p in pods)
    assert len({p["status"]["podIP"] for p in pods}) == 2
    # The network agent runs next to the kubelet: a Service's short name resolves in a pod (search path, cluster
    # DNS) and its ClusterIP answers. (nc: Debian's static busybox wget segfaults on this machine, on the host too.)
    k.apply("""
apiVersion: v1
kind: Service
metadata: {name: webd}
spec:
  selector: {app: webd}
  ports: [{port: 80, targetPort: 8080}]
""")
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec:
  restartPolicy: Never
  containers:
  - name: wget
    image: {k.image}
    command: ["/bin/busybox", "sh", "-c", "/bin/busybox printf 'GET / HTTP/1.0\\\\r\\\\n\\\\r\\\\n' | /bin/busybox nc webd 80 | /bin/busybox tail -n 1"]
""")
    done = k.pod_until(
        "client", lambda p: p["status"]["phase"] in ("Succeeded", "Failed"), "finished", timeout=60
    )
    assert done["status"]["phase"] == "Succeeded", k.kubectl("logs", "client", check=False)
    assert k.kubectl("logs", "client") == "ferry process kubelet\n"
    k.kubectl("delete", "pod/client", "service/webd", "--wait=true", timeout=60)
    k.kubectl("delete", "deployment", "webd", "--wait=true", timeout=60)
    k.wait_for("webd pods gone", lambda: k.kubectl("get", "pods", "-l", "app=webd", "-o", "name") == "")


class _Hook(BaseHTTPRequestHandler):
    hits: list[tuple[str, float]] = []

    def do_GET(self) -> None:
        _Hook.hits.append((self.path, time.monotonic()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def test_deleting_a_pod_runs_its_pre_stop_hook_and_ends_within_the_grace_period(
    proc_cluster: ProcCluster,
) -> None:
    k = proc_cluster
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        # The main process ignores SIGTERM: only the SIGKILL at the end of the grace period stops it.
        k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: hooked}}
spec:
  terminationGracePeriodSeconds: 4
  containers:
  - name: main
    image: {k.image}
    command: ["/bin/busybox", "sh", "-c", "trap '' TERM; while true; do /bin/busybox sleep 1; done"]
    lifecycle:
      preStop:
        httpGet: {{host: 127.0.0.1, port: {port}, path: /pre-stop}}
""")
        k.pod_until("hooked", lambda p: p["status"]["phase"] == "Running", "Running")
        started = time.monotonic()
        k.kubectl("delete", "pod", "hooked", "--wait=true", timeout=60)
        took = time.monotonic() - started
        assert [p for p, _ in _Hook.hits] == ["/pre-stop"]
        assert _Hook.hits[0][1] - started < 2.0
        assert 4.0 <= took < 8.0, took
    finally:
        server.shutdown()
        server.server_close()


def _manager_pid(k: ProcCluster) -> int:
    """The controller-manager child of the cluster process this test started."""
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            cmdline = (status.parent / "cmdline").read_bytes()
            if int(fields["PPid"]) == k.proc.pid and b"ferry.cluster.controllers.process" in cmdline:
                return int(status.parent.name)
    raise AssertionError("no controller-manager child found")


def test_a_restarted_kubelet_adopts_running_containers(proc_cluster: ProcCluster) -> None:
    k = proc_cluster
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: survivor}}
spec:
  terminationGracePeriodSeconds: 3  # httpd is PID 1 and ignores SIGTERM: SIGKILL after 3 s
  containers:
  - name: httpd
    image: {k.image}
    command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
    readinessProbe:
      httpGet: {{path: /, port: 8080}}
      periodSeconds: 1
""")
    before = _ctr(k.pod_until("survivor", lambda p: _cond(p, "Ready") == "True", "Ready"), "httpd")
    old = _manager_pid(k)
    os.kill(old, signal.SIGKILL)
    k.wait_for("a new controller manager", lambda: _manager_pid(k) != old)
    time.sleep(6)  # the new kubelet has registered and synced the pod
    pod = k.pod("survivor")
    after = _ctr(pod, "httpd")
    assert (after["containerID"], after["restartCount"]) == (before["containerID"], 0)
    assert after["state"] == before["state"] and after["ready"] and _cond(pod, "Ready") == "True"
    started = time.monotonic()
    k.kubectl("delete", "pod", "survivor", "--wait=true", timeout=60)
    assert time.monotonic() - started < 10  # the new kubelet stops the adopted container


def test_post_start_hooks_run_before_the_container_counts_as_running(proc_cluster: ProcCluster) -> None:
    """The hook runs inside the container after its start (the main process waits for the file it writes); a
    failing hook is a FailedPostStartHook event with kube's message and kills the instance, which restarts."""
    k = proc_cluster
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: hooked}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {k.image}
    command: ["/bin/busybox", "sh", "-c",
              "until [ -f /hook/file ]; do /bin/busybox sleep 0.05; done; /bin/busybox cat /hook/file; exec /bin/busybox sleep 3600"]
    volumeMounts: [{{name: hook, mountPath: /hook}}]
    lifecycle:
      postStart:
        exec: {{command: ["/bin/busybox", "sh", "-c", "echo hooked > /hook/file"]}}
  volumes: [{{name: hook, emptyDir: {{}}}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: badhook}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {k.image}
    command: ["/bin/busybox", "sleep", "3600"]
    lifecycle:
      postStart:
        exec: {{command: ["/bin/busybox", "sh", "-c", "echo no; exit 3"]}}
""")
    k.pod_until("hooked", lambda p: "running" in _ctr(p, "main")["state"], "Running")
    k.wait_for("the hook's file in the log", lambda: k.kubectl("logs", "hooked") == "hooked\n")
    bad = k.pod_until("badhook", lambda p: _ctr(p, "main")["restartCount"] >= 1, "restarted", timeout=60)
    assert _ctr(bad, "main")["lastState"]["terminated"]["exitCode"] in (137, 143)
    events = json.loads(
        k.kubectl("get", "events", "--field-selector", "involvedObject.name=badhook", "-o", "json")
    )["items"]
    failed = [e["message"] for e in events if e["reason"] == "FailedPostStartHook"]
    uid = bad["metadata"]["uid"]
    assert failed and failed[0] == (
        f'Exec lifecycle hook ([/bin/busybox sh -c echo no; exit 3]) for Container "main" in Pod '
        f"\"badhook_default({uid})\" failed - error: command '/bin/busybox sh -c echo no; exit 3' exited with 3: "
        ', message: "no\\n"'
    ), failed
    k.kubectl("delete", "pod", "hooked", "badhook", "--wait=true", timeout=60)


def test_a_memory_backed_empty_dir_is_a_tmpfs_of_its_size_limit(proc_cluster: ProcCluster) -> None:
    k = proc_cluster
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: memdir}}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: main
    image: {k.image}
    command: ["/bin/busybox", "sh", "-c",
              "/bin/busybox grep ' /mem ' /proc/mounts;
               /bin/busybox dd if=/dev/zero of=/mem/a bs=1024 count=512 2>/dev/null && echo wrote-512k;
               /bin/busybox dd if=/dev/zero of=/mem/b bs=1024 count=1024 2>/dev/null || echo full"]
    volumeMounts: [{{name: mem, mountPath: /mem}}]
  volumes: [{{name: mem, emptyDir: {{medium: Memory, sizeLimit: 1Mi}}}}]
""")
    k.pod_until("memdir", lambda p: p["status"].get("phase") == "Succeeded", "Succeeded")
    lines = k.kubectl("logs", "memdir").splitlines()
    assert lines[0].startswith("tmpfs /mem tmpfs ") and "size=1024k" in lines[0], lines
    assert lines[1:] == ["wrote-512k", "full"], lines
    pod_dir = k.data_dir / "kubelet" / "pods" / k.pod("memdir")["metadata"]["uid"]
    k.kubectl("delete", "pod", "memdir", "--wait=true", timeout=60)
    # A terminal pod is deleted by the API server at once; the kubelet then tears the pod down on its own.
    k.wait_for(
        "the tmpfs unmounted and the pod dir gone",
        lambda: mounts_under(pod_dir) == [] and not pod_dir.exists(),
    )
