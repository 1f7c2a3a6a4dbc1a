"""The process kubelet: one node whose pods run as real containers (``ferry cluster up --runtime process``).

:class:`ProcessKubelet` is a controller of the controller-manager child (``registry.controllers_for``). Its pod
handlers only start or wake a :class:`~.podworker.PodWorker` (one asyncio task per pod bound to
``ferry-node-1``); its ``run`` loop sets the node up and keeps it alive:

* the container runtime (``choose_runtime``: runc as root, else plain processes), under
  ``<data dir>/kubelet/runtime``; the image store under ``<data dir>/kubelet/images``, with a registry client
  per registry host (the embedded registry on 127.0.0.1 is plain HTTP);
* the pod network (``NodeNetwork`` on the node's podCIDR, named from ``KubeletConfig.name_prefix``; the
  network agent, ``ferry.cluster.network.agent``, shares it and serves Services and DNS); when it cannot work
  (not root, no ``ip``), pods use the host's network and the node says so (annotation
  ``kubelet.ferry.dev/network``, the Ready condition's message);
* the kubelet API on 127.0.0.1 (``kubectl logs``), the node's InternalIP;
* the Node object and its Lease (:mod:`.node`, the sim's ``nodes`` helpers), renewed every 10 s;
* adoption: pods recorded on disk whose pod is gone from the API are torn down;
* a deleted pod is stopped only once the node's service proxy no longer routes to it and its connections
  drained (bounded), through the :class:`~ferry.cluster.network.serving.ServingGate` the network agent
  shares (``registry.process_node``; see ``podworker.PodWorker._leave_services``).

When the manager stops (``ferry cluster down``: the stop event), every container is killed, every pod sandbox
and the node's network removed, so nothing stays behind. When the child dies without a stop (a crash, kill
-9), the containers keep running under their shims, and the next child adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import ferry
from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, EventRecorder, Lister, Obj
from ferry.cluster.kubelet.images import ImageStore, PulledImage
from ferry.cluster.kubelet.nodes import heartbeat, register_node, renew_lease
from ferry.cluster.kubelet.process.node import (
    NODE_NAME,
    Capacity,
    machine_capacity,
    make_node,
    node_config,
    process_node_object,
    setup_network,
    start_api,
)
from ferry.cluster.kubelet.process.podworker import PodWorker
from ferry.cluster.kubelet.process.tokens import PodTokens
from ferry.cluster.kubelet.process.volumes import remove_pod_dir
from ferry.cluster.kubelet.runtime import ContainerId, ContainerRuntime, ContainerRuntimeError, choose_runtime
from ferry.cluster.kubelet.runtime.cgroups import cgroup_v1_hierarchies
from ferry.cluster.kubelet.server import RunningServer
from ferry.cluster.network import NetworkError, NodeNetwork
from ferry.cluster.network.serving import ServingGate
from ferry.registry.client import RegistryClient

log = logging.getLogger("ferry.kubelet.process")


@dataclass(frozen=True)
class KubeletConfig:
    data_dir: Path  # the cluster's data dir; the kubelet keeps its state in <data_dir>/kubelet
    pod_cidr: str = "10.244.0.0/24"
    name_prefix: str = "ferry"  # host objects: bridge <prefix>0, netns, cgroups <prefix>/<uid>/<ctr>
    runtime: str = "auto"  # "auto", "runc" or "process"
    lease_renew_seconds: float = 10.0
    node_status_report_seconds: float = 60.0


class ProcessKubelet:
    """The kubelet of ``ferry-node-1`` (see the module docstring)."""

    def __init__(
        self,
        pods: Lister,
        services: Lister,
        client: Client,
        recorder: EventRecorder,
        config: KubeletConfig,
        *,
        gate: ServingGate | None = None,
    ) -> None:
        self.pods, self._services, self.client, self.recorder, self.config = (
            pods,
            services,
            client,
            recorder,
            config,
        )
        self.root = config.data_dir / "kubelet"
        self.pods_dir = self.root / "pods"
        self.pods_dir.mkdir(parents=True, exist_ok=True)
        self.cap: Capacity = machine_capacity()
        self.allocatable = {"cpu": self.cap.cpu, "memory": self.cap.memory}
        self.node = make_node(config.pod_cidr, "127.0.0.1")
        self.runtime: ContainerRuntime = choose_runtime(
            self.root / "runtime", prefer=config.runtime, cgroup_root=config.name_prefix
        )
        self.images = ImageStore(self.root / "images", lambda host: RegistryClient(host))
        self.pulled: dict[str, PulledImage] = {}
        self.network: NodeNetwork | None = None
        self.network_note = "host: not set up yet"
        self.server: RunningServer | None = None
        self.workers: dict[str, tuple[PodWorker, asyncio.Task[None]]] = {}  # by uid
        self.ready = asyncio.Event()
        self.gate = gate or ServingGate()  # the node's service proxy, once it serves (network/serving.py)
        self.tokens = PodTokens(config.data_dir / "pki", self.lookup)  # projected service-account tokens

    # -- handlers -------------------------------------------------------------------------------------
    def on_pod(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName") != NODE_NAME or not self.ready.is_set():
            return
        meta = pod["metadata"]
        uid = str(meta.get("uid"))
        entry = self.workers.get(uid)
        if entry is not None and not entry[1].done():
            entry[0].wake.set()
            return
        if entry is not None:
            return  # finished
        worker = PodWorker(self, str(meta.get("namespace")), str(meta["name"]), uid)
        task = asyncio.create_task(self._run_worker(worker), name=f"pod-{rt.key_of(pod)}")
        self.workers[uid] = (worker, task)

    async def _run_worker(self, worker: PodWorker) -> None:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod %s/%s: worker failed", worker.ns, worker.name)

    def on_pod_delete(self, pod: Obj) -> None:
        uid = str(pod["metadata"].get("uid"))
        entry = self.workers.get(uid)
        if entry is not None and entry[1].done():
            del self.workers[uid]  # finished: the pod is gone for good
        elif entry is not None:
            entry[0].wake.set()

    # -- what workers use -----------------------------------------------------------------------------
    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        self.recorder.event(obj, type_, reason, message)

    def services(self) -> list[Obj]:
        return list(self._services.list())

    async def lookup(self, resource: str, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client.get(resource, namespace, name)
        except ApiStatusError as err:
            if err.not_found:
                return None
            raise

    async def release(self, uid: str, cids: list[str]) -> None:
        """Delete a pod's container instances and its sandbox (its IP released)."""
        for cid in cids:
            with contextlib.suppress(ContainerRuntimeError):
                await self.runtime.kill(ContainerId(cid), signal.SIGKILL)
            try:
                await self.runtime.delete(ContainerId(cid))
            except ContainerRuntimeError:
                pass
            except OSError as e:  # a container directory half gone must not keep the pod from being deleted
                log.warning("kubelet: removing container %s of pod %s: %s", cid, uid, e)
        if self.network is not None:
            with contextlib.suppress(NetworkError):
                await self.network.delete_pod_network(uid)
        self._remove_cgroups(uid)

    def _remove_cgroups(self, pattern: str) -> None:
        """rmdir the (empty) cgroups ``<prefix>/<pattern>`` of every hierarchy; the runtime removed the
        containers' own."""
        for hierarchy in cgroup_v1_hierarchies():
            root = hierarchy / self.config.name_prefix
            for d in [root] if not pattern else root.glob(pattern):
                with contextlib.suppress(OSError):
                    d.rmdir()

    # -- the node -------------------------------------------------------------------------------------
    def _pod_here(self, namespace: str, name: str) -> Obj | None:
        pod = self.pods.get(namespace, name)
        return pod if pod is not None and (pod.get("spec") or {}).get("nodeName") == NODE_NAME else None

    def _runtime_version(self) -> str:
        """``status.nodeInfo.containerRuntimeVersion`` as ``<runtime>://<version>`` (kube: ``containerd://1.7.x``):
        runc's own version, or ferry's for the plain-process fallback."""
        first = self.runtime.describe().split(":")[0].split(" ")
        version = first[-1] if self.runtime.name == "runc" and len(first) > 1 else ferry.__version__
        return f"{self.runtime.name}://{version}"

    async def register(self) -> None:
        now = time.time()
        body = process_node_object(
            self.node,
            self.cap,
            now,
            runtime_version=self._runtime_version(),
            runtime=self.runtime.describe(),
            network=self.network_note,
            port=self.server.port if self.server is not None else 0,
        )
        await register_node(self.client, self.node, body)
        await renew_lease(self.client, self.node, node_config(self.cap), now)

    def _forget_orphans(self) -> list[str]:
        """Pod dirs on disk whose pod is not bound here any more."""
        live = {
            str(p["metadata"].get("uid"))
            for p in self.pods.list()
            if (p.get("spec") or {}).get("nodeName") == NODE_NAME
        }
        return [d.name for d in self.pods_dir.iterdir() if d.is_dir() and d.name not in live]

    async def run(self, stop: asyncio.Event) -> None:
        try:
            state = self.root / "network"
            self.network, self.network_note = await setup_network(
                state, str(self.node.cidr), self.config.name_prefix
            )
            self.server = await start_api(
                self.config.data_dir, self.pods_dir, self._pod_here, exec_stream=self.runtime.exec_stream
            )
            while not stop.is_set():
                try:
                    await self.register()
                    break
                except Exception:
                    log.exception("kubelet: registering %s failed; retrying", NODE_NAME)
                    await asyncio.sleep(1.0)
            for uid in self._forget_orphans():
                await self._cleanup_orphan(uid)
            self.ready.set()
            for pod in self.pods.list():
                self.on_pod(pod)
            log.info(
                "kubelet: %s ready (%s; network %s)", NODE_NAME, self.runtime.describe(), self.network_note
            )
            lease_due = status_due = time.time()
            while not stop.is_set():
                now = time.time()
                try:
                    if now >= lease_due:
                        lease_due = now + self.config.lease_renew_seconds
                        await renew_lease(self.client, self.node, node_config(self.cap), now)
                    if now >= status_due:
                        status_due = now + self.config.node_status_report_seconds
                        await heartbeat(self.client, self.node, now)
                except Exception:
                    log.exception("kubelet: lease or heartbeat failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            await asyncio.shield(self.shutdown())

    async def _cleanup_orphan(self, uid: str) -> None:
        import json

        try:
            rec = json.loads((self.pods_dir / uid / "record.json").read_text())
            cids = [str(c["cid"]) for c in rec.get("ctrs", {}).values() if c.get("cid")]
        except (OSError, ValueError, KeyError):
            cids = []
        await self.release(uid, cids)
        remove_pod_dir(self.pods_dir / uid)

    async def shutdown(self) -> None:
        """Stop everything this node runs: containers killed and deleted, sandboxes and the bridge removed."""
        for _, task in self.workers.values():
            task.cancel()
        for _, task in self.workers.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for cid in await self.runtime.list():
            with contextlib.suppress(ContainerRuntimeError):
                await self.runtime.kill(cid, signal.SIGKILL)
            with contextlib.suppress(ContainerRuntimeError):
                await self.runtime.delete(cid)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.close()
        if self.network is not None:
            with contextlib.suppress(NetworkError, OSError):
                await self.network.teardown_node()
        remove_pod_dir(self.pods_dir)  # unmounts memory-backed emptyDirs first
        self._remove_cgroups("*")
        self._remove_cgroups("")
        log.info("kubelet: %s stopped; containers and pod network removed", NODE_NAME)
