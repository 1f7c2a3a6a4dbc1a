"""``kubectl get pods``: the READY / STATUS / RESTARTS logic of kube's ``printPod``.

STATUS is computed in passes, each able to overwrite the last (the order is the contract):

1. ``status.reason`` if set, else ``status.phase``; a ``PodScheduled`` condition with reason
   ``SchedulingGated`` makes it ``SchedulingGated``.
2. Init containers, in status order, stop at the first one not done: a failed one gives
   ``Init:<reason>`` / ``Init:Signal:N`` / ``Init:ExitCode:N``, a waiting one ``Init:<reason>``
   (except ``PodInitializing``), otherwise ``Init:i/n``. Exit code 0 counts as done, and so does a
   started sidecar (an init container with ``restartPolicy: Always``), which also counts towards READY.
3. Unless still initialising (and the ``Initialized`` condition is not True), the regular containers
   are walked *backwards*, so the first container's state wins: a waiting reason
   (``CrashLoopBackOff``, ``ContainerCreating``), else a terminated reason (``Completed``,
   ``Error``, ``OOMKilled``), else ``Signal:N`` / ``ExitCode:N``. Ready running containers count
   towards READY. ``Completed`` with some container still running shows ``Running`` if the pod is
   Ready, else ``NotReady``.
4. A deletionTimestamp shows ``Terminating`` (unless the phase is terminal), or ``Unknown`` for a pod
   on a lost node (reason ``NodeLost``).

RESTARTS is the sum of restartCount (sidecars and regular containers once initialised, all init
containers while initialising), with ``" (5m ago)"`` from the newest ``lastState.terminated.finishedAt``
when non-zero. It is a string cell in a ``string`` column, as in kube >= 1.22.

Wide cells: IP (``status.podIP``, else ``podIPs[0]``), NODE, NOMINATED NODE (``<none>`` when empty)
and READINESS GATES (``<none>`` or ``true/total``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ferry.cluster.resources.printers.common import AGE, NAME, Printer, col, d, lst, meta, n, name, s
from ferry.cluster.resources.printers.duration import parse_time, since
from ferry.cluster.resources.types import Obj

COLUMNS = (
    NAME,
    col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    col("IP", "PodStatus.podIP", priority=1),
    col("Node", "PodSpec.nodeName", priority=1),
    col("Nominated Node", "PodStatus.nominatedNodeName", priority=1),
    col("Readiness Gates", "PodSpec.readinessGates", priority=1),
)


def _later(current: datetime | None, candidate: Any) -> datetime | None:
    """``if current.Before(candidate) { current = candidate }`` with None as Go's zero time."""
    t = parse_time(candidate)
    if t is not None and (current is None or current < t):
        return t
    return current


def _last_finished(status: dict[str, Any]) -> Any:
    terminated = d(status.get("lastState")).get("terminated")
    return d(terminated).get("finishedAt") if isinstance(terminated, dict) else None


def _terminated_reason(term: dict[str, Any], prefix: str = "") -> str:
    if s(term.get("reason")):
        return prefix + s(term.get("reason"))
    if n(term.get("signal")):
        return f"{prefix}Signal:{n(term.get('signal'))}"
    return f"{prefix}ExitCode:{n(term.get('exitCode'))}"


def _condition_is_true(conditions: list[Any], kind: str) -> bool:
    for c in conditions:
        if d(c).get("type") == kind:
            return d(c).get("status") == "True"
    return False


def _has_ready_condition(conditions: list[Any]) -> bool:
    return any(d(c).get("type") == "Ready" and d(c).get("status") == "True" for c in conditions)


def _is_sidecar(container: dict[str, Any] | None) -> bool:
    return container is not None and container.get("restartPolicy") == "Always"


def pod_row(pod: Obj, now: datetime) -> list[Any]:
    spec, status = d(pod.get("spec")), d(pod.get("status"))
    conditions = lst(status.get("conditions"))
    init_specs = [d(c) for c in lst(spec.get("initContainers"))]
    init_by_name = {s(c.get("name")): c for c in init_specs}
    total = len(lst(spec.get("containers"))) + sum(1 for c in init_specs if _is_sidecar(c))
    ready = restarts = sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    phase = s(status.get("phase"))
    reason = s(status.get("reason")) or phase
    for c in conditions:
        if d(c).get("type") == "PodScheduled" and d(c).get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for i, cs in enumerate(d(x) for x in lst(status.get("initContainerStatuses"))):
        restarts += n(cs.get("restartCount"))
        last_restart = _later(last_restart, _last_finished(cs))
        sidecar = _is_sidecar(init_by_name.get(s(cs.get("name"))))
        if sidecar:
            sidecar_restarts += n(cs.get("restartCount"))
            last_sidecar_restart = _later(last_sidecar_restart, _last_finished(cs))
        state = d(cs.get("state"))
        term = state.get("terminated")
        waiting = state.get("waiting")
        if isinstance(term, dict) and n(term.get("exitCode")) == 0:
            continue
        if sidecar and cs.get("started") is True:
            ready += 1 if cs.get("ready") is True else 0
            continue
        if isinstance(term, dict):
            reason = _terminated_reason(term, "Init:")
        elif (
            isinstance(waiting, dict)
            and s(waiting.get("reason"))
            and waiting.get("reason") != "PodInitializing"
        ):
            reason = "Init:" + s(waiting.get("reason"))
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_is_true(conditions, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed([d(x) for x in lst(status.get("containerStatuses"))]):
            restarts += n(cs.get("restartCount"))
            last_restart = _later(last_restart, _last_finished(cs))
            state = d(cs.get("state"))
            term, waiting = state.get("terminated"), state.get("waiting")
            if isinstance(waiting, dict) and s(waiting.get("reason")):
                reason = s(waiting.get("reason"))
            elif isinstance(term, dict):
                reason = _terminated_reason(term)
            elif cs.get("ready") is True and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_ready_condition(conditions) else "NotReady"

    if meta(pod).get("deletionTimestamp") is not None:
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Failed", "Succeeded"):
            reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_cell = f"{restarts} ({since(last_restart, now)} ago)"

    pod_ip = s(status.get("podIP")) or next((s(d(p).get("ip")) for p in lst(status.get("podIPs"))), "")
    gates = lst(spec.get("readinessGates"))
    readiness = "<none>"
    if gates:
        true_gates = 0
        for gate in gates:
            wanted = d(gate).get("conditionType")
            match = next((d(c) for c in conditions if d(c).get("type") == wanted), None)
            true_gates += 1 if match is not None and match.get("status") == "True" else 0
        readiness = f"{true_gates}/{len(gates)}"
    return [
        name(pod),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        since(meta(pod).get("creationTimestamp"), now),
        pod_ip or "<none>",
        s(spec.get("nodeName")) or "<none>",
        s(status.get("nominatedNodeName")) or "<none>",
        readiness,
    ]


PRINTERS: dict[tuple[str, str], Printer] = {("", "Pod"): (COLUMNS, pod_row)}
