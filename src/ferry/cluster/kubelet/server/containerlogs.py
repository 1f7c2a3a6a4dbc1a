"""``GET /containerLogs/{namespace}/{pod}/{container}``: which file to read and how, as the kubelet decides it.

The API server has already picked and checked the container name (``pods/log``); what is left is the
kubelet's part (``kubelet.validateContainerLogStatus`` and ``server.getContainerLogs``), kept free of I/O here so
every rule is a unit test:

* :func:`parse_log_options` — the ``PodLogOptions`` query (``follow``, ``previous``, ``timestamps``,
  ``tailLines`` (or the legacy ``tail``, ``all`` = no limit), ``sinceSeconds``, ``sinceTime``, ``limitBytes``).
  A value that does not parse is ``LogRequestError(400, "Unable to decode query.")``; one that fails
  ``ValidatePodLogOptions`` is ``LogRequestError(422, "Invalid request.")`` — the kubelet's own words.
* :func:`pick_instance` — from the pod's ``status.containerStatuses`` (the kubelet's view), which instance's log
  to serve, or the error the kubelet gives, in its order: ``previous`` needs ``lastState.terminated``; a running
  or terminated container is served; a waiting one that ran before serves its last run; otherwise
  ``container "c" in pod "p" is waiting to start: <reason>`` (ErrImagePull and ImagePullBackOff get kube's
  friendlier wording).

**Instance numbering** (the contract with the runtime's :func:`~ferry.cluster.kubelet.runtime.log_path`): the
latest started instance, whose id is the status' top-level ``containerID``, writes ``<restartCount>.log``; the
one before it ``restartCount - 1``. A run named by ``lastState.terminated.containerID`` is therefore the latest
(``restartCount``) when that id equals ``containerID`` — the process kubelet in back-off, where the instance that
just died is still the latest — and the one before otherwise (a new run has started since).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ferry.cluster.kubelet.runtime.logs import parse_timestamp

__all__ = [
    "ContainerInstance",
    "LogOptions",
    "LogRequestError",
    "parse_log_options",
    "pick_instance",
    "still_live",
]


class LogRequestError(Exception):
    """A request the kubelet answers with ``status`` and a plain-text ``message`` (as ``WriteError`` does)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class LogOptions:
    """``v1.PodLogOptions`` as the kubelet sees it; ``since_ns`` is absolute (epoch nanoseconds)."""

    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_ns: int | None = None
    limit_bytes: int | None = None


@dataclass(frozen=True)
class ContainerInstance:
    """Which run of the container to serve: ``restart_count`` names its log file; ``live`` means it may grow."""

    pod_uid: str
    container: str
    restart_count: int
    live: bool


def _bool(query: Any, key: str) -> bool:
    value = query.get(key)
    if value is None:
        return False
    if value in ("true", "True", "1", ""):
        return True
    if value in ("false", "False", "0"):
        return False
    raise LogRequestError(400, "Unable to decode query.")


def _int(query: Any, key: str) -> int | None:
    value = query.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise LogRequestError(400, "Unable to decode query.") from None


def parse_log_options(query: Any, *, now_ns: int | None = None) -> LogOptions:
    """The query of a ``/containerLogs`` request (a ``Mapping[str, str]``), decoded and validated."""
    tail = query.get("tail")
    if tail is not None and query.get("tailLines") is None:
        query = (
            {**query, "tailLines": tail} if tail != "all" else {k: v for k, v in query.items() if k != "tail"}
        )
    tail_lines, since_seconds, limit_bytes = (
        _int(query, "tailLines"),
        _int(query, "sinceSeconds"),
        _int(query, "limitBytes"),
    )
    since_time = query.get("sinceTime")
    since_ns: int | None = None
    if since_time is not None:
        try:
            since_ns = parse_timestamp(since_time)
        except ValueError:
            raise LogRequestError(400, "Unable to decode query.") from None
    invalid = (
        (tail_lines is not None and tail_lines < 0)
        or (limit_bytes is not None and limit_bytes < 1)
        or (since_seconds is not None and since_time is not None)
        or (since_seconds is not None and since_seconds < 1)
    )
    if invalid:
        raise LogRequestError(422, "Invalid request.")
    if since_seconds is not None:
        since_ns = (time.time_ns() if now_ns is None else now_ns) - since_seconds * 1_000_000_000
    return LogOptions(
        follow=_bool(query, "follow"),
        previous=_bool(query, "previous"),
        timestamps=_bool(query, "timestamps"),
        tail_lines=tail_lines,
        since_ns=since_ns,
        limit_bytes=limit_bytes,
    )


