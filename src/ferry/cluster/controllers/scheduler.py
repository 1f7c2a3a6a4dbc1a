"""The scheduler: binds pending pods to nodes (k8s-semantics.md §4 "Scheduling").

One ``sync(key)`` per pod, like one kube-scheduler cycle. It handles pods without ``spec.nodeName`` whose
``schedulerName`` is ``default-scheduler`` (or unset), not being deleted, not terminal.

* **Filters**, in kube's default plugin order. A node fails at its *first* failing filter, which contributes its
  reason(s): ``NodeUnschedulable`` ("node(s) were unschedulable", unless the pod tolerates
  ``node.kubernetes.io/unschedulable``) → ``TaintToleration`` (the first NoSchedule/NoExecute taint no toleration
  matches: "node(s) had untolerated taint {key: value}") → ``NodeAffinity`` (nodeSelector and required node
  affinity: "node(s) didn't match Pod's node affinity/selector") → ``NodePorts`` ("node(s) didn't have free
  ports for the requested pod ports") → ``NodeResourcesFit`` ("Too many pods", "Insufficient cpu", "Insufficient
  memory", "Insufficient ephemeral-storage", "Insufficient <extended resource>"; several at once).
  Requests are kube's ``PodRequests`` (containers' requests, else limits; restartable init containers added,
  the max with the other init containers; plus ``spec.overhead``), summed over the pods bound to the node that
  are not Succeeded/Failed (terminating pods still count, as in kube).
* **Score:** least-allocated over cpu and memory with kube's non-zero defaults (100m, 200Mi) for containers
  without requests. Ties: fewer pods, then the lower name (kube picks at random; this keeps tests exact).
* **Bind:** ``client.create("v1/pods/binding", namespace, Binding)``. Convention: a resource ending in
  ``/binding`` is the POST to ``/api/v1/namespaces/<ns>/pods/<metadata.name>/binding``; the API server sets
  ``spec.nodeName`` and ``PodScheduled=True``. Then the event ``Scheduled`` "Successfully assigned <ns>/<pod> to
  <node>".
* **No fit:** ``PodScheduled=False``/``Unschedulable`` with kube's ``FitError`` message ("0/3 nodes are
  available: 1 Insufficient cpu, 2 node(s) had untolerated taint {k: v}.", entries "<count> <reason>" sorted as
  strings; "no nodes available to schedule pods" without nodes), written to ``/status`` with a resourceVersion
  precondition, plus a Warning ``FailedScheduling`` event with the same message, both only when the condition
  changes (an unchanged re-sync writes nothing). ferry does not preempt, so kube's "preemption: ..." clause is
  absent.

**Cache and races.** Node usage is an index fed by the pod handlers (seeded from the lister on the first sync),
like kube's scheduler cache. A pod is *assumed* on its node when the binding is sent: the next pod already counts
it, and a stale cache that still shows the pod unbound cannot bind it twice. A failed binding forgets it.
Everything from reading the pod to assuming it is synchronous (no ``await``), so several workers may run
``sync`` at once: decisions are still taken one at a time against the assumed usage, and only the binding
requests overlap (kube runs each binding cycle apart from the scheduling cycle for the same reason).
**Retry:** pods that did not fit are remembered; a node added or changed (labels, spec, allocatable) returns all
their keys, a bound pod deleted or finished returns the keys of those that now fit on its node (as many as fit
together), and each failed attempt asks to be retried after ``UNSCHEDULABLE_RETRY_SECONDS`` anyway.
"""

from __future__ import annotations

import copy
import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.controllers.runtime import types as rt
from ferry.cluster.controllers.runtime.manager import SyncResult
from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, Clock, EventRecorder, Lister, Obj
from ferry.cluster.resources.quantity import QuantityError, parse_quantity

DEFAULT_SCHEDULER = "default-scheduler"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
DEFAULT_MILLI_CPU = 100  # kube's non-zero request defaults, used for scoring only
DEFAULT_MEMORY = 200 * 1024 * 1024
_ZERO_IP = "0.0.0.0"
# An unschedulable pod is tried again this long after its last attempt even without an event (kube
# flushes its unschedulable queue every 30 s), in case freed capacity went to other pods first.
UNSCHEDULABLE_RETRY_SECONDS = 30.0
_FIT_ORDER = ("cpu", "memory", "ephemeral-storage")  # then extended resources by name

Req = dict[str, int]  # resource name -> amount (cpu in millicores, everything else in units)
Port = tuple[str, str, int]  # (protocol, hostIP, hostPort)


