"""Which controllers ``ferry cluster up`` runs, and how each is built from the manager's context.

One :class:`ControllerSpec` per kube-controller-manager controller (plus the scheduler, and the sim
kubelet when ``--runtime sim``). The names are the identities kube gives them (the service accounts of
``--use-service-account-credentials`` and the ``source.component`` of their events).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ferry.cluster.controllers.deployment import DeploymentController
from ferry.cluster.controllers.endpoints import ENDPOINTS, PODS, SERVICES, EndpointsController
from ferry.cluster.controllers.endpointslices import SLICES, EndpointSliceController
from ferry.cluster.controllers.job import JOBS, JobController, OrphanPodFinalizerController
from ferry.cluster.controllers.replicaset.controller import SPEC as REPLICASET
from ferry.cluster.controllers.runtime.manager import (
    ControllerContext,
    ControllerSpec,
    Handlers,
    HandlerSet,
    SyncResult,
)
from ferry.cluster.controllers.scheduler import Scheduler
from ferry.cluster.controllers.serviceaccounts import NAMESPACES, SERVICE_ACCOUNTS, ServiceAccountsController
from ferry.cluster.kubelet.sim import SimConfig, SimRuntime

if TYPE_CHECKING:
    from ferry.cluster.kubelet.process import KubeletConfig, ProcessKubelet

NODES = "v1/nodes"


class SchedulerController:
    """The scheduler in the manager's controller shape: pods and nodes in, pod keys to place out."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def handlers(self) -> Mapping[str, HandlerSet]:
        s = self.scheduler
        return {
            PODS: Handlers(s.on_pod_add, s.on_pod_update, s.on_pod_delete),
            NODES: Handlers(s.on_node_add, s.on_node_update, s.on_node_delete),
        }

    async def sync(self, key: str) -> SyncResult | None:
        return await self.scheduler.sync(key)


class SimKubeletController:
    """The sim kubelet: its pod handlers mark pods dirty and its own loop (``run``) writes their status;
    it asks the manager for no per-key syncs."""

    def __init__(self, sim: SimRuntime) -> None:
        self.sim = sim

    def handlers(self) -> Mapping[str, HandlerSet]:
        sim = self.sim

        def add(pod: dict[str, object]) -> list[str]:
            sim.on_pod_add(pod)
            return []

        def update(old: dict[str, object], new: dict[str, object]) -> list[str]:
            sim.on_pod_update(old, new)
            return []

        def delete(pod: dict[str, object]) -> list[str]:
            sim.on_pod_delete(pod)
            return []

        return {PODS: Handlers(add, update, delete)}

    async def sync(self, key: str) -> None:
        return None

    async def run(self, stop: asyncio.Event) -> None:
        await self.sim.run(stop)


def _deployment(c: ControllerContext) -> DeploymentController:
    return DeploymentController(
        c.lister("apps/v1/deployments"),
        c.lister("apps/v1/replicasets"),
        pods=c.lister(PODS),
        client=c.client,
        recorder=c.recorder,
        clock=c.clock,
    )


def _endpoints(c: ControllerContext) -> EndpointsController:
    return EndpointsController(
        c.lister(SERVICES), c.lister(PODS), c.lister(ENDPOINTS), c.client, c.recorder, c.clock
    )


def _slices(c: ControllerContext) -> EndpointSliceController:
    return EndpointSliceController(
        c.lister(SERVICES), c.lister(PODS), c.lister(NODES), c.lister(SLICES), c.client, c.recorder, c.clock
    )


def _job(c: ControllerContext) -> JobController:
    return JobController(c.lister(JOBS), c.lister(PODS), c.client, c.recorder, c.clock)


def _job_orphans(c: ControllerContext) -> OrphanPodFinalizerController:
    return OrphanPodFinalizerController(c.lister(JOBS), c.lister(PODS), c.client, c.recorder, c.clock)


def _service_accounts(c: ControllerContext) -> ServiceAccountsController:
    return ServiceAccountsController(
        c.lister(NAMESPACES), c.lister(SERVICE_ACCOUNTS), c.client, c.recorder, c.clock
    )


def _scheduler(c: ControllerContext) -> SchedulerController:
    return SchedulerController(Scheduler(c.lister(PODS), c.lister(NODES), c.client, c.recorder, c.clock))


CONTROL_PLANE: list[ControllerSpec] = [
    ControllerSpec("deployment-controller", _deployment),
    REPLICASET,
    ControllerSpec("endpoint-controller", _endpoints),
    ControllerSpec("endpointslice-controller", _slices),
    ControllerSpec("job-controller", _job),
    ControllerSpec("job-orphan-pod-controller", _job_orphans),
    ControllerSpec("serviceaccount-controller", _service_accounts),
    # Decisions are serial even with many workers: a sync decides and assumes the pod on its node without
    # yielding; only the binding POST is awaited, so bindings overlap like kube's binding cycles.
    ControllerSpec("default-scheduler", _scheduler, workers=16),
]


