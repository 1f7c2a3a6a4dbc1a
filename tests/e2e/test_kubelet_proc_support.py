"""Fixtures for the process-kubelet end-to-end tests (imported by ``test_kubelet_proc_*``; no tests here).

``proc_cluster`` starts ``python -m ferry cluster up --runtime process --listen 127.0.0.1:0`` as a child of the
test (data dir in tmp), with a unique host prefix (``FERRY_KUBELET_PREFIX``: the bridge, the netns and the
cgroup root are named from it) and a random pod CIDR, waits until the node is Ready, and builds the busybox
image (Debian's busybox-static, ``ferry.build``) and pushes it to the cluster's embedded registry. At teardown
it runs ``ferry cluster down`` and **asserts** that nothing is left: no process under the kubelet's runtime
dir, no netns or link with the prefix, no cgroup under the prefix in any hierarchy, no mount below the data dir.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ferry.build import BuildRequest, build_image
from ferry.cluster.kubelet.runtime.cgroups import cgroup_v1_hierarchies
from ferry.cluster.kubelet.runtime.rootfs import mounts_under
from ferry.registry.client import RegistryClient

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
IP = shutil.which("ip") or "/usr/sbin/ip"
BUSYBOX = Path("/bin/busybox")
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
COPY www /www
ENTRYPOINT ["/bin/busybox"]
CMD ["sh", "-c", "echo hello; exec /bin/busybox sleep 3600"]
"""


@dataclass
class ProcCluster:
    data_dir: Path
    prefix: str
    image: str
    proc: subprocess.Popen[bytes]
    pod_cidr_prefix: str = ""
    namespace: str = "default"

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60) -> str:
        env = dict(os.environ, KUBECONFIG=str(self.data_dir / "kubeconfig"))
        cmd = [KUBECTL, "--cache-dir", str(self.data_dir / "kcache"), "-n", self.namespace, *args]
        done = subprocess.run(cmd, input=input, text=True, capture_output=True, env=env, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}")
        return done.stdout

    def pod(self, name: str) -> dict[str, Any]:
        return json.loads(self.kubectl("get", "pod", name, "-o", "json"))  # type: ignore[no-any-return]

    def wait_for(self, what: str, check: Any, timeout: float = 90.0) -> Any:
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                last = check()
            except AssertionError as e:
                last = e
            else:
                if last:
                    return last
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}; last: {last}\n{self.log_tail()}")

    def pod_until(self, name: str, predicate: Any, what: str, timeout: float = 90.0) -> dict[str, Any]:
        """Poll the pod until ``predicate(pod)`` holds; returns that pod."""

        def check() -> dict[str, Any] | None:
            pod = self.pod(name)
            return pod if predicate(pod) else None

        return self.wait_for(f"{name}: {what}", check, timeout)  # type: ignore[no-any-return]

    def log_tail(self) -> str:
        log = self.data_dir / "cluster.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-40:]) if log.exists() else ""

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest)

    def ingress_port(self) -> int:
        """The ingress proxy's port on 127.0.0.1, once its controller has written it."""
        path = self.data_dir / "kubelet" / "network" / "ingress.json"
        return int(
            self.wait_for("ingress.json", lambda: path.exists() and json.loads(path.read_text()))["port"]
        )


def _build_and_push(tmp: Path, registry: str) -> str:
    context = tmp / "context"
    (context / "www").mkdir(parents=True)
    (context / "www" / "index.html").write_text("ferry process kubelet\n")
    (context / "Dockerfile").write_text(DOCKERFILE)
    shutil.copy2(BUSYBOX, context / "busybox")

    async def go() -> None:
        built = await build_image(
            BuildRequest(
                context=context,
                version="1.0.0",
                revision="0" * 40,
                created="2026-01-31T12:00:00Z",
                cache_dir=tmp / "bcache",
            )
        )
        async with RegistryClient(registry) as client:
            await client.push_image("e2e/busybox", "1.0.0", built.manifest, built.blobs)

    asyncio.run(go())
    return f"{registry}/e2e/busybox:1.0.0"


def leftovers(data_dir: Path, prefix: str) -> list[str]:
    found: list[str] = []
    netns = subprocess.run([IP, "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {line.split()[0]}" for line in netns.splitlines() if line.startswith(prefix)]
    links = subprocess.run([IP, "-o", "link", "show"], capture_output=True, text=True).stdout
    found += [f"link {line.split(':')[1].strip()}" for line in links.splitlines() if f" {prefix}" in line]
    for h in cgroup_v1_hierarchies():
        if (h / prefix).exists():
            found += [f"cgroup {p}" for p in (h / prefix).rglob("*") if p.is_dir()] or [
                f"cgroup {h / prefix}"
            ]
    found += [f"mount {m}" for m in mounts_under(data_dir)]
    runtime = data_dir / "kubelet" / "runtime" / "containers"
    if runtime.exists():
        found += [f"container {d.name}" for d in runtime.iterdir()]
    return found


@pytest.fixture(scope="module")
def proc_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcCluster]:
    assert os.geteuid() == 0, "the process kubelet's e2e tests run as root (runc, netns)"
    tmp = tmp_path_factory.mktemp("kproc")
    data, prefix = tmp / "cluster", f"fk{uuid.uuid4().hex[:4]}"
    cidr = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24"
    env = dict(os.environ, FERRY_KUBELET_PREFIX=prefix, FERRY_KUBELET_POD_CIDR=cidr)
    data.mkdir()
    log = open(data / "cluster.log", "wb")  # noqa: SIM115 - closed at teardown
    cmd = [sys.executable, "-m", "ferry", "cluster", "up", "--data-dir", str(data)]
    # A service range of its own too, so that clusters of concurrent test runs never claim the same ClusterIP.
    service_cidr = f"10.{random.randint(100, 190)}.0.0/16"
    cmd += ["--listen", "127.0.0.1:0", "--runtime", "process", "--service-cidr", service_cidr]
    cmd += ["--ingress", "0"]  # any free port: ProcCluster.ingress_port() reads it
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    cluster = ProcCluster(data, prefix, "", proc, cidr.rsplit(".", 1)[0] + ".")
    try:
        cluster.wait_for(
            "cluster.json", lambda: (data / "cluster.json").exists() and (data / "kubeconfig").exists()
        )
        state = cluster.wait_for("the registry", lambda: json.loads((data / "cluster.json").read_text()))
        cluster.image = _build_and_push(tmp, str(state["registry"]))
        cluster.wait_for(
            "node Ready",
            lambda: (
                "True"
                in cluster.kubectl(
                    "get",
                    "node",
                    "ferry-node-1",
                    "-o",
                    "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                    check=False,
                )
            ),
        )
        yield cluster
    finally:
        down = subprocess.run(
            [sys.executable, "-m", "ferry", "cluster", "down", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        assert down.returncode == 0, down.stdout + down.stderr
        left = leftovers(data, prefix)
        assert left == [], f"left behind after `ferry cluster down`: {left}"
