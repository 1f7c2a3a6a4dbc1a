"""Defaulting for the non-workload kinds: what kube-apiserver v1.32 fills in on every write.

Sources of the facts (read, not copied): ``pkg/apis/core/v1/defaults.go`` (Service, Secret,
Endpoints, Namespace, NodeStatus), ``pkg/apis/discovery/v1/defaults.go``,
``pkg/apis/networking/v1/defaults.go``, ``pkg/apis/rbac/v1/defaults.go``, plus the parts of the
registry strategies that behave like defaults and that ferry's generic server has no other home
for: the namespace strategy (``spec.finalizers: [kubernetes]``, ``status.phase: Active``), the
secret strategy (``stringData`` merged into ``data``), the service allocator's IP-family defaults
(``ipFamilies``/``ipFamilyPolicy``) and the clusterIP -> clusterIPs normalisation.

Contract (see ``ferry.cluster.resources.types.Defaulter``):

* A defaulter mutates the JSON dict in place and must be **idempotent**: the server runs it on
  every create, update, patch and apply, and running it twice must change nothing the second time.
* It never raises: a field it cannot interpret (wrong JSON type) is left alone for the validator
  to report.
* It never allocates (clusterIP, nodePort: the allocator's job) and never normalises quantities.

Races / limits: a defaulter sees only the new object, never the stored one. Where kube's strategy
compares with the old object (namespace finalizers on update, an ExternalName switch clearing
clusterIPs, an ``ipFamilyPolicy`` adopted from the old Service on PUT) the server must copy those
fields before calling us; we only fill what is absent. The cluster is assumed single-stack IPv4.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
from typing import Any

from ferry.cluster.resources.crd import crd_defaulter
from ferry.cluster.resources.types import Defaulter, Obj
from ferry.cluster.resources.validation.jsonread import as_int, dicts, ensure_dict
from ferry.cluster.resources.validation.service import externally_accessible

RBAC_GROUP = "rbac.authorization.k8s.io"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
FINALIZER_KUBERNETES = "kubernetes"
DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800


def default_namespace(obj: Obj) -> None:
    """Name label (``SetDefaults_Namespace``), ``kubernetes`` finalizer and ``Active`` phase."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("name"), str) and meta["name"]:
        labels = ensure_dict(meta, "labels")
        if labels is not None:
            labels[NAMESPACE_NAME_LABEL] = meta["name"]
    spec = ensure_dict(obj, "spec")
    if spec is not None and spec.get("finalizers") is None:
        spec["finalizers"] = [FINALIZER_KUBERNETES]
    status = ensure_dict(obj, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Active"


def _ip_family(ip: Any) -> str | None:
    if not isinstance(ip, str):
        return None
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return None


def _default_service_ports(spec: dict[str, Any]) -> None:
    for port in dicts(spec.get("ports")):
        if port.get("protocol") in (None, ""):
            port["protocol"] = "TCP"
        target = port.get("targetPort")
        if target is None or target == 0 or target == "":
            number = as_int(port.get("port"))
            if number is not None:
                port["targetPort"] = number


def _default_ip_families(spec: dict[str, Any]) -> None:
    """The allocator's ``initIPFamilyFields`` for a single-stack IPv4 cluster, on create."""
    if spec.get("type") == "ExternalName":
        return
    headless_selectorless = spec.get("clusterIP") == "None" and not spec.get("selector")
    if spec.get("ipFamilyPolicy") is None:
        spec["ipFamilyPolicy"] = "RequireDualStack" if headless_selectorless else "SingleStack"
    families = spec.get("ipFamilies")
    if families is not None and not isinstance(families, list):
        return
    families = list(families or [])
    cluster_ips = spec.get("clusterIPs")
    if isinstance(cluster_ips, list):
        for i, ip in enumerate(cluster_ips):
            family = _ip_family(ip)
            if ip == "None" or family is None:
                break
            if i >= len(families):
                families.append(family)
    if not families:
        families = ["IPv4"]
    if headless_selectorless and len(families) < 2 and spec.get("ipFamilyPolicy") != "SingleStack":
        families.append("IPv6" if families[0] == "IPv4" else "IPv4")
    spec["ipFamilies"] = families


def default_service(obj: Obj) -> None:
    """``SetDefaults_Service`` plus status.loadBalancer, clusterIPs and the IP-family fields."""
    spec = ensure_dict(obj, "spec")
    if spec is None:
        return
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        cfg = spec.get("sessionAffinityConfig")
        client_ip = cfg.get("clientIP") if isinstance(cfg, dict) else None
        if not isinstance(client_ip, dict) or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {
                "clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_TIMEOUT_SECONDS}
            }
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    _default_service_ports(spec)
    if externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in (
        "NodePort",
        "LoadBalancer",
        "ClusterIP",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    cluster_ip = spec.get("clusterIP")
    if isinstance(cluster_ip, str) and cluster_ip and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [cluster_ip]
    _default_ip_families(spec)
    status = ensure_dict(obj, "status")
    if status is None:
        return
    lb = ensure_dict(status, "loadBalancer")
    if lb is not None and spec["type"] == "LoadBalancer":
        for ingress in dicts(lb.get("ingress")):
            if ingress.get("ip") and ingress.get("ipMode") is None:
                ingress["ipMode"] = "VIP"


def default_secret(obj: Obj) -> None:
    """``type: Opaque``; ``stringData`` merged into ``data`` (base64) and removed, as the strategy does.

    A ``stringData`` that is not a map of strings is left in place for the validator to reject.
    """
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.get("stringData")
    if string_data is None:
        obj.pop("stringData", None)
        return
    if not isinstance(string_data, dict) or not all(isinstance(v, str) for v in string_data.values()):
        return
    data = ensure_dict(obj, "data")
    if data is None:
        return
    for k, v in string_data.items():
        data[k] = base64.b64encode(v.encode("utf-8")).decode("ascii")
    del obj["stringData"]


def default_endpoints(obj: Obj) -> None:
    for subset in dicts(obj.get("subsets")):
        for port in dicts(subset.get("ports")):
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def default_node(obj: Obj) -> None:
    """``SetDefaults_NodeStatus``: allocatable defaults to capacity."""
    status = obj.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None:
        capacity = status.get("capacity")
        if isinstance(capacity, dict):
            status["allocatable"] = copy.deepcopy(capacity)


def default_endpoint_slice(obj: Obj) -> None:
    """discovery/v1 ``SetDefaults_EndpointPort``: name ``""``, protocol ``TCP``."""
    for port in dicts(obj.get("ports")):
        if port.get("name") is None:
            port["name"] = ""
        if port.get("protocol") is None:
            port["protocol"] = "TCP"


def default_ingress_class(obj: Obj) -> None:
    spec = obj.get("spec")
    params = spec.get("parameters") if isinstance(spec, dict) else None
    if isinstance(params, dict) and params.get("scope") is None:
        params["scope"] = "Cluster"


def default_role_binding(obj: Obj) -> None:
    """roleRef.apiGroup and subject apiGroups (``rbac.authorization.k8s.io`` for User/Group)."""
    role_ref = obj.get("roleRef")
    if isinstance(role_ref, dict) and not role_ref.get("apiGroup"):
        role_ref["apiGroup"] = RBAC_GROUP
    for subject in dicts(obj.get("subjects")):
        if not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = RBAC_GROUP


DEFAULTERS: dict[tuple[str, str], Defaulter] = {
    ("", "Namespace"): default_namespace,
    ("", "Service"): default_service,
    ("", "Secret"): default_secret,
    ("", "Endpoints"): default_endpoints,
    ("", "Node"): default_node,
    ("discovery.k8s.io", "EndpointSlice"): default_endpoint_slice,
    ("networking.k8s.io", "IngressClass"): default_ingress_class,
    (RBAC_GROUP, "RoleBinding"): default_role_binding,
    (RBAC_GROUP, "ClusterRoleBinding"): default_role_binding,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd_defaulter,
}

__all__ = [
    "DEFAULTERS",
    "default_endpoint_slice",
    "default_endpoints",
    "default_ingress_class",
    "default_namespace",
    "default_node",
    "default_role_binding",
    "default_secret",
    "default_service",
    "externally_accessible",
]