@dataclass
class _Usage:
    pods: int = 0
    requested: Counter[str] = field(default_factory=Counter)
    nonzero: Counter[str] = field(default_factory=Counter)  # cpu/memory with the non-zero defaults
    ports: Counter[Port] = field(default_factory=Counter)


@dataclass(frozen=True)
class _PodInfo:
    node: str
    req: Req
    nonzero: Req
    ports: tuple[Port, ...]


def _amount(name: str, raw: Any) -> int:
    try:
        q = parse_quantity(raw)
    except QuantityError:
        return 0
    return q.milli_value() if name == "cpu" else q.value_int()


def _requests(c: Obj) -> Req:
    res = c.get("resources") or {}
    merged = {**(res.get("limits") or {}), **(res.get("requests") or {})}
    return {k: _amount(k, v) for k, v in merged.items()}


def pod_requests(pod: Obj) -> tuple[Req, Req]:
    """``(requests, non-zero requests)`` of a pod, as kube's ``PodRequests`` and ``GetNonzeroRequests``."""
    spec = pod.get("spec") or {}
    total: Counter[str] = Counter()
    nonzero: Counter[str] = Counter()
    for c in spec.get("containers") or []:
        r = _requests(c)
        total.update(r)
        nonzero["cpu"] += r.get("cpu") or DEFAULT_MILLI_CPU
        nonzero["memory"] += r.get("memory") or DEFAULT_MEMORY
    sidecars: Counter[str] = Counter()  # restartable init containers run alongside everything after them
    init_max: Counter[str] = Counter()
    for c in spec.get("initContainers") or []:
        r = Counter(_requests(c))
        if c.get("restartPolicy") == "Always":
            sidecars.update(r)
            total.update(r)
        for k, v in (sidecars if c.get("restartPolicy") == "Always" else r + sidecars).items():
            init_max[k] = max(init_max[k], v)
    for k, v in init_max.items():
        total[k] = max(total[k], v)
    total.update({k: _amount(k, v) for k, v in (spec.get("overhead") or {}).items()})
    return dict(total), dict(nonzero)


