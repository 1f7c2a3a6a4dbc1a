"""Builders and a fake cluster for the Endpoints and EndpointSlice controller tests.

``World`` wires both controllers to the recording fakes of ``ferry.cluster.controllers.runtime.fakes``:
build it with the Services, pods and nodes a sync should see, run ``sync`` once, assert the exact
``client.actions``, clear them, sync again and assert there are none.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.controllers.endpoints import ENDPOINTS, PODS, SERVICES, EndpointsController
from ferry.cluster.controllers.endpointslices import SLICES, EndpointSliceController
from ferry.cluster.controllers.runtime.fakes import FakeClock, FakeLister, RecordingClient, RecordingRecorder
from ferry.cluster.controllers.runtime.types import Obj

NODES = "v1/nodes"
NS = "default"
KEY = "default/web"
SVC_CREATED = "2026-01-01T00:00:00Z"
READY_AT = "2026-01-01T00:00:05Z"


def service(
    name: str = "web",
    *,
    selector: dict[str, str] | None = None,
    ports: list[dict[str, Any]] | None = None,
    cluster_ip: str = "10.96.0.10",
    labels: dict[str, str] | None = None,
    publish: bool = False,
    uid: str = "svc-uid",
) -> Obj:
    spec: dict[str, Any] = {
        "selector": {"app": "web"} if selector is None else selector,
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
        if ports is None
        else ports,
        "clusterIP": cluster_ip,
        "clusterIPs": [cluster_ip],
        "ipFamilies": ["IPv4"],
        "type": "ClusterIP",
    }
    if publish:
        spec["publishNotReadyAddresses"] = True
    meta: dict[str, Any] = {
        "name": name,
        "namespace": NS,
        "uid": uid,
        "resourceVersion": "10",
        "creationTimestamp": SVC_CREATED,
    }
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def pod(
    name: str,
    ip: str,
    *,
    labels: dict[str, str] | None = None,
    ready: bool = True,
    node: str = "node-1",
    phase: str = "Running",
    deleting: bool = False,
    ready_at: str = READY_AT,
    container_ports: list[dict[str, Any]] | None = None,
    hostname: str | None = None,
    subdomain: str | None = None,
) -> Obj:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": NS,
        "uid": f"uid-{name}",
        "resourceVersion": "20",
        "labels": {"app": "web"} if labels is None else labels,
    }
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    ports = (
        [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        if container_ports is None
        else container_ports
    )
    spec: dict[str, Any] = {
        "nodeName": node,
        "containers": [{"name": "app", "image": "web:1", "ports": ports}],
    }
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_at}
        ],
    }
    if ip:
        status |= {"podIP": ip, "podIPs": [{"ip": ip}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def node(name: str = "node-1", zone: str | None = None) -> Obj:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "resourceVersion": "5"}
    if zone:
        meta["labels"] = {"topology.kubernetes.io/zone": zone}
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta}


@dataclass
class World:
    services: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    nodes: list[Obj] = field(default_factory=lambda: [node()])
    endpoints: list[Obj] = field(default_factory=list)
    slices: list[Obj] = field(default_factory=list)
    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        self.listers = {
            SERVICES: FakeLister(copy.deepcopy(self.services)),
            PODS: FakeLister(copy.deepcopy(self.pods)),
            NODES: FakeLister(copy.deepcopy(self.nodes)),
            ENDPOINTS: FakeLister(copy.deepcopy(self.endpoints)),
            SLICES: FakeLister(copy.deepcopy(self.slices)),
        }
        self.client = RecordingClient(self.listers, self.clock)
        self.recorder = RecordingRecorder()

    def endpoints_controller(self) -> EndpointsController:
        ls = self.listers
        return EndpointsController(
            ls[SERVICES], ls[PODS], ls[ENDPOINTS], self.client, self.recorder, self.clock
        )

    def slice_controller(self, *, max_per_slice: int = 100) -> EndpointSliceController:
        ls = self.listers
        return EndpointSliceController(
            ls[SERVICES],
            ls[PODS],
            ls[NODES],
            ls[SLICES],
            self.client,
            self.recorder,
            self.clock,
            max_endpoints_per_slice=max_per_slice,
        )

    def take(self) -> list[tuple[Any, ...]]:
        """The actions recorded so far, clearing them."""
        actions, self.client.actions = self.client.actions, []
        return actions

    def put(self, resource: str, obj: Obj) -> None:
        self.listers[resource].put(copy.deepcopy(obj))

    def slice_objects(self) -> list[Obj]:
        return self.listers[SLICES].list(NS)


def address(name: str, ip: str, node_name: str = "node-1", **extra: Any) -> dict[str, Any]:
    ref = {"kind": "Pod", "namespace": NS, "name": name, "uid": f"uid-{name}"}
    return {"ip": ip, "nodeName": node_name, "targetRef": ref, **extra}


def endpoint(
    name: str, ip: str, *, ready: bool = True, serving: bool = True, terminating: bool = False, **extra: Any
) -> dict[str, Any]:
    return {
        "addresses": [ip],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
        "targetRef": {"kind": "Pod", "namespace": NS, "name": name, "uid": f"uid-{name}"},
        "nodeName": "node-1",
        **extra,
    }


def new_slice(
    endpoints: list[dict[str, Any]], *, ports: list[dict[str, Any]] | None = None, **meta: Any
) -> Obj:
    """The body the EndpointSlice controller sends to create a slice for ``service()``."""
    from ferry.cluster.controllers.endpoints import TRIGGER_TIME_ANNOTATION
    from ferry.cluster.controllers.endpointslices import CONTROLLER_NAME, MANAGED_BY_LABEL, SERVICE_NAME_LABEL

    owner = {"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "svc-uid"}
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": "web-",
            "namespace": NS,
            "labels": {SERVICE_NAME_LABEL: "web", MANAGED_BY_LABEL: CONTROLLER_NAME},
            "ownerReferences": [owner | {"controller": True, "blockOwnerDeletion": True}],
            "annotations": {TRIGGER_TIME_ANNOTATION: SVC_CREATED},
            **meta,
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}] if ports is None else ports,
    }
