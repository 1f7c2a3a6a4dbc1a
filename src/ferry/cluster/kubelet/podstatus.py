"""Pod status as the kubelet writes it, built from the sim's per-pod state.

:class:`_Pod` and :class:`_Ctr` are what :class:`~ferry.cluster.kubelet.sim.SimRuntime` knows of a pod and
its containers (the running instance, the last two terminations, the pending timer, the back-offs);
:func:`pod_status` turns them into ``status``: the phase (kubelet's ``getPhase``), the conditions in the
kubelet's order (foreign ones first, then PodReadyToStartContainers, Initialized, Ready with the readiness
gates, ContainersReady, PodScheduled; lastTransitionTime changes only when a status flips), hostIP, podIP,
startTime, and the init/container statuses with ``sim://`` containerIDs and docker.io-style imageIDs.
:func:`_parse` reads back the timestamps of a status written before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.kubelet.behaviour import Backoff, Behaviour
from ferry.cluster.kubelet.nodes import _hex, _Node, _ts

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


@dataclass
class _Ctr:
    name: str
    image: str
    b: Behaviour
    restarts: int = 0
    cid: str = ""
    started: float | None = None  # startedAt of the running instance
    waiting: tuple[str, str] = ("ContainerCreating", "")
    last: Obj | None = None  # the latest termination; `prior` the one before
    prior: Obj | None = None
    finished: float = 0.0
    done: bool = False  # stays terminated: state = last, lastState = prior
    due: float | None = None  # when `action` happens
    action: str = ""
    crash: Backoff = field(default_factory=Backoff)
    pull: Backoff = field(default_factory=Backoff)
    stop_code: int = 0


@dataclass
class _Pod:
    uid: str
    key: str
    node: _Node
    ip: str
    since: float
    init_at: float
    ctrs: list[_Ctr]
    inits: list[tuple[str, str]]
    stopping: bool = False
    deleted: bool = False
    written: Obj | None = None
    base: tuple[str, Obj] | None = None  # (resourceVersion our last write was based on, its answer)
    wake: float | None = None


def _parse(ts: Any, default: float) -> float:
    try:
        return dt.datetime.strptime(str(ts), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return default


def _image_id(image: str) -> str:
    name = image.split("@")[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    first = name.split("/")[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return f"{name}@sha256:{_hex(image)}"


def pod_status(p: _Pod, obj: Obj, now: float) -> Obj:
    """The status the kubelet would write for ``obj`` at ``now``; ``p`` already advanced to ``now``."""
    spec, current = obj["spec"], obj.get("status") or {}
    init_done = now >= p.init_at
    statuses = [_container_status(p, c, now, init_done) for c in p.ctrs]
    phase = _phase(p, spec.get("restartPolicy") or "Always", init_done)
    unready = [s["name"] for s in statuses if not s["ready"]]
    incomplete = " ".join(n for n, _ in p.inits)
    st = pod_level_status(
        current,
        spec,
        phase=phase,
        sandbox_ready=True,
        pending_inits=None if init_done else incomplete,
        unready=unready,
        host_ip=p.node.ip,
        pod_ip=p.ip,
        since=p.since,
        now=now,
    )
    if p.inits:
        st["initContainerStatuses"] = [_init_status(p, n, i, init_done) for n, i in p.inits]
    st["containerStatuses"] = sorted(statuses, key=lambda s: str(s["name"]))
    return st


def pod_level_status(
    current: Obj,
    spec: Obj,
    *,
    phase: str,
    sandbox_ready: bool,
    pending_inits: str | None,
    unready: list[str],
    host_ip: str,
    pod_ip: str,
    since: float,
    now: float,
) -> Obj:
    """The pod-level part of a kubelet's status, shared by the sim and the process kubelet: ``phase``, the
    conditions in the kubelet's order (foreign ones kept first; ``lastTransitionTime`` moves only when a
    status flips), host and pod IPs, ``startTime``. ``pending_inits`` names the init containers not done yet
    (None when initialized); ``unready`` the app containers that are not ready. Container statuses are the
    caller's."""
    terminal = phase in ("Succeeded", "Failed")
    conds: list[tuple[str, bool, str, str]] = [
        ("PodReadyToStartContainers", sandbox_ready and not terminal, "", "")
    ]
    if pending_inits is None:
        conds.append(("Initialized", True, "PodCompleted" if phase == "Succeeded" else "", ""))
    else:
        msg = f"containers with incomplete status: [{pending_inits}]"
        conds.append(("Initialized", False, "ContainersNotInitialized", msg))
    ready: tuple[bool, str, str]
    if terminal:
        ready = (False, "PodCompleted" if phase == "Succeeded" else "PodFailed", "")
    elif unready:
        ready = (False, "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
    else:
        ready = (True, "", "")
    conds += [("Ready", *(_gates(spec, current) if ready[0] else ready)), ("ContainersReady", *ready)]
    conds.append(("PodScheduled", True, "", ""))
    old = {c.get("type"): c for c in current.get("conditions") or []}
    out = [c for c in current.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
    for type_, ok, reason, message in conds:
        s = "True" if ok else "False"
        prev = old.get(type_) or {}
        kept = prev.get("lastTransitionTime") if prev.get("status") == s else None
        cond = {"type": type_, "status": s, "lastProbeTime": None, "lastTransitionTime": kept or _ts(now)}
        out.append(cond | ({"reason": reason} if reason else {}) | ({"message": message} if message else {}))
    st = dict(current) | {"phase": phase, "conditions": out, "hostIP": host_ip}
    st |= {"hostIPs": [{"ip": host_ip}], "startTime": _ts(since)}
    if pod_ip:
        st |= {"podIP": pod_ip, "podIPs": [{"ip": pod_ip}]}
    return st


def _container_status(p: _Pod, c: _Ctr, now: float, init_done: bool) -> Obj:
    state: Obj
    if c.started is not None:
        state, last = {"running": {"startedAt": _ts(c.started)}}, c.last
    elif c.done:
        state, last = {"terminated": c.last}, c.prior
    else:
        reason = "PodInitializing" if not init_done and p.inits else c.waiting[0]
        state, last = (
            {"waiting": {"reason": reason} | ({"message": c.waiting[1]} if c.waiting[1] else {})},
            c.last,
        )
    ready = c.started is not None and c.b.ready is not None and now >= c.started + c.b.ready
    s = {
        "name": c.name,
        "state": state,
        "lastState": {"terminated": last} if last else {},
        "ready": ready,
    }
    s |= {"restartCount": c.restarts, "image": c.image, "imageID": _image_id(c.image) if c.cid else ""}
    return s | {"started": c.started is not None} | ({"containerID": c.cid} if c.cid else {})


def _init_status(p: _Pod, name: str, image: str, done: bool) -> Obj:
    s = {
        "name": name,
        "lastState": {},
        "ready": done,
        "restartCount": 0,
        "image": image,
        "started": False,
    }
    if not done:
        return s | {"state": {"waiting": {"reason": "PodInitializing"}}, "imageID": ""}
    cid = "sim://" + _hex(p.uid, name, "0")
    term = {
        "exitCode": 0,
        "reason": "Completed",
        "startedAt": _ts(p.init_at),
        "finishedAt": _ts(p.init_at),
    }
    return s | {
        "state": {"terminated": term | {"containerID": cid}},
        "imageID": _image_id(image),
        "containerID": cid,
    }


def _phase(p: _Pod, policy: str, init_done: bool) -> str:
    """kubelet's ``getPhase``; a pod stopped for deletion is terminal (Succeeded only if every exit was 0)."""
    if not init_done:
        return "Pending"
    running = sum(c.started is not None for c in p.ctrs)
    stopped = [c for c in p.ctrs if c.started is None and (c.done or c.last is not None)]
    if len(stopped) + running < len(p.ctrs):
        return "Pending"  # some container has not started yet
    if running:
        return "Running"
    ok = all(c.done and (c.last or {}).get("exitCode") == 0 for c in stopped)
    if (p.stopping and all(c.done for c in p.ctrs)) or policy == "Never":
        return "Succeeded" if ok else "Failed"
    return "Succeeded" if policy == "OnFailure" and ok else "Running"


def _gates(spec: Obj, current: Obj) -> tuple[bool, str, str]:
    """Ready when every readiness gate's condition is True (containers being ready)."""
    conds = {c.get("type"): c.get("status") for c in current.get("conditions") or []}
    msgs = []
    for gate in spec.get("readinessGates") or []:
        t = gate.get("conditionType")
        if t not in conds:
            msgs.append(f'corresponding condition of pod readiness gate "{t}" does not exist.')
        elif conds[t] != "True":
            msgs.append(f'the status of pod readiness gate "{t}" is not "True", but {conds[t]}')
    return (False, "ReadinessGatesNotReady", ", ".join(msgs)) if msgs else (True, "", "")
