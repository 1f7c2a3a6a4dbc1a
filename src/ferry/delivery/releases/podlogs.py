"""Failing pods' last log lines, for the deploy progress and the failure reason (principle 5).

``PodLogs.collect(pods)`` looks at each pod's container statuses and decides which containers deserve a look
at their log, and which log to read:

* **crashing** — ``state.waiting.reason == CrashLoopBackOff`` (or ``RunContainerError``) after an exit, or a
  container running again whose ``lastState.terminated`` is ``Error``/``OOMKilled``/a non-zero exit: the log
  of the instance that died, ``previous=true``;
* **terminated** — ``state.terminated`` with ``Error``/``OOMKilled``/a non-zero exit (``restartPolicy:
  Never``, or the moment between an exit and the restart): its own log, ``previous=false``;
* **readiness failing for long** — running, not ready, started more than ``READINESS_GRACE_SECONDS`` ago:
  the current log;
* nothing for ``ImagePullBackOff``/``ErrImagePull``/``CreateContainerConfigError`` and the like: such a
  container never ran, there is no log to read.

Each (pod, container, restartCount) is read **once**: a crash loop with three restarts reads three logs,
never one per poll. The read is ``GET pods/<p>/log?container=<c>&tailLines=5[&previous=true]``
(``PodLogApi``). Any refusal is quiet: the sim runtime and a container not started yet answer 400 ``waiting
to start``, a pod deleted meanwhile 404, and a cluster without the verb (an API that does not implement
``PodLogApi``, RBAC without ``pods/log``) simply gives no lines. A refusal still counts as the one read for
that restart, so it is not retried every poll.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ferry.delivery.apply import ApplyError, KubeApi, PodLogApi

__all__ = ["READINESS_GRACE_SECONDS", "TAIL_LINES", "LogExcerpt", "PodLogs", "wanted_logs"]

TAIL_LINES = 5
READINESS_GRACE_SECONDS = 30.0
MAX_LINE_CHARS = 200
_FAILED = ("Error", "OOMKilled", "ContainerCannotRun", "DeadlineExceeded")


@dataclass(frozen=True)
class LogExcerpt:
    pod: str
    container: str
    restarts: int
    previous: bool
    lines: tuple[str, ...]

    def one_line(self) -> str:
        """``last log lines of web-1/web: boom | exiting`` (for a failure reason)."""
        return f"last log lines of {self.pod}/{self.container}: " + " | ".join(self.lines)


def _failed(terminated: Mapping[str, Any]) -> bool:
    return bool(terminated) and (
        terminated.get("reason") in _FAILED or int(terminated.get("exitCode") or 0) != 0
    )


def _parse(stamp: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None


def wanted_logs(pod: Mapping[str, Any], now: datetime) -> list[tuple[str, int, bool]]:
    """``(container, restartCount, previous)`` for each container of ``pod`` whose log tells why it fails."""
    out = []
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        name, restarts = str(cs.get("name") or ""), int(cs.get("restartCount") or 0)
        state, last = cs.get("state") or {}, (cs.get("lastState") or {}).get("terminated") or {}
        waiting, running = state.get("waiting") or {}, state.get("running")
        if waiting.get("reason") in ("CrashLoopBackOff", "RunContainerError") and last:
            out.append((name, restarts, True))
        elif _failed(state.get("terminated") or {}):
            out.append((name, restarts, False))
        elif running is not None and not cs.get("ready") and _failed(last):
            out.append((name, restarts, True))
        elif running is not None and not cs.get("ready"):
            started = _parse((running or {}).get("startedAt"))
            if started is not None and (now - started).total_seconds() > READINESS_GRACE_SECONDS:
                out.append((name, restarts, False))
    return out


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PodLogs:
    """Reads each failing container's log once per restart; ``latest`` keeps the newest excerpt per pod."""

    def __init__(self, api: KubeApi, namespace: str, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.api, self.namespace, self.clock = api, namespace, clock
        self._read: set[tuple[str, str, int]] = set()
        self.latest: dict[str, LogExcerpt] = {}

    async def collect(self, pods: Sequence[Mapping[str, Any]]) -> list[LogExcerpt]:
        """Read the logs ``pods`` call for that were not read before; returns the new excerpts (with lines)."""
        if not isinstance(self.api, PodLogApi):
            return []
        fresh = []
        for pod in pods:
            name = str((pod.get("metadata") or {}).get("name") or "")
            for container, restarts, previous in wanted_logs(pod, self.clock()):
                key = (name, container, restarts)
                if key in self._read:
                    continue
                self._read.add(key)
                text = ""
                with contextlib.suppress(ApplyError):  # module docstring: every refusal is quiet
                    text = await self.api.pod_log(
                        self.namespace, name, container=container, tail_lines=TAIL_LINES, previous=previous
                    )
                lines = tuple(line[:MAX_LINE_CHARS] for line in text.splitlines() if line.strip())
                if lines:
                    excerpt = LogExcerpt(name, container, restarts, previous, lines[-TAIL_LINES:])
                    self.latest[name] = excerpt
                    fresh.append(excerpt)
        return fresh
