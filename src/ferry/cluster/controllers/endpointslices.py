"""EndpointSlice controller (k8s-semantics.md §5): ``discovery.k8s.io/v1`` slices for selector Services.

Mirrors kube's ``pkg/controller/endpointslice`` and its reconciler (``k8s.io/endpointslice``). A sync of
``<ns>/<service>`` diffs the desired endpoints against the slices labelled ``kubernetes.io/service-name``
and ``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io``:

* Pods as for Endpoints, but **terminating pods are kept**: ``ready = publishNotReadyAddresses or (podReady
  and not terminating)``, ``serving = podReady``, ``terminating = deletionTimestamp set``; plus nodeName,
  zone (node label ``topology.kubernetes.io/zone``), hostname, targetRef. A pod on an unknown node is
  skipped (unless publishNotReadyAddresses) and the sync then fails to be retried, as kube does.
* Endpoints are grouped by resolved port list ("port map"), ≤ ``max_endpoints_per_slice`` (100) per slice.
  Slices keep their endpoints (updated in place when a condition changed); emptied slices are deleted; new
  endpoints top up slices being updated anyway, then the unchanged slice closest to full, then new slices
  (``generateName: <svc>-``, controller ownerReference to the Service, the Service's labels + the reserved
  ones + the headless one). A create paired with a delete becomes an update of the doomed slice. A Service
  without endpoints keeps one empty *placeholder* slice. Writes carry the last-change-trigger-time.
* Order: kube pops endpoints from a hash set and sorts ports by a spew hash; we keep pod order and sort
  ports by an md5 of canonical JSON (deterministic, not byte-identical).
* Only what changed is written, and only on a cache that shows this controller's own last writes and
  deletes (kube's ``EndpointSliceTracker``; otherwise :class:`StaleCacheError`, retried by the runtime).
* The Service deleted, or no longer selecting pods (nil selector or ExternalName): its managed slices are
  deleted. Kube leaves the latter in place (kubernetes#118376; fix #120775 never merged) and leaves the
  former to the GC; the brief asks for both, and slices labelled as ours are ours to delete.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ferry.cluster.controllers import endpoints as shared
from ferry.cluster.controllers.endpoints import PODS, SERVICES, ServiceHandlers, meta, spec
from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.types import ApiStatusError, Lister, Obj

SLICES = "discovery.k8s.io/v1/endpointslices"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_ENDPOINTS_PER_SLICE = 100
Dict = dict[str, Any]


class StaleCacheError(Exception):
    """The slice cache has not seen this controller's own last writes yet; retry later."""


def address_types(svc: Obj) -> list[str]:
    """``getAddressTypesForService``: from ipFamilies; else the clusterIP's family; headless: both."""
    types = sorted({"IPv6" if f == "IPv6" else "IPv4" for f in spec(svc).get("ipFamilies") or []})
    if types:
        return types
    if shared.service_ip_set(svc):
        return ["IPv6" if ":" in str(spec(svc)["clusterIP"]) else "IPv4"]
    return ["IPv4", "IPv6"]


def endpoint_ports(svc: Obj, pod: Obj) -> list[Dict]:
    """``getEndpointPorts``: the service ports whose targetPort resolves on this pod, in port-map order."""
    out = []
    for sp in spec(svc).get("ports") or []:
        number = shared.find_port(pod, sp)
        if number is not None:
            port = {"name": sp.get("name") or "", "port": number, "protocol": sp.get("protocol") or "TCP"}
            out.append(port | ({"appProtocol": sp["appProtocol"]} if sp.get("appProtocol") else {}))
    return sorted(out, key=shared.canonical_hash)


