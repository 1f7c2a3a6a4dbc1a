"""Endpoints controller (k8s-semantics.md §5): one legacy v1 ``Endpoints`` object per selector Service.

Mirrors kube's ``pkg/controller/endpoint``. ``sync(<ns>/<service>)`` is level-triggered: it recomputes the
object from the Service and its selected pods, and writes only when subsets, labels or the over-capacity
annotation differ from the stored ones (no write storms: a pod annotation change touches nothing).

* A pod is included when it is not terminal, has an IP and, unless ``publishNotReadyAddresses``, is not
  terminating. Ready (or published) pods go to ``addresses``, the rest to ``notReadyAddresses``.
* Each Service port resolves its ``targetPort``: a number as is, a name through the containers' named ports
  of the same protocol; a pod without that port is left out of that port only.
* Subsets are *repacked*: addresses grouped by identical port sets ("not ready" wins when one address is
  both), addresses sorted by IP then UID. Kube orders ports and subsets by an md5 of Go's spew dump, which
  Python cannot reproduce; we order by an md5 of canonical JSON instead: deterministic, not byte-identical.
* Labels = the Service's, plus ``service.kubernetes.io/headless: ""`` when clusterIP is None. Annotation
  ``endpoints.kubernetes.io/last-change-trigger-time`` from :class:`TriggerTimeTracker` (in memory, as in
  kube). Over 1000 addresses: truncated, ready ones first, ``endpoints.kubernetes.io/over-capacity``.
* A Service without a selector (or of type ExternalName) is left alone: its Endpoints are the user's. A
  deleted Service's Endpoints are deleted (if the cache has them: a repeated sync issues no DELETE).

Race: the write carries the cached resourceVersion, so a stale cache yields 409 and a retried sync. The
helpers and handlers at the top are shared with :mod:`ferry.cluster.controllers.endpointslices`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.apiserver.objects import parse_rfc3339
from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.types import ApiStatusError, Lister, Obj, key_of

SERVICES = "v1/services"
PODS = "v1/pods"
ENDPOINTS = "v1/endpoints"
HEADLESS_LABEL = "service.kubernetes.io/headless"
TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity"
MAX_ENDPOINTS_ADDRESSES = 1000
Dict = dict[str, Any]


# -- helpers shared with the EndpointSlice controller ---------------------------------------------------
def meta(obj: Obj) -> Dict:
    return obj.get("metadata") or {}


def spec(obj: Obj) -> Dict:
    return obj.get("spec") or {}


def serves_pods(svc: Obj) -> bool:
    """A nil/empty selector (kube stores ``{}`` as nil) or type ExternalName gets no controller endpoints."""
    return bool(spec(svc).get("selector")) and spec(svc).get("type") != "ExternalName"


def selects(svc: Obj, pod: Obj) -> bool:
    """Label-set equality, as ``labels.Set(selector).AsSelector()``: every key present with that value."""
    labels = meta(pod).get("labels") or {}
    same_ns = meta(pod).get("namespace") == meta(svc).get("namespace")
    return same_ns and all(
        k in labels and labels[k] == v for k, v in (spec(svc).get("selector") or {}).items()
    )


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def ready_condition(pod: Obj) -> Dict:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return next((dict(c) for c in conditions if c.get("type") == "Ready"), {})


def is_ready(pod: Obj) -> bool:
    return ready_condition(pod).get("status") == "True"


def pod_ips(pod: Obj) -> list[str]:
    """``status.podIPs`` (kube reads only these); ``status.podIP`` when a runtime set just that."""
    status = pod.get("status") or {}
    ips = [str(p["ip"]) for p in status.get("podIPs") or [] if p.get("ip")]
    return ips or ([str(status["podIP"])] if status.get("podIP") else [])


def should_pod_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    alive = not is_terminal(pod) and bool(pod_ips(pod))
    return alive and (include_terminating or not meta(pod).get("deletionTimestamp"))


def service_ip_set(svc: Obj) -> bool:
    return spec(svc).get("clusterIP") not in (None, "", "None")


def should_set_hostname(pod: Obj, svc: Obj) -> bool:
    same = (spec(pod).get("subdomain"), meta(pod).get("namespace")) == (
        meta(svc)["name"],
        meta(svc)["namespace"],
    )
    return bool(spec(pod).get("hostname")) and same


def find_port(pod: Obj, svc_port: Dict) -> int | None:
    """``FindPort``: an int targetPort as is; a name among the containers' ports of the same protocol."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target
    protocol = svc_port.get("protocol") or "TCP"
    for container in spec(pod).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def target_ref(pod: Obj) -> Dict:
    m = meta(pod)
    return {"kind": "Pod", "namespace": m.get("namespace"), "name": m.get("name"), "uid": m.get("uid")}