def _host_ports(pod: Obj) -> tuple[Port, ...]:
    out = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append((p.get("protocol") or "TCP", p.get("hostIP") or _ZERO_IP, int(p["hostPort"])))
    return tuple(out)


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """kube's ``Toleration.ToleratesTaint``: effect and key (when set) must match; Exists or an equal value."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    return op == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def _untolerated(pod: Obj, node: Obj) -> Obj | None:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(
            tolerates(t, taint) for t in tolerations
        ):
            return dict(taint)
    return None


def _requirement(expr: Obj, value: str | None) -> bool:
    op, values = expr.get("operator"), expr.get("values") or []
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and len(values) == 1:
        try:
            a, b = int(value), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def matches_node_affinity(pod: Obj, node: Obj) -> bool:
    """nodeSelector (every pair) AND required node affinity (any term; a term's expressions and fields all)."""
    spec = pod.get("spec") or {}
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not required:
        return True
    for term in required.get("nodeSelectorTerms") or []:
        exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not exprs and not fields:
            continue  # an empty term matches no objects
        if all(_requirement(e, labels.get(e.get("key"))) for e in exprs) and all(
            _requirement(f, meta.get("name") if f.get("key") == "metadata.name" else None) for f in fields
        ):
            return True
    return False


def _ports_conflict(want: tuple[Port, ...], used: Counter[Port]) -> bool:
    """kube's ``HostPortInfo.CheckConflict``: same protocol and port, and the same IP or either is 0.0.0.0."""
    return any(
        (uproto, uport) == (proto, port) and (uip == ip or _ZERO_IP in (ip, uip))
        for proto, ip, port in want
        for uproto, uip, uport in used
    )


def _allocatable(node: Obj) -> Req:
    alloc = (node.get("status") or {}).get("allocatable") or {}
    return _parsed_allocatable(tuple(sorted((k, str(v)) for k, v in alloc.items())))


@functools.lru_cache(maxsize=1024)
def _parsed_allocatable(items: tuple[tuple[str, str], ...]) -> Req:
    """Parsing quantities is most of a filter's cost, and nodes' allocatable rarely changes: remember
    the parse per distinct value. The dict is shared: callers only read it."""
    return {k: _amount(k, v) for k, v in items}


class Scheduler:
    """kube-scheduler for one profile (``default-scheduler``); see the module docstring."""

    def __init__(
        self, pods: Lister, nodes: Lister, client: Client, recorder: EventRecorder, clock: Clock
    ) -> None:
        self.pods, self.nodes, self.client, self.recorder, self.clock = pods, nodes, client, recorder, clock
        self._bound: dict[str, _PodInfo] = {}  # pod uid -> where it counts
        self._usage: dict[str, _Usage] = {}  # node name -> sums over _bound
        self._assumed: set[str] = set()  # uids bound by us that the cache does not show bound yet
        self._unschedulable: set[str] = set()  # pod keys that did not fit
        self._seeded = False

    # -- event handlers: return the keys to enqueue ----------------------------------------------------
    def on_pod_add(self, pod: Obj) -> list[str]:
        self._observe(pod)
        return [rt.key_of(pod)] if _wants(pod) else []

    def on_pod_update(self, old: Obj, new: Obj) -> list[str]:
        info = self._bound.get(str((new.get("metadata") or {}).get("uid")))
        self._observe(new)
        if _wants(new):
            return [rt.key_of(new)]
        freed = info is not None and (new.get("metadata") or {}).get("uid") not in self._bound
        return self._fitting_now(info.node) if freed and info is not None else []

    def on_pod_delete(self, pod: Obj) -> list[str]:
        uid = str((pod.get("metadata") or {}).get("uid"))
        self._unschedulable.discard(rt.key_of(pod))
        info = self._bound.get(uid)
        freed = self._forget(uid)
        return self._fitting_now(info.node) if freed and info is not None else []

    def _fitting_now(self, node_name: str) -> list[str]:
        """The unschedulable pods that now fit on ``node_name``, as many as fit together (greedy, by key).

        Capacity freed on one node can help only pods that fit on that node, and only as many as it
        holds: requeueing every unschedulable pod on every freed slot would cost (pending pods x nodes)
        filter calls per deletion, which at thousands of pending pods stalls the scheduler (kube's
        queueing hints make the same cut). Pods left out are retried after ``UNSCHEDULABLE_RETRY_SECONDS``.
        """
        node = self.nodes.get(None, node_name)
        if node is None or not self._unschedulable:
            return []
        base = self._usage.get(node_name) or _Usage()
        trial = _Usage(base.pods, Counter(base.requested), Counter(base.nonzero), Counter(base.ports))
        out = []
        for key in sorted(self._unschedulable):
            pod = self.pods.get(*rt.split_key(key))
            if pod is None or not _wants(pod):
                continue
            req, nonzero = pod_requests(pod)
            ports = _host_ports(pod)
            if self._filter(pod, req, ports, node, usage=trial):
                continue
            out.append(key)
            trial.pods += 1
            trial.requested.update(req)
            trial.nonzero.update(nonzero)
            trial.ports.update(ports)
        return out

    def on_node_add(self, node: Obj) -> list[str]:
        return sorted(self._unschedulable)

    def on_node_update(self, old: Obj, new: Obj) -> list[str]:
        def relevant(n: Obj) -> tuple[Any, ...]:
            return ((n.get("metadata") or {}).get("labels"), n.get("spec"), _allocatable(n))

        return sorted(self._unschedulable) if relevant(old) != relevant(new) else []

    def on_node_delete(self, node: Obj) -> list[str]:
        return []

    # -- the cache -------------------------------------------------------------------------------------
    def _observe(self, pod: Obj) -> None:
        uid = str((pod.get("metadata") or {}).get("uid"))
        node = (pod.get("spec") or {}).get("nodeName")
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            self._forget(uid)
        elif node:
            self._assumed.discard(uid)
            self._count(uid, pod, node)
        elif uid not in self._assumed:
            self._forget(uid)

    def _count(self, uid: str, pod: Obj, node: str) -> None:
        self._forget(uid)
        req, nonzero = pod_requests(pod)
        info = self._bound[uid] = _PodInfo(node, req, nonzero, _host_ports(pod))
        u = self._usage.setdefault(node, _Usage())
        u.pods += 1
        u.requested.update(info.req)
        u.nonzero.update(info.nonzero)
        u.ports.update(info.ports)

    def _forget(self, uid: str) -> bool:
        self._assumed.discard(uid)
        info = self._bound.pop(uid, None)
        if info is None:
            return False
        u = self._usage[info.node]
        u.pods -= 1
        u.requested.subtract(info.req)
        u.nonzero.subtract(info.nonzero)
        u.ports.subtract(info.ports)
        u.ports = +u.ports
        return True

    # -- one scheduling cycle --------------------------------------------------------------------------
    async def sync(self, key: str) -> SyncResult | None:
        if not self._seeded:
            self._seeded = True
            for p in self.pods.list():
                self._observe(p)
        ns, name = rt.split_key(key)
        pod = self.pods.get(ns, name)
        uid = str(((pod or {}).get("metadata") or {}).get("uid"))
        if pod is None or not _wants(pod) or uid in self._assumed:
            self._unschedulable.discard(key)
            return None
        nodes = self.nodes.list()
        req, nonzero = pod_requests(pod)
        ports = _host_ports(pod)
        reasons: Counter[str] = Counter()
        feasible: list[Obj] = []
        for node in nodes:
            failed = self._filter(pod, req, ports, node)
            reasons.update(failed)
            if not failed:
                feasible.append(node)
        if not feasible:
            if not nodes:
                message = "no nodes available to schedule pods"
            else:
                histogram = sorted(f"{n} {r}" for r, n in reasons.items())
                message = f"0/{len(nodes)} nodes are available: {', '.join(histogram)}."
            self._unschedulable.add(key)
            await self._mark_unschedulable(pod, message)
            return SyncResult(requeue_after_seconds=UNSCHEDULABLE_RETRY_SECONDS)
        best = min(feasible, key=lambda n: self._rank(n, nonzero))
        await self._bind(pod, str(best["metadata"]["name"]))
        return None

    def _filter(
        self, pod: Obj, req: Req, ports: tuple[Port, ...], node: Obj, usage: _Usage | None = None
    ) -> list[str]:
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        if (node.get("spec") or {}).get("unschedulable") and not any(
            tolerates(t, UNSCHEDULABLE_TAINT) for t in tolerations
        ):
            return ["node(s) were unschedulable"]
        taint = _untolerated(pod, node)
        if taint is not None:
            return [f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"]
        if not matches_node_affinity(pod, node):
            return ["node(s) didn't match Pod's node affinity/selector"]
        if usage is None:
            usage = self._usage.get(str(node["metadata"]["name"])) or _Usage()
        if ports and _ports_conflict(ports, usage.ports):
            return ["node(s) didn't have free ports for the requested pod ports"]
        alloc = _allocatable(node)
        out = []
        if usage.pods + 1 > alloc.get("pods", 0):
            out.append("Too many pods")
        for res in [*_FIT_ORDER, *sorted(set(req) - set(_FIT_ORDER))]:
            if req.get(res, 0) > 0 and req[res] > alloc.get(res, 0) - usage.requested[res]:
                out.append(f"Insufficient {res}")
        return out

    def _rank(self, node: Obj, nonzero: Req) -> tuple[float, int, str]:
        """Sort key, best first: the highest least-allocated score, then fewer pods, then the name."""
        name = str(node["metadata"]["name"])
        usage = self._usage.get(name) or _Usage()
        alloc = _allocatable(node)
        free = [
            max(0.0, (alloc[r] - usage.nonzero[r] - nonzero[r]) / alloc[r]) if alloc.get(r) else 0.0
            for r in ("cpu", "memory")
        ]
        return (-sum(free) / 2, usage.pods, name)

    async def _bind(self, pod: Obj, node: str) -> None:
        meta = pod["metadata"]
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "uid": meta.get("uid")},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        uid = str(meta.get("uid"))
        self._count(uid, pod, node)
        self._assumed.add(uid)
        try:
            await self.client.create("v1/pods/binding", meta.get("namespace"), binding)
        except ApiStatusError as err:
            self._forget(uid)
            if err.not_found or err.code == 409:
                return  # gone, or bound by someone else: the informer will tell
            raise
        self._unschedulable.discard(rt.key_of(pod))
        message = f"Successfully assigned {meta.get('namespace')}/{meta['name']} to {node}"
        self.recorder.event(pod, "Normal", "Scheduled", message)

    async def _mark_unschedulable(self, pod: Obj, message: str) -> None:
        conditions = list((pod.get("status") or {}).get("conditions") or [])
        old = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        current = (old or {}).get("status"), (old or {}).get("reason"), (old or {}).get("message")
        if current == ("False", "Unschedulable", message):
            return
        now = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        since = (old or {}).get("lastTransitionTime", now) if current[0] == "False" else now
        cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None, "lastTransitionTime": since}
        cond |= {"reason": "Unschedulable", "message": message}
        body = copy.deepcopy(pod)
        status = body.setdefault("status", {})
        status["conditions"] = [cond if c is old else c for c in conditions] if old else [*conditions, cond]
        await self.client.update("v1/pods", body["metadata"].get("namespace"), body, subresource="status")
        self.recorder.event(pod, "Warning", "FailedScheduling", message)


def _wants(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    return (
        not spec.get("nodeName")
        and (spec.get("schedulerName") or DEFAULT_SCHEDULER) == DEFAULT_SCHEDULER
        and not (pod.get("metadata") or {}).get("deletionTimestamp")
        and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    )
