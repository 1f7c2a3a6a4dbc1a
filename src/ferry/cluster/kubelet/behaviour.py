"""What a simulated container does, and when: the sim's settings and each container's script.

:class:`SimConfig` holds the runtime's settings (node count, size and addresses, the default timings of
containers, the kubelet's periods). :func:`behaviour` derives one container's :class:`Behaviour` from the pod's
``sim.ferry.dev/*`` annotations, its image tag and its restartPolicy; the annotations and tags are documented
in :mod:`ferry.cluster.kubelet.sim`, where users look. :class:`Backoff` is the kubelet's back-off
(CrashLoopBackOff and image pulls) and :func:`go_duration` formats its delay the way kubelet's messages do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.resources.defaults.pods import image_tag

ANN = "sim.ferry.dev/"
BACKOFF_INITIAL_SECONDS, BACKOFF_MAX_SECONDS = 10.0, 300.0


@dataclass(frozen=True)
class SimConfig:
    """Settings of the sim runtime: node count and size (quantities as in Node.status.capacity), addresses,
    the default behaviour of containers, and the kubelet's periods."""

    nodes: int = 1
    cpu: str = "8"
    memory: str = "32Gi"
    ephemeral_storage: str = "100Gi"
    max_pods: int = 110
    labels: tuple[tuple[str, str], ...] = ()  # extra node labels
    taints: tuple[tuple[str, str, str], ...] = ()  # (key, value, effect) on every node
    pod_cidr: str = "10.244.0.0/16"  # split into one subnet per node, sized for max_pods
    node_ip_start: str = "172.18.0.2"
    start_delay_ms: int = 500
    run_to_completion_ms: int = 1000
    lease_duration_seconds: int = 40
    lease_renew_seconds: float = 10.0
    node_status_report_seconds: float = 300.0
    max_inflight_writes: int = 32
    container_events: bool = True  # Pulled/Created/Started per start (off for benchmarks)
    kubelet_version: str = "v1.32.4+ferry"


@dataclass(frozen=True)
class Behaviour:
    """One container's script; seconds from the pod's arrival (start) or from each container start."""

    start: float
    ready: float | None  # None: never ready
    exit: float | None = None
    exit_code: int = 0
    oom: bool = False
    pull_error: str | None = None
    stop: float = 0.0


def behaviour(pod: Obj, container: Obj, config: SimConfig) -> Behaviour:
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    tag = (image_tag(str(container.get("image", ""))) or "").lower()
    words = set(re.split(r"[^a-z0-9]+", tag))

    def ms(name: str, default: float | None) -> float | None:
        try:
            return max(0, int(ann[ANN + name])) / 1000
        except (KeyError, ValueError, TypeError):
            return default

    probe = container.get("readinessProbe")
    ready = ms("ready-after-ms", float(probe.get("initialDelaySeconds") or 0) if probe else 0.0)
    if ann.get(ANN + "never-ready") == "true" or "never-ready" in tag:
        ready = None
    exit_, code, oom = None, 0, False
    if (pod.get("spec") or {}).get("restartPolicy") in ("Never", "OnFailure"):
        exit_ = config.run_to_completion_ms / 1000
    if words & {"crash", "crashloop"}:
        exit_, code = 1.0, 1
    if words & {"oom", "oomkilled"}:
        exit_, oom = 1.0, True
    if (crash := ms("crash-after-ms", None)) is not None:
        exit_, code, oom = crash, 1, False
    if (oom_after := ms("oom-after-ms", None)) is not None:
        exit_, oom = oom_after, True
    if str(ann.get(ANN + "exit-code", "")).lstrip("-").isdigit():
        code = int(ann[ANN + "exit-code"])
    pull = ann.get(ANN + "image-pull-error") or ("true" if "pull-error" in tag else None)
    if pull == "true":
        pull = f'failed to pull and unpack image "{container.get("image")}": not found'
    start = ms("start-after-ms", config.start_delay_ms / 1000) or 0.0
    return Behaviour(start, ready, exit_, code, oom, pull, ms("stop-after-ms", 0.0) or 0.0)


@dataclass
class Backoff:
    """client-go ``flowcontrol.Backoff`` (no jitter): 10 s doubling to 300 s; stale after 2 x max since update."""

    delay: float = 0.0
    updated: float | None = None

    def live(self, event: float) -> bool:
        return self.updated is not None and event - self.updated <= 2 * BACKOFF_MAX_SECONDS

    def next(self, event: float, now: float) -> None:
        self.delay = min(self.delay * 2, BACKOFF_MAX_SECONDS) if self.live(event) else BACKOFF_INITIAL_SECONDS
        self.updated = now


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String`` for whole seconds: 10s, 1m20s, 5m0s."""
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s}s" if m else f"{s}s"
