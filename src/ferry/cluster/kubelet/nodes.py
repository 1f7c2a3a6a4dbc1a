"""The sim's nodes: addresses and pod CIDRs, the Node objects, their Leases and heartbeats.

:func:`make_nodes` names ``ferry-node-1..N`` and gives each an InternalIP (counting up from
``SimConfig.node_ip_start``) and a pod subnet of ``SimConfig.pod_cidr`` sized for ``max_pods``;
:class:`_Node` hands out pod IPs from it. :func:`node_object` is the Node a kubelet registers (capacity =
allocatable, the Ready/pressure conditions, nodeInfo with ``containerRuntimeVersion: sim://1.0``, addresses,
podCIDR); :func:`register_node` creates it or takes over an existing one (keeping its podCIDR),
:func:`renew_lease` keeps the node's Lease in ``kube-node-lease`` fresh and :func:`heartbeat` refreshes the
conditions' ``lastHeartbeatTime``. :class:`~ferry.cluster.kubelet.sim.SimRuntime` decides when. Also the
status formats that pods share with nodes: :func:`_ts` (timestamps) and :func:`_hex` (stable IDs).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import ipaddress
import math
from dataclasses import dataclass, field

from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, Obj
from ferry.cluster.kubelet.behaviour import SimConfig

LEASE_NAMESPACE = "kube-node-lease"
_NODE_CONDITION_KEYS = ("type", "status", "reason", "message")
_NODE_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


@dataclass
class _Node:
    name: str
    ip: str
    cidr: ipaddress.IPv4Network
    uid: str = ""
    used: set[int] = field(default_factory=set)
    cursor: int = 0
    lease: Obj | None = None

    def allocate(self, want: str = "") -> str:
        if want and ipaddress.ip_address(want) in self.cidr:
            self.used.add(int(ipaddress.ip_address(want)) - int(self.cidr.network_address))
            return want
        size = self.cidr.num_addresses - 3  # network, gateway (.1), broadcast
        for _ in range(size):
            self.cursor = self.cursor % size + 1
            if self.cursor + 1 not in self.used:
                self.used.add(self.cursor + 1)
                return str(self.cidr.network_address + self.cursor + 1)
        return ""


def _ts(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def make_nodes(cfg: SimConfig) -> dict[str, _Node]:
    """``ferry-node-1..N``: consecutive IPs from ``node_ip_start``, one subnet of ``pod_cidr`` each."""
    bits = max(8, math.ceil(math.log2(cfg.max_pods + 4)))
    subnets = ipaddress.IPv4Network(cfg.pod_cidr).subnets(new_prefix=32 - bits)
    start = ipaddress.IPv4Address(cfg.node_ip_start)
    nodes: dict[str, _Node] = {}
    for i in range(cfg.nodes):
        cidr = next(subnets, None)
        if cidr is None:
            raise ValueError(f"pod_cidr {cfg.pod_cidr} is too small for {cfg.nodes} nodes")
        nodes[f"ferry-node-{i + 1}"] = _Node(f"ferry-node-{i + 1}", str(start + i), cidr)
    return nodes


def node_object(node: _Node, cfg: SimConfig, now: float) -> Obj:
    """The Node a kubelet registers: capacity = allocatable, conditions, addresses, nodeInfo, podCIDR."""
    cond = {"lastHeartbeatTime": _ts(now), "lastTransitionTime": _ts(now)}
    res = {"cpu": cfg.cpu, "memory": cfg.memory, "ephemeral-storage": cfg.ephemeral_storage}
    res |= {"pods": str(cfg.max_pods), "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux"}
    labels |= {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
    }
    spec: Obj = {"podCIDR": str(node.cidr), "podCIDRs": [str(node.cidr)]}
    if cfg.taints:
        spec["taints"] = [{"key": k, "value": v, "effect": e} for k, v, e in cfg.taints]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": labels | dict(cfg.labels),
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": {
            "capacity": res,
            "allocatable": dict(res),
            "conditions": [cond | dict(zip(_NODE_CONDITION_KEYS, c, strict=True)) for c in _NODE_CONDITIONS],
            "addresses": [
                {"type": "InternalIP", "address": node.ip},
                {"type": "Hostname", "address": node.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": _hex("machine", node.name)[:32],
                "systemUUID": _hex("uuid", node.name)[:32],
                "bootID": _hex("boot", node.name)[:32],
                "kernelVersion": "6.8.0-ferry",
                "osImage": "ferry sim",
                "containerRuntimeVersion": "sim://1.0",
                "kubeletVersion": cfg.kubelet_version,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


async def register_node(client: Client, node: _Node, body: Obj) -> None:
    """Create the Node object, or take over an existing one (its status replaced, its podCIDR kept)."""
    try:
        obj = await client.create("v1/nodes", None, body)
    except ApiStatusError as err:
        if not err.already_exists:
            raise
        obj = copy.deepcopy(await client.get("v1/nodes", None, node.name))
        obj["status"] = body["status"]
        obj = await client.update("v1/nodes", None, obj, subresource="status")
        node.cidr = ipaddress.IPv4Network((obj.get("spec") or {}).get("podCIDR") or str(node.cidr))
    node.uid = str(obj["metadata"].get("uid", ""))


async def renew_lease(client: Client, node: _Node, cfg: SimConfig, now: float) -> None:
    """Renew the node's Lease (created, owned by the Node, when missing; refetched after a conflict)."""
    res, renew = "coordination.k8s.io/v1/leases", dt.datetime.fromtimestamp(now, dt.UTC)
    spec = {"holderIdentity": node.name, "leaseDurationSeconds": cfg.lease_duration_seconds}
    spec["renewTime"] = renew.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    try:
        if node.lease is None:
            node.lease = await client.get(res, LEASE_NAMESPACE, node.name)
        body = copy.deepcopy(node.lease)
        body["spec"] = (body.get("spec") or {}) | spec
        node.lease = await client.update(res, LEASE_NAMESPACE, body)
    except ApiStatusError as err:
        node.lease = None
        if not err.not_found:
            return  # a conflict: fetched again at the next renewal
        owner = {"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": node.uid}
        meta = {"name": node.name, "namespace": LEASE_NAMESPACE, "ownerReferences": [owner]}
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}
        node.lease = await client.create(res, LEASE_NAMESPACE, lease)


async def heartbeat(client: Client, node: _Node, now: float) -> None:
    """The periodic node status report: every condition's ``lastHeartbeatTime`` set to now."""
    obj = copy.deepcopy(await client.get("v1/nodes", None, node.name))
    for c in (obj.get("status") or {}).get("conditions") or []:
        c["lastHeartbeatTime"] = _ts(now)
    await client.update("v1/nodes", None, obj, subresource="status")
