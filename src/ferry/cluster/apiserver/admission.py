"""Admission: checks and allocations that need cluster state, run after validation on every write.

* **NamespaceLifecycle**: creating a namespaced object in a namespace that does not exist is 404
  ``namespaces "x" not found``; in a namespace being deleted it is 403 Forbidden, as kube answers.
  The ``default``, ``kube-system``, ``kube-public`` and ``kube-node-lease`` namespaces cannot be deleted.
* **Service IP allocation**: ``spec.clusterIP``/``clusterIPs`` from the service CIDR (default
  ``10.96.0.0/12``; ``10.96.0.1`` is the ``kubernetes`` service) and ``nodePort`` from 30000-32767, with
  the same conflict messages as kube's allocators. The allocator rebuilds its view from the stored
  Services, so it needs no separate persistent state and survives restarts and crashes.
"""

from __future__ import annotations

import ipaddress
import random

from ferry.cluster.apiserver import errors
from ferry.cluster.apiserver.errors import FieldError, invalid_value
from ferry.cluster.resources.types import Obj, ResourceType
from ferry.cluster.store import Store

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
NODE_PORT_RANGE = (30000, 32767)


class Admission:
    def __init__(self, store: Store, *, service_cidr: str = "10.96.0.0/12") -> None:
        self.store = store
        self.network = ipaddress.ip_network(service_cidr)

    # -- namespace lifecycle -------------------------------------------------------------------------
    def _check_namespace(self, rt: ResourceType, obj: Obj) -> None:
        if not rt.namespaced:
            return
        ns = (obj.get("metadata") or {}).get("namespace")
        if not ns:
            return
        entry = self.store.get(f"/core/namespaces/{ns}")
        if entry is None:
            raise errors.not_found("namespaces", "", ns)
        nsobj = entry.obj()
        if (nsobj.get("metadata") or {}).get("deletionTimestamp") or (nsobj.get("status") or {}).get(
            "phase"
        ) == "Terminating":
            raise errors.ApiError(
                403,
                "Forbidden",
                f'{rt.plural}{"." + rt.group if rt.group else ""} "{obj["metadata"].get("name", "")}" is forbidden: '
                f"unable to create new content in namespace {ns} because it is being terminated",
                {"name": obj["metadata"].get("name", ""), "group": rt.group, "kind": rt.plural},
            )

    async def admit_create(self, rt: ResourceType, obj: Obj, *, dry_run: bool) -> None:
        self._check_namespace(rt, obj)
        if rt.group == "" and rt.kind == "Service":
            self._allocate_service(obj, None)

    async def admit_update(self, rt: ResourceType, obj: Obj, old: Obj, *, dry_run: bool) -> None:
        if rt.group == "" and rt.kind == "Service":
            self._allocate_service(obj, old)

    def check_delete(self, rt: ResourceType, name: str) -> None:
        if rt.group == "" and rt.kind == "Namespace" and name in IMMORTAL_NAMESPACES:
            raise errors.ApiError(
                403,
                "Forbidden",
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                {"name": name, "kind": "namespaces"},
            )

    def release(self, rt: ResourceType, obj: Obj) -> None:
        """Allocations are derived from stored Services, so deleting the Service releases them."""

    # -- service allocation --------------------------------------------------------------------------
    def _used(self, exclude_key: str | None) -> tuple[set[str], set[int]]:
        ips: set[str] = set()
        ports: set[int] = set()
        cursor: str | None = None
        while True:
            entries, last = self.store.list("/core/services/", start_after=cursor, limit=2000)
            for e in entries:
                if e.key == exclude_key:
                    continue
                svc = e.obj()
                spec = svc.get("spec") or {}
                for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
                    if ip and ip != "None":
                        ips.add(str(ip))
                for p in spec.get("ports") or []:
                    if isinstance(p, dict) and isinstance(p.get("nodePort"), int):
                        ports.add(p["nodePort"])
            if last is None:
                return ips, ports
            cursor = last

    def _allocate_service(self, svc: Obj, old: Obj | None) -> None:
        spec = svc.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        m = svc.get("metadata") or {}
        key = f"/core/services/{m.get('namespace')}/{m.get('name')}" if old is not None else None
        used_ips, used_ports = self._used(key)
        svc_type = spec.get("type", "ClusterIP")
        errs: list[FieldError] = []
        if svc_type == "ExternalName":
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        else:
            ip = spec.get("clusterIP")
            old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
            if old is not None and not ip and old_ip:
                ip = old_ip
            if ip in (None, ""):
                ip = self._next_ip(used_ips)
            elif ip != "None" and ip != old_ip:
                try:
                    addr = ipaddress.ip_address(ip)
                except ValueError:
                    addr = None
                if addr is None or addr not in self.network:
                    errs.append(
                        invalid_value(
                            "spec.clusterIPs",
                            [ip],
                            f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. "
                            f"The range of valid IPs is {self.network}",
                        )
                    )
                elif ip in used_ips:
                    errs.append(
                        invalid_value(
                            "spec.clusterIPs",
                            [ip],
                            f"failed to allocate IP {ip}: provided IP is already allocated",
                        )
                    )
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
        if svc_type in ("NodePort", "LoadBalancer"):
            old_ports = {
                (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                for p in (((old or {}).get("spec") or {}).get("ports") or [])
                if isinstance(p, dict)
            }
            for i, p in enumerate(spec.get("ports") or []):
                if not isinstance(p, dict):
                    continue
                np = p.get("nodePort")
                prev = old_ports.get((p.get("port"), p.get("protocol", "TCP")))
                if not np:
                    np = prev or self._next_port(used_ports)
                elif np != prev and np in used_ports:
                    errs.append(
                        invalid_value(f"spec.ports[{i}].nodePort", np, "provided port is already allocated")
                    )
                p["nodePort"] = np
                used_ports.add(int(np))
        else:
            for p in spec.get("ports") or []:
                if isinstance(p, dict):
                    p.pop("nodePort", None)
        if svc_type == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
            if not spec.get("healthCheckNodePort"):
                old_hc = ((old or {}).get("spec") or {}).get("healthCheckNodePort")
                spec["healthCheckNodePort"] = old_hc or self._next_port(used_ports)
        else:
            spec.pop("healthCheckNodePort", None)
        if errs:
            raise errors.invalid("Service", "", str(m.get("name", "")), errs)

    def _next_ip(self, used: set[str]) -> str:
        hosts = self.network.num_addresses - 2
        base = int(self.network.network_address)
        # .1 is reserved for the kubernetes service; random probing like kube's bitmap allocator.
        for _ in range(4096):
            cand = str(ipaddress.ip_address(base + 2 + random.randrange(hosts - 1)))
            if cand not in used:
                return cand
        for off in range(2, hosts):
            cand = str(ipaddress.ip_address(base + off))
            if cand not in used:
                return cand
        raise errors.internal("failed to allocate a serviceIP: range is full")

    def _next_port(self, used: set[int]) -> int:
        lo, hi = NODE_PORT_RANGE
        free = [p for p in range(lo, hi + 1) if p not in used]
        if not free:
            raise errors.internal("failed to allocate a nodePort: range is full")
        return random.choice(free)


def kubernetes_service_ip(cidr: str = "10.96.0.0/12") -> str:
    return str(ipaddress.ip_network(cidr).network_address + 1)