def pod_to_endpoint(pod: Obj, node: Obj | None, svc: Obj, address_type: str) -> Dict:
    serving, terminating = shared.is_ready(pod), bool(meta(pod).get("deletionTimestamp"))
    ready = bool(spec(svc).get("publishNotReadyAddresses")) or (serving and not terminating)
    ep: Dict = {
        "addresses": [ip for ip in shared.pod_ips(pod) if (":" in ip) == (address_type == "IPv6")],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
        "targetRef": shared.target_ref(pod),
    }
    if spec(pod).get("nodeName"):
        ep["nodeName"] = spec(pod)["nodeName"]
    if node is not None and (meta(node).get("labels") or {}).get(ZONE_LABEL):
        ep["zone"] = meta(node)["labels"][ZONE_LABEL]
    if shared.should_set_hostname(pod, svc):
        ep["hostname"] = spec(pod)["hostname"]
    return ep


def port_map_key(ports: list[Dict]) -> str:
    """``NewPortMapKey``: the port list, order-independent."""
    return json.dumps(sorted(ports, key=shared.canonical_hash), sort_keys=True)


def endpoint_hash(ep: Dict) -> str:
    """``hashEndpoint``: identity = sorted addresses, hostname, and the target's namespace/name."""
    ref, addresses = ep.get("targetRef") or {}, sorted(ep.get("addresses") or [])
    return json.dumps([addresses, ep.get("hostname") or "", ref.get("namespace"), ref.get("name")])


def equal_beyond_hash(a: Dict, b: Dict) -> bool:
    """``EndpointsEqualBeyondHash``: nodeName, zone, the three conditions and targetRef (bar its RV)."""

    def view(ep: Dict) -> Any:
        ref = {k: v for k, v in (ep.get("targetRef") or {}).items() if k != "resourceVersion"}
        conditions = [(ep.get("conditions") or {}).get(c) for c in ("ready", "serving", "terminating")]
        return ep.get("nodeName"), ep.get("zone"), conditions, ref

    return bool(view(a) == view(b))


def slice_labels(current: Obj, svc: Obj) -> tuple[dict[str, str], bool]:
    """``setEndpointSliceLabels``: the Service's labels plus the reserved ones; changed = non-reserved differ."""
    reserved = (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, shared.HEADLESS_LABEL)
    have = {k: v for k, v in (meta(current).get("labels") or {}).items() if k not in reserved}
    want = {k: v for k, v in (meta(svc).get("labels") or {}).items() if k not in reserved}
    changed = have != want
    if not shared.service_ip_set(svc):
        want[shared.HEADLESS_LABEL] = ""
    want[SERVICE_NAME_LABEL], want[MANAGED_BY_LABEL] = meta(svc)["name"], CONTROLLER_NAME
    return want, changed


def owned_by(eps: Obj, svc: Obj) -> bool:
    want, refs = (meta(svc).get("uid"), "Service", "v1"), meta(eps).get("ownerReferences") or []
    return any((r.get("uid"), r.get("kind"), r.get("apiVersion")) == want for r in refs)


def new_slice(svc: Obj, ports: list[Dict], address_type: str) -> Obj:
    """``newEndpointSlice``: generateName ``<svc>-``, labels, and a controller reference to the Service."""
    ref = {"apiVersion": "v1", "kind": "Service", "name": meta(svc)["name"], "uid": meta(svc).get("uid")}
    ref |= {"controller": True, "blockOwnerDeletion": True}
    m = {"generateName": f"{meta(svc)['name']}-", "namespace": meta(svc)["namespace"]}
    m |= {"labels": slice_labels({}, svc)[0], "ownerReferences": [ref]}
    body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": m}
    return body | {"addressType": address_type, "endpoints": [], "ports": copy.deepcopy(ports)}


def is_placeholder_of(existing: Obj, placeholder: Obj) -> bool:
    """``placeholderSliceCompare``: same namespace, labels, owners, address type; no endpoints, no ports."""
    same = [
        meta(existing).get(k) == meta(placeholder).get(k) for k in ("namespace", "labels", "ownerReferences")
    ]
    same += [
        (existing.get(k) or None) == (placeholder.get(k) or None)
        for k in ("addressType", "endpoints", "ports")
    ]
    return all(same)


