"""Shared by the kubelet-API tests (unit, integration, e2e): a fake node's pods and CRI log files.

:class:`FakeNode` is what the process kubelet gives :func:`start_kubelet_server`: a pod lookup (pods with the
status a kubelet would have written) and ``log_file_for``; tests write the CRI files themselves with fixed
timestamps, so every option (tail, since, timestamps, limitBytes, previous, follow) has an exact expected answer.
"""

from __future__ import annotations

import copy
import ssl
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.cluster.apiserver.tls import ensure_tls
from ferry.cluster.kubelet.runtime.logs import format_record
from ferry.cluster.kubelet.server import CertPair, ensure_kubelet_client_cert, ensure_kubelet_serving_cert

T0 = 1_790_000_000 * 1_000_000_000  # 2026-09-21T…Z, a fixed record time for exact expectations
SECOND = 1_000_000_000


def make_pki(directory: Path) -> Path:
    """A cluster CA as ``ferry cluster up`` makes it (``ca.crt``/``ca.key``) in ``directory``."""
    ensure_tls(directory)
    return directory


def serving_pair(pki: Path, node: str = "node-a") -> CertPair:
    return ensure_kubelet_serving_cert(pki, node)


def client_context(pki: Path) -> ssl.SSLContext:
    """What the API server uses: trusts the cluster CA, presents apiserver-kubelet-client."""
    pair = ensure_kubelet_client_cert(pki)
    ctx = ssl.create_default_context(cafile=str(pair.ca_cert))
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    return ctx


def running(name: str, restarts: int = 0, *, crashed_before: bool = False) -> dict[str, Any]:
    cs: dict[str, Any] = {
        "name": name,
        "restartCount": restarts,
        "state": {"running": {"startedAt": "2026-11-27T05:00:00Z"}},
        "containerID": f"ferry://{name}-{restarts}",
    }
    if crashed_before:
        cs["lastState"] = {"terminated": {"exitCode": 1, "containerID": f"ferry://{name}-{restarts - 1}"}}
    return cs


def waiting(name: str, reason: str, restarts: int = 0, *, crashed_before: bool = False) -> dict[str, Any]:
    cs: dict[str, Any] = {"name": name, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}
    if crashed_before:
        cs["lastState"] = {"terminated": {"exitCode": 1, "containerID": f"ferry://{name}-{restarts - 1}"}}
    return cs


def terminated(name: str, restarts: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "restartCount": restarts,
        "state": {"terminated": {"exitCode": 0, "containerID": f"ferry://{name}-{restarts}"}},
    }


def pod(
    namespace: str, name: str, statuses: list[dict[str, Any]], *, uid: str | None = None
) -> dict[str, Any]:
    """A pod whose containers are the statuses' names, with those statuses."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": namespace, "name": name, "uid": uid or str(uuid.uuid4())},
        "spec": {"containers": [{"name": s["name"], "image": "busybox"} for s in statuses]},
        "status": {"phase": "Running", "containerStatuses": statuses},
    }


@dataclass
class FakeNode:
    """Pods this "kubelet" runs and where their logs are; ``lookups`` counts calls (follow re-asks)."""

    log_root: Path
    pods: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    lookups: int = 0

    def lookup(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.lookups += 1
        found = self.pods.get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def log_file_for(self, pod_uid: str, container: str, restart_count: int) -> Path:
        return self.log_root / pod_uid / container / f"{restart_count}.log"

    def add(self, p: dict[str, Any]) -> dict[str, Any]:
        self.pods[(p["metadata"]["namespace"], p["metadata"]["name"])] = p
        return p

    def set_status(self, p: dict[str, Any], statuses: list[dict[str, Any]]) -> None:
        self.pods[(p["metadata"]["namespace"], p["metadata"]["name"])]["status"]["containerStatuses"] = (
            statuses
        )

    def write(
        self,
        p: dict[str, Any],
        container: str,
        restart: int,
        lines: list[str],
        *,
        start_ns: int = T0,
        step_ns: int = SECOND,
        stream: str = "stdout",
    ) -> None:
        """Append ``lines`` as F records, the i-th at ``start_ns + i * step_ns``."""
        path = self.log_file_for(p["metadata"]["uid"], container, restart)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as f:
            for i, line in enumerate(lines):
                f.write(format_record(start_ns + i * step_ns, stream, False, line.encode()))  # type: ignore[arg-type]

    def append_now(self, p: dict[str, Any], container: str, restart: int, line: str) -> None:
        self.write(p, container, restart, [line], start_ns=time.time_ns())
