"""Server-side Table printing: the columns and cells ``kubectl get`` shows, kind by kind.

kubectl asks for ``as=Table`` and prints exactly the cells the server returns; it has no printers of
its own. So every column name, type, description and priority, and every cell's text and JSON type,
reproduces kube's ``pkg/printers/internalversion`` (or ``apiextensions-apiserver``'s table convertor
for custom resources, or ``rest.NewDefaultTableConvertor`` for kinds without a printer).

Layout, one module per area:

* ``pods``        the Pod STATUS / READY / RESTARTS machinery;
* ``workloads``   Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, RC, ControllerRevision;
* ``core``        Service, Endpoints, EndpointSlice, ConfigMap, Secret, Namespace, Node, SA, Event;
* ``other``       Ingress, Lease, RBAC, PDB, PriorityClass, the default Table and CRD columns;
* ``duration``    kube's human durations (``AGE``); ``jsonpath`` the CRD column paths;
  ``common`` shared cells and columns; ``descriptions`` the swagger texts of column descriptions.

Contract of a printer ``(columns, row)``: ``row(obj, now)`` returns one cell per column, wide
(``priority: 1``) cells included, as ``str``/``int``/``bool``/``float``/``None`` exactly as kube
encodes them; it never reads the clock (``now`` is passed in, timezone-aware) and never raises on a
malformed object.
"""

from __future__ import annotations

from ferry.cluster.resources.printers import core, other, pods, workloads
from ferry.cluster.resources.printers.common import Printer
from ferry.cluster.resources.printers.duration import human_duration
from ferry.cluster.resources.printers.other import DEFAULT_PRINTER, crd_printer

__all__ = ["DEFAULT_PRINTER", "PRINTERS", "Printer", "crd_printer", "human_duration"]

PRINTERS: dict[tuple[str, str], Printer] = {
    **pods.PRINTERS,
    **workloads.PRINTERS,
    **core.PRINTERS,
    **other.PRINTERS,
}
