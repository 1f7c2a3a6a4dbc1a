"""Printers for core-group kinds (and EndpointSlice): Service, Endpoints, EndpointSlice, ConfigMap,
Secret, Namespace, Node, ServiceAccount and Event (both ``v1`` and ``events.k8s.io/v1``).

Formats worth knowing (all from kube's printers):

* Service EXTERNAL-IP: ``<none>`` for ClusterIP/NodePort without ``externalIPs``; for LoadBalancer
  the ingress IPs/hostnames (sorted, de-duplicated) followed by ``externalIPs``, or ``<pending>``;
  ExternalName shows the name. PORT(S): ``80/TCP``, ``80:30080/TCP`` with a node port.
* Endpoints: ``ip:port`` pairs (``[v6]:port``), the first 3 then ``+ N more...``; ``<none>`` without
  subsets. EndpointSlice PORTS / ENDPOINTS likewise, ``<unset>`` when empty.
* Node STATUS: ``Ready`` / ``NotReady`` / ``Unknown`` from the Ready condition, plus
  ``,SchedulingDisabled`` when cordoned. ROLES from ``node-role.kubernetes.io/<role>`` label keys and
  the ``kubernetes.io/role`` label value, sorted; ``<none>`` when there are none.
* Event LAST SEEN: ``lastTimestamp``, else ``firstTimestamp`` (else ``eventTime``), or the series'
  ``lastObservedTime``; OBJECT is ``kind/name`` lower-cased kind. Wide adds SUBOBJECT, SOURCE
  (``component, host``), FIRST SEEN, COUNT (1 for a singleton event) and NAME. The
  ``5m (x3 over 10m)`` form belongs to ``kubectl describe``/``kubectl events``, not to this Table.
  An ``events.k8s.io/v1`` Event is printed through the same columns after mapping its fields back
  (``regarding`` → ``involvedObject``, ``note`` → ``message``, ``deprecated*`` → the old names), as kube
  does by converting both versions to the one internal type.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ferry.cluster.resources.printers.common import (
    AGE,
    NAME,
    Printer,
    age,
    col,
    d,
    format_labels,
    lb_ingress,
    lst,
    meta,
    more_list,
    n,
    name,
    s,
)
from ferry.cluster.resources.printers.duration import parse_time, since
from ferry.cluster.resources.types import Obj

SERVICE_COLUMNS = (
    NAME,
    col("Type", "ServiceSpec.type"),
    col("Cluster-IP", "ServiceSpec.clusterIP"),
    col("External-IP", "ServiceSpec.externalIPs"),
    col("Port(s)", "ServiceSpec.ports"),
    AGE,
    col("Selector", "ServiceSpec.selector", priority=1),
)


def _external_ip(obj: Obj) -> str:
    spec = d(obj.get("spec"))
    external = [s(ip) for ip in lst(spec.get("externalIPs"))]
    kind = spec.get("type")
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        lb = lb_ingress(obj.get("status"))
        if external:
            return ",".join([*(lb.split(",") if lb else []), *external])
        return lb or "<pending>"
    if kind == "ExternalName":
        return s(spec.get("externalName"))
    return "<unknown>"


def service_row(obj: Obj, now: datetime) -> list[Any]:
    spec = d(obj.get("spec"))
    # kube fills clusterIPs from clusterIP on create; an object written before that rule still prints.
    ips = lst(spec.get("clusterIPs")) or ([spec["clusterIP"]] if s(spec.get("clusterIP")) else [])
    cluster_ip = s(ips[0]) if ips else "<none>"
    ports = []
    for p in (d(x) for x in lst(spec.get("ports"))):
        port, node_port, proto = n(p.get("port")), n(p.get("nodePort")), s(p.get("protocol"))
        ports.append(f"{port}:{node_port}/{proto}" if node_port > 0 else f"{port}/{proto}")
    return [
        name(obj),
        s(spec.get("type")),
        cluster_ip,
        _external_ip(obj),
        ",".join(ports) or "<none>",
        age(obj, now),
        format_labels(spec.get("selector")),
    ]


ENDPOINTS_COLUMNS = (NAME, col("Endpoints", "Endpoints.subsets"), AGE)


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(obj: Obj) -> str:
    subsets = [d(x) for x in lst(obj.get("subsets"))]
    if not subsets:
        return "<none>"
    found: list[str] = []
    more, count = False, 0
    for subset in subsets:
        addresses = [s(d(a).get("ip")) for a in lst(subset.get("addresses"))]
        ports: list[int | None] = [n(d(p).get("port")) for p in lst(subset.get("ports"))]
        for port in ports or [None]:
            count += len(addresses)
            for ip in addresses:
                if len(found) == 3:
                    more = True
                    break
                found.append(ip if port is None else _host_port(ip, port))
    return more_list(found, more=more, count=count, empty="")


def endpoints_row(obj: Obj, now: datetime) -> list[Any]:
    return [name(obj), format_endpoints(obj), age(obj, now)]


ENDPOINTSLICE_COLUMNS = (
    NAME,
    col("AddressType", "EndpointSlice.addressType"),
    col("Ports", "EndpointSlice.ports"),
    col("Endpoints", "EndpointSlice.endpoints"),
    AGE,
)


def endpointslice_row(obj: Obj, now: datetime) -> list[Any]:
    ports: list[str] = []
    for p in (d(x) for x in lst(obj.get("ports"))):
        if p.get("port") is not None:
            ports.append(str(n(p.get("port"))))
        else:
            ports.append(s(p.get("name")) if p.get("name") is not None else "*")
    port_cell = more_list(ports[:3], more=len(ports) > 3, count=len(ports))
    addresses = [s(a) for e in lst(obj.get("endpoints")) for a in lst(d(e).get("addresses"))]
    address_cell = more_list(addresses[:3], more=len(addresses) > 3, count=len(addresses))
    return [name(obj), s(obj.get("addressType")), port_cell, address_cell, age(obj, now)]


CONFIGMAP_COLUMNS = (NAME, col("Data", "ConfigMap.data"), AGE)


def configmap_row(obj: Obj, now: datetime) -> list[Any]:
    return [name(obj), len(d(obj.get("data"))) + len(d(obj.get("binaryData"))), age(obj, now)]


SECRET_COLUMNS = (NAME, col("Type", "Secret.type"), col("Data", "Secret.data"), AGE)


def secret_row(obj: Obj, now: datetime) -> list[Any]:
    keys = set(d(obj.get("data"))) | set(d(obj.get("stringData")))  # stringData is folded into data
    return [name(obj), s(obj.get("type")), len(keys), age(obj, now)]


NAMESPACE_COLUMNS = (NAME, col("Status", "The status of the namespace"), AGE)


def namespace_row(obj: Obj, now: datetime) -> list[Any]:
    return [name(obj), s(d(obj.get("status")).get("phase")), age(obj, now)]


SERVICEACCOUNT_COLUMNS = (NAME, col("Secrets", "ServiceAccount.secrets"), AGE)


def serviceaccount_row(obj: Obj, now: datetime) -> list[Any]:
    return [name(obj), len(lst(obj.get("secrets"))), age(obj, now)]


NODE_COLUMNS = (
    NAME,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE,
    col("Version", "NodeSystemInfo.kubeletVersion"),
    col("Internal-IP", "NodeStatus.addresses", priority=1),
    col("External-IP", "NodeStatus.addresses", priority=1),
    col("OS-Image", "NodeSystemInfo.osImage", priority=1),
    col("Kernel-Version", "NodeSystemInfo.kernelVersion", priority=1),
    col("Container-Runtime", "NodeSystemInfo.containerRuntimeVersion", priority=1),
)


def node_row(obj: Obj, now: datetime) -> list[Any]:
    status = d(obj.get("status"))
    by_type = {d(c).get("type"): d(c) for c in lst(status.get("conditions"))}
    states = ["Unknown"]
    if "Ready" in by_type:
        states = ["Ready" if by_type["Ready"].get("status") == "True" else "NotReady"]
    if d(obj.get("spec")).get("unschedulable") is True:
        states.append("SchedulingDisabled")
    roles: set[str] = set()
    for key, value in d(meta(obj).get("labels")).items():
        if key.startswith("node-role.kubernetes.io/") and key != "node-role.kubernetes.io/":
            roles.add(key.removeprefix("node-role.kubernetes.io/"))
        elif key == "kubernetes.io/role" and s(value):
            roles.add(s(value))
    info = d(status.get("nodeInfo"))
    addresses = [d(a) for a in lst(status.get("addresses"))]

    def address(kind: str) -> str:
        return next((s(a.get("address")) for a in addresses if a.get("type") == kind), "<none>")

    return [
        name(obj),
        ",".join(states),
        ",".join(sorted(roles)) or "<none>",
        age(obj, now),
        s(info.get("kubeletVersion")),
        address("InternalIP"),
        address("ExternalIP"),
        s(info.get("osImage")) or "<unknown>",
        s(info.get("kernelVersion")) or "<unknown>",
        s(info.get("containerRuntimeVersion")) or "<unknown>",
    ]


EVENT_COLUMNS = (
    col("Last Seen", "Event.lastTimestamp"),
    col("Type", "Event.type"),
    col("Reason", "Event.reason"),
    col("Object", "Event.involvedObject"),
    col("Subobject", "ObjectReference.fieldPath", priority=1),
    col("Source", "Event.source", priority=1),
    col("Message", "Event.message"),
    col("First Seen", "Event.firstTimestamp", priority=1),
    col("Count", "Event.count", priority=1),
    col("Name", "ObjectMeta.name", priority=1, format="name"),
)


def event_row(obj: Obj, now: datetime) -> list[Any]:
    first = obj.get("firstTimestamp")
    first_seen = since(first if parse_time(first) else obj.get("eventTime"), now)
    last = obj.get("lastTimestamp")
    last_seen = since(last, now) if parse_time(last) else first_seen
    count = n(obj.get("count"))
    series = obj.get("series")
    if isinstance(series, dict):
        last_seen, count = since(series.get("lastObservedTime"), now), n(series.get("count"))
    elif count == 0:
        count = 1
    involved = d(obj.get("involvedObject"))
    kind, target = s(involved.get("kind")).lower(), s(involved.get("name"))
    source = d(obj.get("source"))
    component = s(source.get("component")) or s(obj.get("reportingComponent"))
    host = s(source.get("host")) or s(obj.get("reportingInstance"))
    return [
        last_seen,
        s(obj.get("type")),
        s(obj.get("reason")),
        f"{kind}/{target}" if target else kind,
        s(involved.get("fieldPath")),
        f"{component}, {host}" if host else component,
        s(obj.get("message")).strip(),
        first_seen,
        count,
        name(obj),
    ]


def events_v1_row(obj: Obj, now: datetime) -> list[Any]:
    """An ``events.k8s.io/v1`` Event, mapped onto the core field names first."""
    core = {
        "metadata": obj.get("metadata"),
        "involvedObject": obj.get("regarding"),
        "message": obj.get("note"),
        "source": obj.get("deprecatedSource"),
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "count": obj.get("deprecatedCount"),
        "reportingComponent": obj.get("reportingController"),
        **{k: obj.get(k) for k in ("reportingInstance", "eventTime", "series", "type", "reason")},
    }
    return event_row(core, now)


PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Service"): (SERVICE_COLUMNS, service_row),
    ("", "Endpoints"): (ENDPOINTS_COLUMNS, endpoints_row),
    ("discovery.k8s.io", "EndpointSlice"): (ENDPOINTSLICE_COLUMNS, endpointslice_row),
    ("", "ConfigMap"): (CONFIGMAP_COLUMNS, configmap_row),
    ("", "Secret"): (SECRET_COLUMNS, secret_row),
    ("", "Namespace"): (NAMESPACE_COLUMNS, namespace_row),
    ("", "ServiceAccount"): (SERVICEACCOUNT_COLUMNS, serviceaccount_row),
    ("", "Node"): (NODE_COLUMNS, node_row),
    ("", "Event"): (EVENT_COLUMNS, event_row),
    ("events.k8s.io", "Event"): (EVENT_COLUMNS, events_v1_row),
}
