"""Pod DNS names checked against the cluster's pods: CoreDNS's ``pods verified`` mode.

The cluster zone (:class:`~ferry.cluster.network.dnszone.ClusterZone`) answers ``<a-b-c-d>.<ns>.pod.cluster.local``
for any address, as CoreDNS does with ``pods insecure`` (the kubeadm default): it has no pods to check against.
The network agent watches pods anyway, so it can serve the stricter mode CoreDNS offers as ``pods verified``: the
name resolves only when a pod **of that namespace** has that IP; anything else gets NXDOMAIN with the SOA, like
every other unknown name under the cluster domain. That way a pod name that resolves names a pod that exists.

:class:`PodDirectory` is the pods' side: the agent feeds it one pod at a time (``apply(namespace, name, pod)``,
``pod`` None when it is gone) and it keeps, per namespace, how many live pods hold each IP (two pods may share an IP
for a moment: one being deleted while its IP is handed to a new one). A pod counts while it has ``status.podIP``
(or ``podIPs``), its phase is not Succeeded or Failed, and it uses the pod network (``hostNetwork`` pods carry the
node's address, which names no pod). Terminating pods still count: they still serve during their grace period.

:class:`VerifiedZone` is a :class:`ClusterZone` that consults the directory for pod names and answers everything
else (services, SRV, PTR, forwarding decisions) exactly as the cluster zone does.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Mapping
from typing import Any

from ferry.cluster.network.dnswire import NXDOMAIN, Question
from ferry.cluster.network.dnszone import ClusterZone, ZoneAnswer
from ferry.cluster.network.services import ServiceTable

__all__ = ["PodDirectory", "VerifiedZone", "pod_ips"]

_TERMINAL = frozenset({"Succeeded", "Failed"})


def pod_ips(pod: Mapping[str, Any]) -> frozenset[str]:
    """The IPv4 addresses a pod answers on for DNS purposes (empty: it names no address)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if spec.get("hostNetwork") or status.get("phase") in _TERMINAL:
        return frozenset()
    found = [str(p.get("ip")) for p in status.get("podIPs") or [] if isinstance(p, dict) and p.get("ip")]
    if status.get("podIP"):
        found.append(str(status["podIP"]))
    out = set()
    for ip in found:
        try:
            if ipaddress.ip_address(ip).version == 4:
                out.add(ip)
        except ValueError:
            continue
    return frozenset(out)


class PodDirectory:
    """Which live pod IPs each namespace has; fed one pod at a time by the agent."""

    def __init__(self) -> None:
        self._ips: dict[tuple[str, str], frozenset[str]] = {}  # (namespace, pod name) -> its IPs
        self._count: Counter[tuple[str, str]] = Counter()  # (namespace, ip) -> live pods holding it

    def apply(self, namespace: str, name: str, pod: Mapping[str, Any] | None) -> bool:
        """Record the pod's current IPs (``pod`` None: it is gone). True when anything changed."""
        key = (namespace, name)
        new = pod_ips(pod) if pod is not None else frozenset()
        old = self._ips.get(key, frozenset())
        if new == old:
            return False
        for ip in old - new:
            self._count[(namespace, ip)] -= 1
            if self._count[(namespace, ip)] <= 0:
                del self._count[(namespace, ip)]
        for ip in new - old:
            self._count[(namespace, ip)] += 1
        if new:
            self._ips[key] = new
        else:
            self._ips.pop(key, None)
        return True

    def has(self, namespace: str, ip: str) -> bool:
        """Whether a live pod of ``namespace`` has ``ip``."""
        return self._count.get((namespace, ip), 0) > 0

    def __len__(self) -> int:
        return len(self._ips)


class VerifiedZone(ClusterZone):
    """The cluster zone with pod names checked against a :class:`PodDirectory` (``verified=False``: insecure)."""

    def __init__(
        self,
        table: ServiceTable,
        pods: PodDirectory,
        *,
        domain: str = "cluster.local",
        ttl_seconds: int = 5,
        verified: bool = True,
    ) -> None:
        super().__init__(table, domain=domain, ttl_seconds=ttl_seconds)
        self.pods = pods
        self.verified = verified

    def answer(self, q: Question) -> ZoneAnswer | None:
        if self.verified and not self._pod_exists(q.name):
            return ZoneAnswer(NXDOMAIN, authority=[self.soa()])
        return super().answer(q)

    def _pod_exists(self, name: str) -> bool:
        """False only for a pod name (``<a-b-c-d>.<ns>.pod.<domain>``) that no live pod of ``ns`` has."""
        lower = name.lower().rstrip(".")
        suffix = f".pod.{self.domain}"
        if not lower.endswith(suffix):
            return True
        labels = lower[: -len(suffix)].split(".")
        if len(labels) != 2:
            return True  # not a pod name: the cluster zone answers it (NXDOMAIN)
        dashed, namespace = labels
        try:
            ip = str(ipaddress.IPv4Address(dashed.replace("-", ".")))
        except ValueError:
            return True
        return self.pods.has(namespace, ip)