def pod_memberships(services: Lister, pod: Obj) -> set[str]:
    ns = meta(pod).get("namespace")
    return {key_of(s) for s in services.list(ns) if serves_pods(s) and selects(s, pod)}


def services_to_update(services: Lister, old: Obj, new: Obj) -> set[str]:
    """``GetServicesToUpdateOnPodChange``: the services whose endpoints the pod change may affect."""
    if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
        return set()
    ids = [
        (meta(p).get("labels") or {}, spec(p).get("hostname"), spec(p).get("subdomain")) for p in (old, new)
    ]
    states = [(meta(p).get("deletionTimestamp"), is_ready(p), pod_ips(p)) for p in (old, new)]
    labels_changed, changed = ids[0] != ids[1], states[0] != states[1]
    if not changed and not labels_changed:
        return set()
    current = pod_memberships(services, new)
    if not labels_changed:
        return current
    previous = pod_memberships(services, old)
    return current | previous if changed else current ^ previous


def format_rfc3339nano(when: dt.datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: fractional seconds without trailing zeros."""
    when = when.astimezone(dt.UTC)
    frac = f".{when.microsecond:06d}".rstrip("0") if when.microsecond else ""
    return when.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def canonical_hash(value: Any) -> str:
    return hashlib.md5(json.dumps(value, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


async def delete_ignoring_not_found(client: rt.Client, resource: str, ns: str | None, name: str) -> None:
    try:
        await client.delete(resource, ns, name)
    except ApiStatusError as e:
        if not e.not_found:
            raise


def namespace_terminating(err: ApiStatusError) -> bool:
    causes = (err.status.get("details") or {}).get("causes") or []
    return any(c.get("type") == "NamespaceTerminating" for c in causes)


@dataclass
class TriggerTimeTracker:
    """``TriggerTimeTracker``: the earliest change (pod Ready transition, service creation) not yet exported.

    State is per Service: the last seen Ready transition per pod and the Service's creation time. The first
    computation for a Service reports its creation time; later ones the minimum of the times that moved
    forward, or ``None`` ("no new trigger": the annotation is removed on the next write).
    """

    states: dict[str, tuple[dt.datetime | None, dict[str, dt.datetime]]] = field(default_factory=dict)

    def compute(self, key: str, svc: Obj, pods: list[Obj]) -> dt.datetime | None:
        known = key in self.states
        last_svc, last_pods = self.states.get(key, (None, {}))
        changed: list[dt.datetime] = []
        pod_times: dict[str, dt.datetime] = {}
        for pod in pods:
            name = str(meta(pod).get("name"))
            when = parse_rfc3339(ready_condition(pod).get("lastTransitionTime"))
            if when is not None:
                pod_times[name] = when
                if name not in last_pods or when > last_pods[name]:
                    changed.append(when)
        created = parse_rfc3339(meta(svc).get("creationTimestamp"))
        if created is not None and (last_svc is None or created > last_svc):
            changed.append(created)
        self.states[key] = (created, pod_times)
        if not known:
            return created
        return min(changed) if changed else None

    def delete(self, key: str) -> None:
        self.states.pop(key, None)


class ServiceHandlers:
    """Event handlers shared by both controllers: a Service enqueues itself, a pod the Services selecting it."""

    services: Lister

    def on_add(self, resource: str, obj: Obj) -> list[str]:
        if resource == SERVICES:
            return [key_of(obj)]
        return sorted(pod_memberships(self.services, obj)) if resource == PODS else []

    def on_update(self, resource: str, old: Obj, new: Obj) -> list[str]:
        if resource == SERVICES:
            return [key_of(new)]
        return sorted(services_to_update(self.services, old, new)) if resource == PODS else []

    def on_delete(self, resource: str, obj: Obj) -> list[str]:
        if resource == SERVICES:
            return [key_of(obj)]
        return sorted(pod_memberships(self.services, obj)) if resource == PODS else []


# -- Endpoints ------------------------------------------------------------------------------------------
def _address(svc: Obj, pod: Obj) -> Dict | None:
    """``podToEndpointAddressForService``: the pod IP of the Service's first IP family."""
    families = spec(svc).get("ipFamilies") or []
    hint = spec(svc)["clusterIP"] if service_ip_set(svc) else (pod.get("status") or {}).get("podIP")
    v6 = families[0] == "IPv6" if families else ":" in str(hint)
    ip = next((ip for ip in pod_ips(pod) if (":" in ip) == v6), None)
    if ip is None:
        return None
    addr: Dict = {"ip": ip, "nodeName": spec(pod).get("nodeName"), "targetRef": target_ref(pod)}
    addr["hostname"] = spec(pod)["hostname"] if should_set_hostname(pod, svc) else None
    return {k: v for k, v in addr.items() if v}


def _addr_order(addr: Dict) -> tuple[bytes, str]:
    return (str(addr.get("ip", "")).encode(), str((addr.get("targetRef") or {}).get("uid") or ""))


def repack_subsets(subsets: list[Dict]) -> list[Dict]:
    """``RepackSubsets``: one subset per distinct set of addresses, ports merged; sorted."""
    addresses: dict[tuple[str, str], Dict] = {}
    by_port: dict[str, tuple[Dict | None, dict[tuple[str, str], bool]]] = {}
    for subset in subsets:
        for port in subset.get("ports") or [None]:  # None: the "no ports" sentinel of a headless service
            entry = by_port.setdefault(json.dumps(port, sort_keys=True), (port, {}))
            for ready, fld in ((True, "addresses"), (False, "notReadyAddresses")):
                for addr in subset.get(fld) or []:
                    akey = (str(addr["ip"]), str((addr.get("targetRef") or {}).get("uid") or ""))
                    addresses.setdefault(akey, addr)
                    if entry[1].get(akey, True):  # not ready always trumps ready
                        entry[1][akey] = ready
    groups: dict[tuple[tuple[tuple[str, str], bool], ...], list[Dict]] = {}
    for port, addr_set in by_port.values():
        ports = groups.setdefault(tuple(sorted(addr_set.items())), [])
        if port is not None:
            ports.append(port)
    final = []
    for group, ports in groups.items():
        ready_addrs = sorted((addresses[k] for k, ready in group if ready), key=_addr_order)
        not_ready = sorted((addresses[k] for k, ready in group if not ready), key=_addr_order)
        out = {
            "addresses": ready_addrs,
            "notReadyAddresses": not_ready,
            "ports": sorted(ports, key=canonical_hash),
        }
        final.append({k: v for k, v in out.items() if v})
    return sorted(final, key=canonical_hash)


def _truncate(subsets: list[Dict]) -> bool:
    """``truncateEndpoints``: keep ≤1000 addresses, ready ones first, proportionally per subset."""
    ready = sum(len(s.get("addresses") or []) for s in subsets)
    not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    if ready + not_ready <= MAX_ENDPOINTS_ADDRESSES:
        return False
    truncate_ready = ready > MAX_ENDPOINTS_ADDRESSES
    budget = MAX_ENDPOINTS_ADDRESSES if truncate_ready else MAX_ENDPOINTS_ADDRESSES - ready
    total, left = (ready if truncate_ready else not_ready), budget
    fld = "addresses" if truncate_ready else "notReadyAddresses"
    for s in subsets:
        kept = (s.get(fld) or [])[: min(math.ceil(len(s.get(fld) or []) / total * budget), left)]
        left -= len(kept)
        s.pop(fld, None)
        s.update({fld: kept} if kept else {})
        if truncate_ready:
            s.pop("notReadyAddresses", None)
    return True


def _normalised(subsets: Any) -> list[Dict]:
    """Subsets compared semantically: nil == empty, the pod's resourceVersion in targetRef ignored."""
    out = copy.deepcopy(list(subsets or []))
    for s in out:
        for addr in (s.get("addresses") or []) + (s.get("notReadyAddresses") or []):
            (addr.get("targetRef") or {}).pop("resourceVersion", None)
    return [{k: v for k, v in s.items() if v} for s in out]


def _up_to_date(current: Obj, svc: Obj, subsets: list[Dict]) -> bool:
    """Subsets, labels (bar the headless one) and the over-capacity annotation already right."""
    labels = {k: v for k, v in (meta(current).get("labels") or {}).items() if k != HEADLESS_LABEL}
    stored = current.get("subsets") or []
    count = sum(len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or []) for s in stored)
    annotated = OVER_CAPACITY_ANNOTATION in (meta(current).get("annotations") or {})
    same = _normalised(stored) == _normalised(subsets) and labels == (meta(svc).get("labels") or {})
    return same and count <= MAX_ENDPOINTS_ADDRESSES and not annotated


