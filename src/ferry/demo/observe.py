"""What the demo reads from the cluster between the commands it shows: the reconciler's per-app status
(``ferry-app-<env>-<service>`` ConfigMaps), Service addresses, ReplicaSet identities. All through the real
kubectl with the cluster's kubeconfig, like every other step (the demo never imports ``ferry.cluster``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ferry.demo.shell import Shell

__all__ = ["ReplicaSetId", "replicasets", "service_address", "wait_synced"]


def _get(shell: Shell, *args: str) -> dict[str, Any] | None:
    proc = shell.quiet(["kubectl", *args, "-o", "json"])
    if proc.returncode != 0:
        return None
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def wait_synced(
    shell: Shell, *, namespace: str, env: str, service: str, digest: str, timeout: float = 180.0
) -> None:
    """Until the reconciler reports ``env/service`` Synced and Healthy at ``digest`` with no sync in flight.

    Prints one line with how long it took (from the promotion's commit to a healthy rollout)."""
    started = time.monotonic()
    deadline = started + timeout
    last: dict[str, str] = {}
    while time.monotonic() < deadline:
        cm = _get(shell, "-n", namespace, "get", "configmap", f"ferry-app-{env}-{service}")
        last = (cm or {}).get("data") or {}
        if (last.get("sync"), last.get("health"), last.get("digest"), last.get("operation")) == (
            "Synced",
            "Healthy",
            digest,
            "",
        ):
            shell.spent("waiting for the reconciler (sync + rollout)", time.monotonic() - started)
            shell.say(
                f"reconciler: {env}/{service} Synced and Healthy at {last.get('syncedRevision', '')[:7]} "
                f"({last.get('tag')}) after {time.monotonic() - started:.1f} s"
            )
            return
        time.sleep(0.5)
    state = (
        ", ".join(f"{k}={last.get(k, '?')}" for k in ("sync", "health", "tag", "message")) or "no status yet"
    )
    raise shell.fail(
        f"the reconciler did not sync {env}/{service} to {digest[:19]}… within {timeout:.0f} s ({state}); "
        "see reconciler.log in the cluster's data dir"
    )


def service_address(shell: Shell, *, namespace: str, name: str) -> tuple[str, int]:
    """The Service's ClusterIP and first port (reachable from the host with the process runtime)."""
    svc = _get(shell, "-n", namespace, "get", "service", name)
    if svc is None:
        raise shell.fail(f"service {namespace}/{name} not found")
    return str(svc["spec"]["clusterIP"]), int(svc["spec"]["ports"][0]["port"])


@dataclass(frozen=True)
class ReplicaSetId:
    name: str
    uid: str
    revision: str
    replicas: int

    def line(self) -> str:
        return f"{self.name:<36} uid {self.uid}  revision {self.revision}  replicas {self.replicas}"


def replicasets(shell: Shell, *, namespace: str, service: str) -> list[ReplicaSetId]:
    """The service's ReplicaSets (label ``app.kubernetes.io/name``), oldest revision first."""
    data = _get(shell, "-n", namespace, "get", "replicasets", "-l", f"app.kubernetes.io/name={service}")
    items = (data or {}).get("items") or []
    found = [
        ReplicaSetId(
            rs["metadata"]["name"],
            rs["metadata"]["uid"],
            rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "?"),
            int(rs.get("spec", {}).get("replicas", 0)),
        )
        for rs in items
    ]
    return sorted(found, key=lambda r: (len(r.revision), r.revision))