def _status_of(pod: dict[str, Any], container: str) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(key) or []:
            if isinstance(cs, dict) and cs.get("name") == container:
                return cs
    return None


def _has_container(pod: dict[str, Any], container: str) -> bool:
    spec = pod.get("spec") or {}
    return any(
        isinstance(c, dict) and c.get("name") == container
        for key in ("containers", "initContainers", "ephemeralContainers")
        for c in spec.get(key) or []
    )


def pick_instance(pod: dict[str, Any], container: str, *, previous: bool) -> ContainerInstance:
    """The instance whose log to serve (see the module docstring), or the kubelet's ``LogRequestError``."""
    meta = pod.get("metadata") or {}
    name, uid = str(meta.get("name", "")), str(meta.get("uid", ""))
    if not _has_container(pod, container):
        raise LogRequestError(404, f'container "{container}" not found in pod "{name}"')
    cs = _status_of(pod, container)
    if cs is None:
        raise LogRequestError(400, f'container "{container}" in pod "{name}" is not available')
    restarts = int(cs.get("restartCount") or 0)
    latest_id = cs.get("containerID") or ""

    def run_of(container_id: str) -> int:
        return restarts if container_id and container_id == latest_id else restarts - 1

    state, last = cs.get("state") or {}, (cs.get("lastState") or {}).get("terminated")
    running, terminated, waiting = state.get("running"), state.get("terminated"), state.get("waiting")
    if previous:
        if not isinstance(last, dict) or not last.get("containerID"):
            raise LogRequestError(
                400, f'previous terminated container "{container}" in pod "{name}" not found'
            )
        return ContainerInstance(uid, container, run_of(str(last["containerID"])), live=False)
    if running is not None:
        return ContainerInstance(uid, container, restarts, live=True)
    if terminated is not None:
        if terminated.get("containerID"):
            return ContainerInstance(uid, container, restarts, live=False)
        if isinstance(last, dict) and last.get("containerID"):
            return ContainerInstance(uid, container, run_of(str(last["containerID"])), live=False)
        raise LogRequestError(400, f'container "{container}" in pod "{name}" is terminated')
    if isinstance(last, dict):
        if not last.get("containerID"):
            raise LogRequestError(400, f'container "{container}" in pod "{name}" is terminated')
        return ContainerInstance(uid, container, run_of(str(last["containerID"])), live=False)
    if waiting is not None:
        reason = waiting.get("reason") or ""
        if reason == "ErrImagePull":
            reason = "image can't be pulled"
        elif reason == "ImagePullBackOff":
            reason = "trying and failing to pull image"
        raise LogRequestError(400, f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    raise LogRequestError(400, f'container "{container}" in pod "{name}" is waiting to start - no logs yet')


def still_live(pod: dict[str, Any] | None, instance: ContainerInstance) -> bool:
    """Whether ``instance`` is still the running run of its container (``follow`` stops once it is not)."""
    if pod is None or str((pod.get("metadata") or {}).get("uid", "")) != instance.pod_uid:
        return False
    cs = _status_of(pod, instance.container)
    if cs is None or (cs.get("state") or {}).get("running") is None:
        return False
    return int(cs.get("restartCount") or 0) == instance.restart_count