def _subsets(svc: Obj, pods: list[Obj]) -> list[Dict]:
    """One single-address, single-port subset per (pod, resolvable port), to be repacked."""
    publish = bool(spec(svc).get("publishNotReadyAddresses"))
    ports = spec(svc).get("ports") or []
    subsets: list[Dict] = []
    for pod in pods:
        addr = _address(svc, pod) if should_pod_be_in_endpoints(pod, publish) else None
        if addr is None:
            continue
        fld = "addresses" if publish or is_ready(pod) else "notReadyAddresses"
        if not ports and spec(svc).get("clusterIP") == "None":
            subsets.append({fld: [addr]})
        for sp in ports:
            number = find_port(pod, sp)
            if number is not None:
                port = {"name": sp.get("name"), "port": number, "protocol": sp.get("protocol") or "TCP"}
                port["appProtocol"] = sp.get("appProtocol")
                subsets.append({fld: [addr], "ports": [{k: v for k, v in port.items() if v}]})
    return subsets


class EndpointsController(ServiceHandlers):
    """Keeps ``v1/endpoints/<svc>`` equal to what the Service's selected pods say. Keys: ``<ns>/<svc>``."""

    resources = (SERVICES, PODS, ENDPOINTS)

    def __init__(
        self,
        services: Lister,
        pods: Lister,
        endpoints: Lister,
        client: rt.Client,
        recorder: rt.EventRecorder,
        clock: rt.Clock,
    ) -> None:
        self.services, self.pods, self.endpoints = services, pods, endpoints
        self.client, self.recorder, self.clock = client, recorder, clock
        self.trigger_times = TriggerTimeTracker()

    def on_delete(self, resource: str, obj: Obj) -> list[str]:
        return [key_of(obj)] if resource == ENDPOINTS else super().on_delete(resource, obj)

    async def sync(self, key: str) -> None:
        ns, name = rt.split_key(key)
        svc = self.services.get(ns, name)
        if svc is None:
            self.trigger_times.delete(key)
            if self.endpoints.get(ns, name) is not None:
                await delete_ignoring_not_found(self.client, ENDPOINTS, ns, name)
            return
        if not serves_pods(svc):
            return
        pods = self.pods.list(ns, lambda p: selects(svc, p))
        trigger = self.trigger_times.compute(key, svc, pods)
        subsets = repack_subsets(_subsets(svc, pods))
        current = self.endpoints.get(ns, name)
        if current is not None and _up_to_date(current, svc, subsets):
            return
        body: Obj = copy.deepcopy(current) if current else {"apiVersion": "v1", "kind": "Endpoints"}
        m: Dict = body.setdefault("metadata", {})
        m.update(name=name, namespace=ns)
        notes = dict(m.get("annotations") or {})
        notes.pop(TRIGGER_TIME_ANNOTATION, None)
        notes.pop(OVER_CAPACITY_ANNOTATION, None)
        if trigger is not None:
            notes[TRIGGER_TIME_ANNOTATION] = format_rfc3339nano(trigger)
        if _truncate(subsets):
            notes[OVER_CAPACITY_ANNOTATION] = "truncated"
        labels = dict(meta(svc).get("labels") or {}) | ({} if service_ip_set(svc) else {HEADLESS_LABEL: ""})
        for target, k, v in ((m, "labels", labels), (m, "annotations", notes), (body, "subsets", subsets)):
            target.pop(k, None)
            target.update({k: v} if v else {})
        try:
            if current is None:
                await self.client.create(ENDPOINTS, ns, body)
            else:
                await self.client.update(ENDPOINTS, ns, body)
        except ApiStatusError as e:
            if current is None and namespace_terminating(e):
                return
            reason = "FailedToCreateEndpoint" if current is None else "FailedToUpdateEndpoint"
            what = "create endpoint for service" if current is None else "update endpoint"
            self.recorder.event(body, "Warning", reason, f"Failed to {what} {ns}/{name}: {e}")
            raise
