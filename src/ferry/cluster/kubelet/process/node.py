"""The process kubelet's node: capacity from the machine, the Node object, its Lease and heartbeats.

One node, ``ferry-node-1``. :func:`machine_capacity` reads the CPU count and ``MemTotal`` (``/proc/meminfo``);
max pods is 110. :func:`process_node_object` is the sim's :func:`~ferry.cluster.kubelet.nodes.node_object`
with the real values and the runtime's identity: ``containerRuntimeVersion`` (``runc://1.1.5`` or
``process://1``), the kernel version, and two annotations that say how pods are isolated
(``kubelet.ferry.dev/runtime``: the runtime's ``describe()``; ``kubelet.ferry.dev/network``: ``bridge`` or
``host`` with the reason). Without a pod network the Ready condition's message says so too. Registration,
Lease renewal and heartbeats are :mod:`ferry.cluster.kubelet.nodes`' functions, reused as they are.

:func:`setup_network` sets the node's pod network up (or says why not) and :func:`start_api` starts the
kubelet API (:mod:`ferry.cluster.kubelet.server`, ``/containerLogs`` for ``kubectl logs``) on 127.0.0.1, the
node's InternalIP, whose port goes into ``status.daemonEndpoints``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.kubelet.behaviour import SimConfig
from ferry.cluster.kubelet.nodes import _Node, node_object
from ferry.cluster.kubelet.runtime import log_path
from ferry.cluster.kubelet.server import (
    PodLookup,
    RunningServer,
    ensure_kubelet_serving_cert,
    start_kubelet_server,
)
from ferry.cluster.kubelet.server.execws import ExecStarter
from ferry.cluster.network import NetworkError, NodeNetwork, NodeNetworkConfig

log = logging.getLogger("ferry.kubelet.process")

NODE_NAME = "ferry-node-1"
MAX_PODS = 110
ANN_RUNTIME = "kubelet.ferry.dev/runtime"
ANN_NETWORK = "kubelet.ferry.dev/network"


@dataclass(frozen=True)
class Capacity:
    cpu: str
    memory: str


def machine_capacity(meminfo: Path = Path("/proc/meminfo")) -> Capacity:
    """The CPU count and MemTotal (as ``<n>Ki``, as kubelet reports it)."""
    mem_kib = 0
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        mem_kib = 0
    return Capacity(str(os.cpu_count() or 1), f"{mem_kib}Ki")


def make_node(pod_cidr: str, ip: str) -> _Node:
    return _Node(NODE_NAME, ip, ipaddress.IPv4Network(pod_cidr))


def node_config(cap: Capacity) -> SimConfig:
    return SimConfig(nodes=1, cpu=cap.cpu, memory=cap.memory, max_pods=MAX_PODS)


def process_node_object(
    node: _Node, cap: Capacity, now: float, *, runtime_version: str, runtime: str, network: str, port: int = 0
) -> Obj:
    """The Node this kubelet registers (see the module docstring)."""
    obj = node_object(node, node_config(cap), now)
    info = obj["status"]["nodeInfo"]
    info["containerRuntimeVersion"] = runtime_version
    info["kernelVersion"] = platform.release()
    info["osImage"] = "ferry process kubelet"
    obj["metadata"]["annotations"] |= {ANN_RUNTIME: runtime, ANN_NETWORK: network}
    obj["status"]["daemonEndpoints"] = {"kubeletEndpoint": {"Port": port}}
    if not network.startswith("bridge"):
        for cond in obj["status"]["conditions"]:
            if cond["type"] == "Ready":
                cond["message"] = f"kubelet is posting ready status; pods use host networking ({network})"
    return obj


async def setup_network(state_dir: Path, pod_cidr: str, prefix: str) -> tuple[NodeNetwork | None, str]:
    """The node's pod network (bridge, service link; idempotent, the network agent does the same), or None
    and why pods use the host's network instead."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return None, "host: the pod network needs root and iproute2"
    net = NodeNetwork(NodeNetworkConfig(pod_cidr=pod_cidr, state_dir=state_dir, name_prefix=prefix))
    try:
        await net.setup_node()
    except (NetworkError, OSError) as e:
        return None, f"host: the pod network failed: {e}"
    return net, f"bridge {net.config.bridge} {pod_cidr}"


async def start_api(
    data_dir: Path, pods_dir: Path, pods: PodLookup, *, exec_stream: ExecStarter | None = None
) -> RunningServer | None:
    """The kubelet API (``kubectl logs``) on 127.0.0.1, any free port, with a serving certificate from the
    cluster CA in ``<data dir>/pki``; None (logged) when it cannot start, as pods run without it."""
    try:
        tls = ensure_kubelet_serving_cert(data_dir / "pki", NODE_NAME)

        def log_file(uid: str, container: str, restart: int) -> Path:
            return log_path(pods_dir / uid / "logs", container, restart)

        return await start_kubelet_server(
            "127.0.0.1", 0, log_file, pods=pods, tls=tls, exec_stream=exec_stream
        )
    except Exception:
        log.exception("kubelet: the kubelet API did not start; kubectl logs will not reach this node")
        return None
