"""What a rollout is doing right now, in words: ReplicaSets old and new, pods ready, Warning events, failing pods.

``RolloutObserver`` reads, for every Deployment of a release, the Deployment, its ReplicaSets and pods (by
the Deployment's selector) and the namespace's Warning events, and turns each read into a ``Snapshot``. The
deploy command polls it (every ``POLL_SECONDS``) beside ``wait_healthy`` — which decides *when* the rollout
is done — and prints what changed: ``lines()`` returns only lines not printed before, so a plain log stays
short, and ``table()`` gives the current picture for a live (rich) display on a terminal.

``failure()`` is the one-line reason a failed rollout reports, chosen from what the cluster says, most
specific first: a failing container's waiting reason (``CrashLoopBackOff``, ``ImagePullBackOff``...), else an
unready pod's Ready condition (``ContainersNotReady: containers with unready status: [web]``), else the
latest Warning event of a pod of the new ReplicaSet, else ``""`` (the caller falls back to the health roll-up).
When the chosen pod's log was read (``podlogs``: a crashing, failed or long-unready container, once per
restart), its last lines are appended: ``...: CrashLoopBackOff: ...; last log lines of web-1/web: a | b``.
The progress lines show each excerpt once, as it is read (``  pod web-1 container web, restart 2, last log
lines:`` then ``    | ...``); the table shows the last line.

The new ReplicaSet is the one whose ``deployment.kubernetes.io/revision`` equals the Deployment's (the newest
by creation time when the controller writes no revisions), and there is none while the Deployment's
``status.observedGeneration`` lags ``metadata.generation``: the controller has not seen the new template yet. Events are only those created at or after ``since``
(the release's start), so old failures of a previous release are not reported as this one's.
Reads only: nothing here writes to the cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ferry.delivery.apply import KubeApi
from ferry.delivery.releases.podlogs import LogExcerpt, PodLogs

__all__ = ["POLL_SECONDS", "DeploymentView", "PodView", "RolloutObserver", "Snapshot"]

POLL_SECONDS = 0.5
REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class PodView:
    name: str
    replicaset: str
    ready: bool
    problem: str = ""  # why it is not ready, when known


@dataclass(frozen=True)
class DeploymentView:
    name: str
    desired: int
    new_rs: str = ""
    new_ready: int = 0
    new_replicas: int = 0
    old: tuple[tuple[str, int], ...] = ()  # (name, replicas) of old ReplicaSets still holding pods
    pods: tuple[PodView, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    deployments: tuple[DeploymentView, ...] = ()
    warnings: tuple[str, ...] = ()  # "Pod web-1: BackOff: Back-off restarting ..."
    logs: tuple[LogExcerpt, ...] = ()  # the newest log excerpt of each pod that has one


def _owner(obj: Mapping[str, Any]) -> str:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("name") or "")
    return ""


def _pod_view(pod: Mapping[str, Any]) -> PodView:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    conditions = {str(c.get("type")): c for c in status.get("conditions") or []}
    ready = (conditions.get("Ready") or {}).get("status") == "True"
    problem = ""
    for cs in status.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] != "ContainerCreating":
            problem = ": ".join(p for p in (waiting.get("reason"), waiting.get("message")) if p)
            break
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if last.get("reason") in ("Error", "OOMKilled") and not ready:
            problem = f"{last['reason']} (exit code {last.get('exitCode')})"
            break
    if not problem and not ready:
        cond = conditions.get("Ready") or {}
        problem = ": ".join(p for p in (cond.get("reason"), cond.get("message")) if p) or str(
            status.get("phase") or "Pending"
        )
    return PodView(str(meta.get("name") or ""), _owner(pod), ready, "" if ready else problem)


def _event_time(ev: Mapping[str, Any]) -> str:
    meta = ev.get("metadata") or {}
    return str(ev.get("lastTimestamp") or ev.get("eventTime") or meta.get("creationTimestamp") or "")


class RolloutObserver:
    """Reads the rollout of ``deployments`` (names) in ``namespace``; see the module docstring."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        deployments: Sequence[str],
        *,
        since: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.api, self.namespace, self.names, self.since = api, namespace, list(deployments), since
        self.pod_logs = PodLogs(api, namespace) if clock is None else PodLogs(api, namespace, clock=clock)
        self._printed: set[str] = set()
        self._printed_logs: set[tuple[str, str, int]] = set()
        self.last = Snapshot()

    @classmethod
    def for_objects(
        cls, api: KubeApi, namespace: str, objects: Sequence[Mapping[str, Any]], *, since: str
    ) -> RolloutObserver:
        names = [str(o["metadata"]["name"]) for o in objects if o.get("kind") == "Deployment"]
        return cls(api, namespace, names, since=since)

    async def read(self) -> Snapshot:
        if not self.names:
            return Snapshot()
        dep_rt = await self.api.resource_type("apps/v1", "Deployment")
        rs_rt = await self.api.resource_type("apps/v1", "ReplicaSet")
        pod_rt = await self.api.resource_type("v1", "Pod")
        ev_rt = await self.api.resource_type("v1", "Event")
        views: list[DeploymentView] = []
        involved: set[str] = set()
        seen_pods: list[dict[str, Any]] = []
        for name in self.names:
            dep = await self.api.get(dep_rt, self.namespace, name)
            if dep is None:
                continue
            selector = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            rss, _ = await self.api.list(rs_rt, self.namespace, labels=selector)
            pods, _ = await self.api.list(pod_rt, self.namespace, labels=selector)
            mine = [rs for rs in rss if _owner(rs) == name]
            meta = dep.get("metadata") or {}
            revision = (meta.get("annotations") or {}).get(REVISION)
            observed = (dep.get("status") or {}).get("observedGeneration")
            caught_up = observed is None or observed == meta.get("generation", observed)
            new = [rs for rs in mine if (rs["metadata"].get("annotations") or {}).get(REVISION) == revision]
            if not caught_up:
                new = []  # the controller has not seen the new template: its revision is still the old one
            elif not new and mine and revision is None:
                new = [max(mine, key=lambda rs: str(rs["metadata"].get("creationTimestamp") or ""))]
            new_name = str(new[0]["metadata"]["name"]) if new else ""
            new_status = (new[0].get("status") or {}) if new else {}
            old = tuple(
                (str(rs["metadata"]["name"]), int((rs.get("status") or {}).get("replicas") or 0))
                for rs in mine
                if rs["metadata"]["name"] != new_name and int((rs.get("status") or {}).get("replicas") or 0)
            )
            pod_views = tuple(sorted((_pod_view(p) for p in pods), key=lambda p: p.name))
            seen_pods += pods
            involved |= {name, *(str(rs["metadata"]["name"]) for rs in mine), *(p.name for p in pod_views)}
            views.append(
                DeploymentView(
                    name=name,
                    desired=int((dep.get("spec") or {}).get("replicas") or 0),
                    new_rs=new_name,
                    new_ready=int(new_status.get("readyReplicas") or 0),
                    new_replicas=int(new_status.get("replicas") or 0),
                    old=old,
                    pods=pod_views,
                )
            )
        events, _ = await self.api.list(ev_rt, self.namespace)
        warnings = []
        for ev in sorted(events, key=_event_time):
            obj = ev.get("involvedObject") or {}
            if ev.get("type") != "Warning" or obj.get("name") not in involved or _event_time(ev) < self.since:
                continue
            warnings.append(f"{obj.get('kind')} {obj.get('name')}: {ev.get('reason')}: {ev.get('message')}")
        await self.pod_logs.collect(seen_pods)
        names = {str((p.get("metadata") or {}).get("name") or "") for p in seen_pods}
        logs = tuple(e for pod, e in sorted(self.pod_logs.latest.items()) if pod in names)
        self.last = Snapshot(tuple(views), tuple(dict.fromkeys(warnings)), logs)
        return self.last

    def lines(self, snapshot: Snapshot | None = None) -> list[str]:
        """The lines describing ``snapshot`` (default: the last read) that were not returned before."""
        snap = snapshot or self.last
        out = []
        for d in snap.deployments:
            old = ", ".join(f"{n} ({r} pods)" for n, r in d.old) or "none"
            if not d.new_rs:
                out.append(f"{d.name}: waiting for the deployment controller; old: {old}")
                continue
            out.append(f"{d.name}: new ReplicaSet {d.new_rs} {d.new_ready}/{d.desired} ready; old: {old}")
            out += [f"  pod {p.name} not ready: {p.problem}" for p in d.pods if not p.ready and p.problem]
        out += [f"  warning {w}" for w in snap.warnings]
        fresh = [line for line in out if line not in self._printed]
        self._printed.update(fresh)
        for e in snap.logs:  # by (pod, container, restart): the same text after a restart is news again
            if (e.pod, e.container, e.restarts) not in self._printed_logs:
                self._printed_logs.add((e.pod, e.container, e.restarts))
                which = "previous instance" if e.previous else "current instance"
                fresh.append(f"  pod {e.pod} container {e.container}, restart {e.restarts} ({which}), "
                             "last log lines:")  # fmt: skip
                fresh += [f"    | {line}" for line in e.lines]
        return fresh

    def table(self, snapshot: Snapshot | None = None) -> list[tuple[str, str, str]]:
        """Rows ``(deployment, ready, detail)`` for a live display."""
        snap = snapshot or self.last
        rows = []
        for d in snap.deployments:
            logs = {e.pod: e for e in snap.logs}
            failing = [
                f"{p.name}: {p.problem}" + (f" (log: {logs[p.name].lines[-1]})" if p.name in logs else "")
                for p in d.pods
                if not p.ready and p.problem
            ]
            old = ", ".join(f"{n} ({r})" for n, r in d.old)
            detail = f"new {d.new_rs or '-'}" + (f"; old {old}" if old else "")
            rows.append((d.name, f"{d.new_ready}/{d.desired}", "; ".join([detail, *failing[:3]])))
        return rows

    def failure(self, snapshot: Snapshot | None = None) -> str:
        """The most specific reason the rollout is not done (see the module docstring), or ``""``."""
        snap = snapshot or self.last
        for d in snap.deployments:
            fresh = [p for p in d.pods if p.replicaset == d.new_rs and not p.ready and p.problem]
            waiting = [p for p in fresh if not p.problem.startswith(("ContainersNotReady", "Pending"))]
            for group in (waiting, fresh):
                if group:
                    logs = {e.pod: e for e in snap.logs}
                    with_logs = [p for p in group if p.name in logs] or group
                    p = with_logs[0]
                    excerpt = f"; {logs[p.name].one_line()}" if p.name in logs else ""
                    return f"pods not ready: {p.name}: {p.problem}{excerpt}"
        if snap.warnings:
            return snap.warnings[-1]
        return ""

    def log_excerpt(self, snapshot: Snapshot | None = None) -> str:
        """The last log lines of a failing pod of a new ReplicaSet (one line), or ``""``."""
        snap = snapshot or self.last
        logs = {e.pod: e for e in snap.logs}
        for d in snap.deployments:
            for p in d.pods:
                if p.replicaset == d.new_rs and not p.ready and p.name in logs:
                    return logs[p.name].one_line()
        return ""