def _managed(eps: Obj, service: str | None = None) -> bool:
    """Labelled as this controller's, for ``service`` (or for any Service)."""
    labels, name = meta(eps).get("labels") or {}, (meta(eps).get("labels") or {}).get(SERVICE_NAME_LABEL)
    return labels.get(MANAGED_BY_LABEL) == CONTROLLER_NAME and bool(name) and service in (None, name)


def _rv(obj: Obj) -> int | None:
    rv = str(meta(obj).get("resourceVersion") or "")
    return int(rv) if rv.isdigit() else None


class EndpointSliceController(ServiceHandlers):
    """Keeps a Service's managed EndpointSlices equal to what its selected pods say. Keys: ``<ns>/<svc>``."""

    resources = (SERVICES, PODS, SLICES)

    def __init__(
        self,
        services: Lister,
        pods: Lister,
        nodes: Lister,
        endpointslices: Lister,
        client: rt.Client,
        recorder: rt.EventRecorder,
        clock: rt.Clock,
        *,
        max_endpoints_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
    ) -> None:
        self.services, self.pods, self.nodes, self.slices = services, pods, nodes, endpointslices
        self.client, self.recorder, self.clock = client, recorder, clock
        self.max_endpoints = max_endpoints_per_slice
        self.trigger_times = shared.TriggerTimeTracker()
        self.written: dict[str, dict[str, int | None]] = {}  # per Service: slice -> our RV (None: deleted)

    # -- event handlers ------------------------------------------------------------------------------
    def _slice_keys(self, *slices: Obj) -> list[str]:
        """The Services of managed slices (both, when an update moved a slice)."""
        keys = {
            f"{meta(s).get('namespace')}/{meta(s)['labels'][SERVICE_NAME_LABEL]}"
            for s in slices
            if _managed(s)
        }
        return sorted(keys)

    def on_add(self, resource: str, obj: Obj) -> list[str]:
        return self._slice_keys(obj) if resource == SLICES else super().on_add(resource, obj)

    def on_update(self, resource: str, old: Obj, new: Obj) -> list[str]:
        return self._slice_keys(old, new) if resource == SLICES else super().on_update(resource, old, new)

    def on_delete(self, resource: str, obj: Obj) -> list[str]:
        if resource != SLICES:
            return super().on_delete(resource, obj)
        for key in self._slice_keys(obj):  # a deletion, ours or not, is now seen: forget it
            self.written.get(key, {}).pop(str(meta(obj).get("name")), None)
        return self._slice_keys(obj)

    # -- reconcile -----------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ns, name = rt.split_key(key)
        svc = self.services.get(ns, name)
        managed = self.slices.list(ns, lambda s: _managed(s, name))
        if svc is None or not shared.serves_pods(svc):
            if svc is None:
                self.trigger_times.delete(key)
            for eps in managed:
                if not meta(eps).get("deletionTimestamp"):
                    await shared.delete_ignoring_not_found(self.client, SLICES, ns, meta(eps)["name"])
            self.written.pop(key, None)
            return
        slices = [s for s in managed if not meta(s).get("deletionTimestamp")]
        if self._stale(key, slices):
            raise StaleCacheError("EndpointSlice informer cache is out of date")
        pods = self.pods.list(ns, lambda p: shared.selects(svc, p))
        trigger = self.trigger_times.compute(key, svc, pods)
        try:
            types = address_types(svc)
            problems: list[str] = []
            for address_type in types:
                mine = [s for s in slices if s.get("addressType") == address_type]
                problems += await self._reconcile_type(key, svc, pods, mine, trigger, address_type)
            for eps in (s for s in slices if s.get("addressType") not in types):
                await self.client.delete(SLICES, ns, meta(eps)["name"])
                self.written.setdefault(key, {})[meta(eps)["name"]] = None
            if problems:
                raise RuntimeError("; ".join(problems))
        except (ApiStatusError, RuntimeError) as e:
            msg = f"Error updating Endpoint Slices for Service {ns}/{name}: {e}"
            self.recorder.event(svc, "Warning", "FailedToUpdateEndpointSlices", msg)
            raise

    def _stale(self, key: str, slices: list[Obj]) -> bool:
        """``EndpointSliceTracker.StaleSlices``: a write of ours the cache does not reflect yet."""
        written = self.written.get(key, {})
        listed = {str(meta(s)["name"]): _rv(s) for s in slices}
        for name, rv in list(written.items()):
            behind = name in listed if rv is None else name not in listed or (listed[name] or rv) < rv
            if behind:
                return True
            del written[name]  # caught up: nothing left to wait for
        return False

    async def _reconcile_type(
        self, key: str, svc: Obj, pods: list[Obj], existing: list[Obj], trigger: Any, address_type: str
    ) -> list[str]:
        """``reconcileByAddressType``: desired endpoints per port map, diffed against existing slices."""
        problems: list[str] = []
        existing_by_pm: dict[str, list[Obj]] = {}
        to_delete = [s for s in existing if not owned_by(s, svc)]
        for s in existing:
            if owned_by(s, svc):
                existing_by_pm.setdefault(port_map_key(s.get("ports") or []), []).append(s)
        desired: dict[str, dict[str, Dict]] = {}
        ports_of: dict[str, list[Dict]] = {}
        publish = bool(spec(svc).get("publishNotReadyAddresses"))
        for pod in pods:
            if not shared.should_pod_be_in_endpoints(pod, True):
                continue
            ports = endpoint_ports(svc, pod)
            pm = port_map_key(ports)
            want, ports_of[pm] = desired.setdefault(pm, {}), ports
            node = self.nodes.get(None, spec(pod).get("nodeName") or "")
            if node is None and not publish:
                node_name = spec(pod).get("nodeName") or ""
                problems.append(
                    f"skipping Pod {meta(pod)['name']} for Service {key}: Node {node_name} Not Found"
                )
                continue
            ep = pod_to_endpoint(pod, node, svc, address_type)
            if ep["addresses"]:
                want[endpoint_hash(ep)] = ep
        to_create, to_update = list[Obj](), list[Obj]()
        for pm, want in desired.items():
            c, u, d = self._by_port_map(svc, existing_by_pm.get(pm, []), want, ports_of[pm], address_type)
            to_create, to_update, to_delete = to_create + c, to_update + u, to_delete + d
        for pm, slices in existing_by_pm.items():
            if pm not in desired:
                to_delete += slices
        if len(existing) == len(to_delete) and not to_create:
            placeholder = new_slice(svc, [], address_type)
            if len(to_delete) == 1 and is_placeholder_of(to_delete[0], placeholder):
                to_delete = []
            else:
                to_create.append(placeholder)
        await self._finalize(key, svc, trigger, (to_create, to_update, to_delete))
        return problems

    def _by_port_map(
        self, svc: Obj, existing: list[Obj], desired: dict[str, Dict], ports: list[Dict], address_type: str
    ) -> tuple[list[Obj], list[Obj], list[Obj]]:
        """``reconcileByPortMapping``: keep, update, refill, or create slices for one port map."""
        by_name: dict[str, Obj] = {}
        unchanged: list[str] = []
        to_update: list[str] = []
        to_delete: list[str] = []
        for s in existing:
            name = str(meta(s)["name"])
            by_name[name] = s
            kept, updated = [], False
            for ep in s.get("endpoints") or []:
                got = desired.pop(endpoint_hash(ep), None)
                if got is not None:
                    kept.append(got)
                    updated = updated or not equal_beyond_hash(got, ep)
            labels, labels_changed = slice_labels(s, svc)
            if updated or len(kept) != len(s.get("endpoints") or []):
                if not kept:
                    to_delete.append(name)
                    continue
                by_name[name] = copy.deepcopy(s) | {"endpoints": kept}
            elif labels_changed:
                by_name[name] = copy.deepcopy(s)
            else:
                unchanged.append(name)
                continue
            by_name[name]["metadata"]["labels"] = labels
            to_update.append(name)
        fill_order = sorted(to_update, key=lambda n: -len(by_name[n]["endpoints"])) if desired else []
        for name in fill_order:  # fullest first
            self._fill(by_name[name], desired)
        to_create: list[Obj] = []
        while desired:
            target = None
            if len(desired) < self.max_endpoints and unchanged:
                target = self._slice_to_fill([by_name[n] for n in unchanged], len(desired))
            if target is None:
                fresh = new_slice(svc, ports, address_type)
                self._fill(fresh, desired)
                to_create.append(fresh)
                continue
            name = str(meta(target)["name"])
            by_name[name] = copy.deepcopy(target)
            self._fill(by_name[name], desired)
            unchanged.remove(name)
            to_update.append(name)
        return to_create, [by_name[n] for n in to_update], [by_name[n] for n in to_delete]

    def _fill(self, eps: Obj, desired: dict[str, Dict]) -> None:
        while desired and len(eps["endpoints"]) < self.max_endpoints:
            eps["endpoints"].append(desired.pop(next(iter(desired))))

    def _slice_to_fill(self, slices: list[Obj], count: int) -> Obj | None:
        """``getSliceToFill``: the unchanged slice that ends up closest to full."""
        best, best_gap = None, self.max_endpoints
        for s in slices:
            gap = self.max_endpoints - (count + len(s.get("endpoints") or []))
            if 0 <= gap < best_gap:
                best, best_gap = s, gap
                if gap == 0:
                    break
        return best

    async def _finalize(self, key: str, svc: Obj, trigger: Any, plan: tuple[list[Obj], ...]) -> None:
        """``finalize``: turn create+delete pairs into updates, then create, update and delete."""
        to_create, to_update, to_delete = plan
        i = 0
        while i < len(to_delete) and to_create:
            doomed = to_delete[i]
            if doomed.get("addressType") == to_create[-1].get("addressType") and owned_by(doomed, svc):
                replacement = to_create.pop()
                m = replacement["metadata"]
                m["name"], m["resourceVersion"] = meta(doomed)["name"], meta(doomed).get("resourceVersion")
                to_update.append(replacement)
                to_delete.pop(i)
            else:
                i += 1
        ns, written = meta(svc)["namespace"], self.written.setdefault(key, {})
        for eps in to_create if not meta(svc).get("deletionTimestamp") else []:
            try:
                created = await self.client.create(SLICES, ns, _with_trigger(eps, trigger))
            except ApiStatusError as e:
                if shared.namespace_terminating(e):
                    return
                raise
            written[str(meta(created)["name"])] = _rv(created)
        for eps in to_update:
            updated = await self.client.update(SLICES, ns, _with_trigger(eps, trigger))
            written[str(meta(updated)["name"])] = _rv(updated)
        for eps in to_delete:
            await self.client.delete(SLICES, ns, meta(eps)["name"])
            written[str(meta(eps)["name"])] = None


def _with_trigger(eps: Obj, trigger: Any) -> Obj:
    """``addTriggerTimeAnnotation``: set it to the trigger time, or remove it when there is none."""
    m = eps["metadata"]
    notes = {k: v for k, v in (m.get("annotations") or {}).items() if k != shared.TRIGGER_TIME_ANNOTATION}
    if trigger is not None:
        notes[shared.TRIGGER_TIME_ANNOTATION] = shared.format_rfc3339nano(trigger)
    m.pop("annotations", None)
    m.update({"annotations": notes} if notes else {})
    return eps
