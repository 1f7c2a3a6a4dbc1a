"""For the `kubectl logs` end-to-end tests: a kubelet API the test runs beside a `ferry cluster up` process.

:class:`KubeletThread` serves :func:`start_kubelet_server` from a thread of the test process (its own event
loop), with a serving certificate from the cluster's CA (``<data-dir>/pki``); :meth:`KubeletThread.register`
creates the Node pointing at it with real kubectl. Pods are created bound to that node and their status written
by the test (:func:`run_pod`), and copied into the kubelet's :class:`FakeNode`, whose CRI files the test writes.
The Node is deleted and the server stopped on exit, also when the test fails.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ferry.cluster.kubelet.server import RunningServer, ensure_kubelet_serving_cert, start_kubelet_server
from tests.e2e.conftest import Kube
from tests.unit.kubelet_server_support import FakeNode


class KubeletThread:
    def __init__(self, pki: Path, node_name: str, log_root: Path) -> None:
        self.node_name = node_name
        self.node = FakeNode(log_root)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"kubelet-{node_name}", daemon=True)
        self.thread.start()
        start = start_kubelet_server(
            "127.0.0.1",
            0,
            self.node.log_file_for,
            pods=self.node.lookup,
            tls=ensure_kubelet_serving_cert(pki, node_name),
            poll_seconds=0.05,
        )
        self.server: RunningServer = asyncio.run_coroutine_threadsafe(start, self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def register(self, kube: Kube) -> None:
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node_name}}
        kube.run("create", "-f", "-", input=json.dumps(node), namespaced=False)
        status = {
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self.server.port}},
                "nodeInfo": {"containerRuntimeVersion": "ferry-process://1.0"},
            }
        }
        kube.run(
            "patch",
            "node",
            self.node_name,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(status),
            namespaced=False,
        )

    def run_pod(
        self, kube: Kube, name: str, statuses: list[dict[str, Any]], *, labels: dict[str, str] | None = None
    ) -> dict[str, Any]:
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {
                "nodeName": self.node_name,
                "containers": [{"name": s["name"], "image": "busybox"} for s in statuses],
            },
        }
        kube.run("create", "-f", "-", input=json.dumps(body))
        patch = {"status": {"phase": "Running", "containerStatuses": statuses}}
        kube.run("patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps(patch))
        return self.node.add(json.loads(kube.run("get", "pod", name, "-o", "json").stdout))


@contextmanager
def kubelet_for(kube: Kube, tmp_path: Path) -> Iterator[KubeletThread]:
    name = f"{kube.namespace}-{uuid.uuid4().hex[:4]}"
    kubelet = KubeletThread(kube.data_dir / "pki", name, tmp_path / "logs")
    try:
        kubelet.register(kube)
        yield kubelet
    finally:
        kube.run("delete", "node", name, "--ignore-not-found", namespaced=False, check=False)
        kubelet.close()
