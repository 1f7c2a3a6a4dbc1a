"""Pod status from the process kubelet's per-container state, shaped exactly as the sim writes it.

:class:`CtrState` is what a pod worker knows of one container (init or app): the running instance
(``ferry://<id>``, startedAt, started/ready from the probes), the last two terminations (``state`` /
``lastState``), the waiting reason (ContainerCreating, PodInitializing, ErrImagePull, ImagePullBackOff,
CrashLoopBackOff, CreateContainerConfigError...), restartCount, imageID (``registry/repo@sha256:...`` of the
pulled image) and its back-offs. :func:`pod_status` builds ``status``: kubelet's ``getPhase``, the conditions in
the kubelet's order with the readiness gates (the same `podstatus.pod_level_status` as the sim; a
lastTransitionTime changes only when a status flips), hostIP(s), podIP(s), startTime, initContainerStatuses and
containerStatuses (sorted by name, as the sim). :func:`save_record` / :func:`load_record` / :func:`restore`
keep each pod's instances on disk (``record.json``) for a restarted kubelet.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.kubelet.behaviour import Backoff
from ferry.cluster.kubelet.nodes import _ts
from ferry.cluster.kubelet.podstatus import pod_level_status

SCHEME = "ferry://"


@dataclass
class CtrState:
    name: str
    image: str
    init: bool = False
    cid: str = ""  # the runtime's id of the latest instance
    restarts: int = 0
    started_at: float | None = None  # set while an instance runs
    started: bool = False  # the startup probe passed (or there is none)
    ready: bool = False
    waiting: tuple[str, str] = ("ContainerCreating", "")
    last: Obj | None = None
    prior: Obj | None = None
    done: bool = False  # stays terminated (completed init container, or no restart): state = last
    image_id: str = ""
    crash: Backoff = field(default_factory=Backoff)
    pull: Backoff = field(default_factory=Backoff)

    @property
    def running(self) -> bool:
        return self.started_at is not None

    @property
    def container_id(self) -> str:
        return SCHEME + self.cid if self.cid else ""


def container_status(c: CtrState, *, pod_initializing: bool) -> Obj:
    state: Obj
    if c.running:
        state, last = {"running": {"startedAt": _ts(c.started_at or 0.0)}}, c.last
    elif c.done and c.last is not None:
        state, last = {"terminated": c.last}, c.prior
    else:
        reason = "PodInitializing" if pod_initializing else c.waiting[0]
        msg = c.waiting[1] if not pod_initializing else ""
        state, last = {"waiting": {"reason": reason} | ({"message": msg} if msg else {})}, c.last
    s: Obj = {"name": c.name, "state": state, "lastState": {"terminated": last} if last else {}}
    s |= {"ready": c.ready and c.running, "restartCount": c.restarts, "image": c.image, "imageID": c.image_id}
    s |= {"started": c.running and c.started}
    return s | ({"containerID": c.container_id} if c.cid else {})


def init_done(inits: list[CtrState]) -> bool:
    return all(c.done and (c.last or {}).get("exitCode") == 0 for c in inits)


def phase(ctrs: list[CtrState], inits: list[CtrState], policy: str, stopping: bool) -> str:
    """kubelet's ``getPhase``; an init container that failed for good makes the pod Failed."""
    if any(c.done and (c.last or {}).get("exitCode") != 0 for c in inits):
        return "Failed"
    if not init_done(inits):
        return "Pending"
    running = sum(c.running for c in ctrs)
    stopped = [c for c in ctrs if not c.running and (c.done or c.last is not None)]
    if len(stopped) + running < len(ctrs):
        return "Pending"
    if running:
        return "Running"
    ok = all(c.done and (c.last or {}).get("exitCode") == 0 for c in stopped)
    if (stopping and all(c.done for c in ctrs)) or policy == "Never":
        return "Succeeded" if ok else "Failed"
    return "Succeeded" if policy == "OnFailure" and ok else "Running"


def pod_status(
    obj: Obj,
    ctrs: list[CtrState],
    inits: list[CtrState],
    *,
    host_ip: str,
    pod_ip: str,
    since: float,
    stopping: bool,
    sandbox_ready: bool,
    now: float,
) -> Obj:
    spec, current = obj["spec"], obj.get("status") or {}
    ph = phase(ctrs, inits, spec.get("restartPolicy") or "Always", stopping)
    initialized = init_done(inits)
    statuses = [container_status(c, pod_initializing=not initialized) for c in ctrs]
    unready = [s["name"] for s in statuses if not s["ready"]]
    st = pod_level_status(
        current,
        spec,
        phase=ph,
        sandbox_ready=sandbox_ready,
        pending_inits=None if initialized else " ".join(c.name for c in inits if not c.done),
        unready=unready,
        host_ip=host_ip,
        pod_ip=pod_ip,
        since=since,
        now=now,
    )
    if inits:
        st["initContainerStatuses"] = [container_status(c, pod_initializing=False) for c in inits]
    st["containerStatuses"] = sorted(statuses, key=lambda s: str(s["name"]))
    return st


def save_record(path: Path, since: float, pod_ip: str, netns: str | None, ctrs: dict[str, CtrState]) -> None:
    """What a restarted kubelet needs to adopt the pod's instances, written atomically."""
    keys = ("cid", "restarts", "started_at", "last", "prior", "done", "image_id", "started")
    rec = {"since": since, "pod_ip": pod_ip, "netns": netns}
    rec["ctrs"] = {n: {k: getattr(c, k) for k in keys} for n, c in ctrs.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(rec))
    os.replace(tmp, path)


def load_record(path: Path) -> dict[str, Any] | None:
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def restore(c: CtrState, r: dict[str, Any]) -> None:
    """Take the recorded instance and history of ``c`` back (not its running state: the runtime says that)."""
    c.cid, c.restarts, c.last, c.prior = str(r["cid"]), int(r["restarts"]), r["last"], r["prior"]
    c.done, c.image_id, c.started = bool(r["done"]), str(r["image_id"]), bool(r["started"])