def sim_kubelet(config: SimConfig) -> ControllerSpec:
    def build(c: ControllerContext) -> SimKubeletController:
        return SimKubeletController(SimRuntime(c.lister(PODS), c.client, c.recorder, c.clock, config))

    return ControllerSpec("kubelet", build, workers=1)


class ProcessKubeletController:
    """The process kubelet in the manager's shape: pod handlers start or wake pod workers; ``run`` is the node."""

    def __init__(self, kubelet: ProcessKubelet) -> None:
        self.kubelet = kubelet

    def handlers(self) -> Mapping[str, HandlerSet]:
        k = self.kubelet

        def add(pod: dict[str, object]) -> list[str]:
            k.on_pod(pod)
            return []

        def update(old: dict[str, object], new: dict[str, object]) -> list[str]:
            k.on_pod(new)
            return []

        def delete(pod: dict[str, object]) -> list[str]:
            k.on_pod_delete(pod)
            return []

        return {PODS: Handlers(add, update, delete), SERVICES: Handlers(_none, _none2, _none)}

    async def sync(self, key: str) -> None:
        return None

    async def run(self, stop: asyncio.Event) -> None:
        await self.kubelet.run(stop)


def _none(obj: dict[str, object]) -> list[str]:
    return []


def _none2(old: dict[str, object], new: dict[str, object]) -> list[str]:
    return []


def _kubelet_config(data_dir: Path) -> KubeletConfig:
    from ferry.cluster.kubelet.process import KubeletConfig

    return KubeletConfig(
        data_dir=data_dir,
        name_prefix=os.environ.get("FERRY_KUBELET_PREFIX", "ferry"),
        pod_cidr=os.environ.get("FERRY_KUBELET_POD_CIDR", "10.244.0.0/24"),
    )


def process_node(data_dir: Path, *, ingress_port: int | None = None) -> list[ControllerSpec]:
    """The process kubelet and the node's network agent (kube-proxy's and CoreDNS's roles), over one
    ``NodeNetwork``, keeping their state under the cluster's ``data_dir``. Tests give what they create on the
    host their own names and addresses with ``FERRY_KUBELET_PREFIX`` (default ``ferry``) and
    ``FERRY_KUBELET_POD_CIDR`` (default ``10.244.0.0/24``), read in the controller-manager child. The agent
    also runs the ingress proxy on 127.0.0.1:``ingress_port`` (None: no ingress; 0: any free port).

    The kubelet and the agent share one ``ServingGate`` (``network/serving.py``): the agent attaches its proxy,
    and the kubelet asks it before stopping a deleted pod, so the pod leaves the Services before its SIGTERM.
    They can share an object because both are built in the controller-manager child, in one event loop."""
    from ferry.cluster.network.agent import NetworkAgentConfig, network_agent
    from ferry.cluster.network.serving import ServingGate

    gate = ServingGate()

    def build(c: ControllerContext) -> ProcessKubeletController:
        from ferry.cluster.kubelet.process import ProcessKubelet

        kubelet = ProcessKubelet(
            c.lister(PODS), c.lister(SERVICES), c.client, c.recorder, _kubelet_config(data_dir), gate=gate
        )
        return ProcessKubeletController(kubelet)

    def agent_config() -> NetworkAgentConfig:
        k = _kubelet_config(data_dir)
        state = k.data_dir / "kubelet" / "network"
        return NetworkAgentConfig(
            state_dir=state, name_prefix=k.name_prefix, pod_cidr=k.pod_cidr, ingress_port=ingress_port
        )

    from ferry.cluster.controllers.rootcacerts import root_ca_publisher
    from ferry.cluster.network.apiendpoint import ApiEndpointConfig, api_server_endpoint

    def endpoint_config() -> ApiEndpointConfig:  # pods reach the API server via the bridge's gateway
        return ApiEndpointConfig(pod_cidr=_kubelet_config(data_dir).pod_cidr)

    return [
        ControllerSpec("kubelet", build, workers=1),
        network_agent(agent_config, gate=gate),
        api_server_endpoint(endpoint_config),
        root_ca_publisher(data_dir / "pki" / "ca.crt"),  # kube-root-ca.crt: ca.crt of kube-api-access
    ]


def controllers_for(
    *, runtime: str, nodes: int, data_dir: Path | None = None, ingress_port: int | None = None
) -> list[ControllerSpec]:
    """The control plane, plus the node runtime ``runtime`` ("sim", "process" (one node of real containers,
    its state under ``data_dir``), or "none" for an API-only cluster)."""
    specs = list(CONTROL_PLANE)
    if runtime == "sim":
        specs.append(sim_kubelet(SimConfig(nodes=nodes)))
    elif runtime == "process":
        if data_dir is None:
            raise ValueError("the process runtime keeps its state in the cluster's data dir: pass data_dir")
        specs += process_node(data_dir, ingress_port=ingress_port)
    elif runtime != "none":
        raise ValueError(f"unknown runtime {runtime!r}: expected sim, process or none")
    return specs
