"""Cluster DNS answers: the ``cluster.local`` zone computed from the :class:`ServiceTable` at query time.

What is answered (k8s-semantics.md §5; the DNS-based service discovery spec, as CoreDNS's kubernetes plugin
serves it, with ``pods insecure``):

=============================================== ===========================================================
``<svc>.<ns>.svc.cluster.local`` A               the ClusterIP; headless: the ready endpoints' IPs
``<host>.<svc>.<ns>.svc.cluster.local`` A        a headless endpoint by hostname, or by dashed IP
``_<port>._<proto>.<svc>.<ns>.svc.cluster.local`` SRV  ``0 <w> <port> <svc>.<ns>.svc.cluster.local`` (with its A
                                                 in the additional section); headless: one per ready endpoint
``<a-b-c-d>.<ns>.pod.cluster.local`` A           ``a.b.c.d`` (not checked against pods: CoreDNS "insecure")
``d.c.b.a.in-addr.arpa`` PTR                     a ClusterIP → its service name; a headless endpoint → its name
a name that exists with another type (AAAA)      NOERROR, no answer, the zone's SOA (NODATA)
anything else under ``cluster.local``            NXDOMAIN with the SOA
=============================================== ===========================================================

Everything else (other names; reverse names of unknown IPs) is not ours: :meth:`ClusterZone.answer` returns None
and the server forwards it upstream. Names are matched case-insensitively; answers carry the name as asked. The
TTL is CoreDNS's default, 5 seconds, short enough that a client's cache follows endpoint changes. Only IPv4
records exist (the embedded cluster is single-stack), so AAAA of a cluster name is always NODATA, which makes
``getaddrinfo`` fall back to the A answer immediately.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ferry.cluster.network.dnswire import ANY, NOERROR, NXDOMAIN, PTR, SOA, SRV, A, Question, Record
from ferry.cluster.network.services import Endpoint, Service, ServiceTable

__all__ = ["ClusterZone", "ZoneAnswer"]


@dataclass
class ZoneAnswer:
    rcode: int = NOERROR
    answers: list[Record] = field(default_factory=list)
    authority: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)


def _dashed(ip: str) -> str:
    return ip.replace(".", "-")


def _endpoint_name(ep: Endpoint) -> str:
    return ep.hostname or _dashed(ep.ip)


class ClusterZone:
    """Answers for ``domain`` (and in-addr.arpa of known IPs) from ``table``; see the module docstring."""

    def __init__(self, table: ServiceTable, *, domain: str = "cluster.local", ttl_seconds: int = 5) -> None:
        self.table = table
        self.domain = domain.strip(".").lower()
        self.ttl = ttl_seconds

    def soa(self) -> Record:
        return Record.soa(
            self.domain, f"ns.dns.{self.domain}", f"hostmaster.{self.domain}", 1, self.ttl, self.ttl
        )

    def answer(self, q: Question) -> ZoneAnswer | None:
        """The answer for ``q``, or None when the name is not in the cluster's zones (forward it)."""
        lower = q.name.lower().rstrip(".")
        if lower.endswith(".in-addr.arpa"):
            return self._reverse(q, lower) if q.qtype in (PTR, ANY) else None
        if lower != self.domain and not lower.endswith("." + self.domain):
            return None
        labels = lower[: -len(self.domain)].rstrip(".").split(".") if lower != self.domain else []
        records: list[Record] | None  # None: the name does not exist
        additional: list[Record] = []
        if not labels:
            records = [self.soa()] if q.qtype in (SOA, ANY) else []
        elif labels[-1] == "svc":
            records, additional = self._service(q, labels[:-1])
        elif labels[-1] == "pod" and len(labels) == 3:
            records = self._pod(q, labels[0])
        else:
            records = None
        if records is None:
            return ZoneAnswer(NXDOMAIN, authority=[self.soa()])
        if not records:
            return ZoneAnswer(NOERROR, authority=[self.soa()])
        return ZoneAnswer(NOERROR, answers=records, additional=additional)

    # -- forward names ----------------------------------------------------------------------------------
    def _pod(self, q: Question, dashed: str) -> list[Record] | None:
        try:
            ip = str(ipaddress.IPv4Address(dashed.replace("-", ".")))
        except ValueError:
            return None
        return [Record.a(q.name, ip, self.ttl)] if q.qtype in (A, ANY) else []

    def _service(self, q: Question, labels: list[str]) -> tuple[list[Record] | None, list[Record]]:
        if len(labels) == 1:  # <ns>.svc: exists (NODATA) when the namespace has services
            return ([] if self.table.services(labels[0]) else None), []
        if len(labels) < 2:
            return None, []
        ns, name = labels[-1], labels[-2]
        svc = self.table.service(ns, name)
        if svc is None or svc.type == "ExternalName":
            return None, []
        rest = labels[:-2]
        if len(rest) == 2 and rest[0].startswith("_") and rest[1].startswith("_"):
            return self._srv(q, svc, rest[0][1:], rest[1][1:].upper())
        ready = [ep for ep in self.table.endpoints(ns, name) if ep.ready]
        if len(rest) == 1:  # <host>.<svc>.<ns>.svc: an endpoint of a headless service
            host = rest[0]
            hit = [ep for ep in ready if svc.headless and host in (ep.hostname, _dashed(ep.ip))]
            if not hit:
                return None, []
            return ([Record.a(q.name, hit[0].ip, self.ttl)] if q.qtype in (A, ANY) else []), []
        if rest:
            return None, []
        if q.qtype == SRV:
            out: list[Record] = []
            extra: list[Record] = []
            for sp in svc.ports:
                if sp.name:
                    srv, add = self._srv(q, svc, sp.name, sp.protocol)
                    out += srv or []
                    extra += add
            return out, extra
        if q.qtype not in (A, ANY):
            return [], []
        if svc.cluster_ip is not None:
            return [Record.a(q.name, svc.cluster_ip, self.ttl)], []
        if svc.headless and ready:
            return [Record.a(q.name, ep.ip, self.ttl) for ep in ready], []
        return None, []  # headless without ready endpoints, or no IP at all: CoreDNS answers NXDOMAIN

    def _srv(
        self, q: Question, svc: Service, port: str, proto: str
    ) -> tuple[list[Record] | None, list[Record]]:
        sp = next((p for p in svc.ports if p.name == port and p.protocol == proto), None)
        if sp is None:
            return None, []
        if q.qtype not in (SRV, ANY):
            return [], []
        base = f"{svc.name}.{svc.namespace}.svc.{self.domain}"
        if svc.cluster_ip is not None:
            return [Record.srv(q.name, 0, 100, sp.port, base, self.ttl)], [
                Record.a(base, svc.cluster_ip, self.ttl)
            ]
        answers, additional = [], []
        ready = [ep for ep in self.table.endpoints(svc.namespace, svc.name) if ep.ready]
        for ep in ready:
            target_port = next((p for n, p, pr in ep.ports if n == port and pr == proto), None)
            if target_port is None:
                continue
            target = f"{_endpoint_name(ep)}.{base}"
            answers.append(Record.srv(q.name, 0, max(1, 100 // len(ready)), target_port, target, self.ttl))
            additional.append(Record.a(target, ep.ip, self.ttl))
        return (answers or None), additional

    # -- reverse names ----------------------------------------------------------------------------------
    def _reverse(self, q: Question, lower: str) -> ZoneAnswer | None:
        parts = lower[: -len(".in-addr.arpa")].split(".")
        if len(parts) != 4:
            return None
        try:
            ip = str(ipaddress.IPv4Address(".".join(reversed(parts))))
        except ValueError:
            return None
        svc = self.table.by_cluster_ip(ip)
        if svc is not None:
            target = f"{svc.name}.{svc.namespace}.svc.{self.domain}"
            return ZoneAnswer(answers=[Record.ptr(q.name, target, self.ttl)])
        for svc in self.table.services():
            if not svc.headless:
                continue
            for ep in self.table.endpoints(svc.namespace, svc.name):
                if ep.ip == ip and ep.ready:
                    target = f"{_endpoint_name(ep)}.{svc.name}.{svc.namespace}.svc.{self.domain}"
                    return ZoneAnswer(answers=[Record.ptr(q.name, target, self.ttl)])
        return None
