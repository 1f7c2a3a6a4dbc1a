"""A load generator for the rolling-update part of the demo: steady GETs of ``/`` against a Service.

Story 1 says: "under steady traffic through the Service during the update, no request fails". So the
generator counts every request, failed or not, and keeps which version answered each one, so the summary
can show the switch 1.0.0 → 1.0.1 over time and every failure with its reason.

Each request opens a **new connection** (like ``hey -disable-keepalive``): the Service proxy picks an
endpoint per connection, so this is the harsher test (a kept-alive connection stays on one pod and never sees
the endpoints change). ``workers`` threads each pace themselves to ``rate / workers`` requests per second;
the achieved rate is reported, not assumed.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Traffic", "TrafficReport"]


@dataclass
class TrafficReport:
    total: int
    failures: Counter[str]
    seconds: float
    # (second since start, version) for every successful answer, in order
    answers: list[tuple[float, str]] = field(default_factory=list)
    failure_times: list[float] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def rate(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else 0.0

    def timeline(self) -> list[str]:
        """Runs of seconds with the same set of versions: ``0-11 s: 1.0.0 (612 req)``."""
        buckets: dict[int, Counter[str]] = {}
        for at, version in self.answers:
            buckets.setdefault(int(at), Counter())[version] += 1
        for at in self.failure_times:
            buckets.setdefault(int(at), Counter())["FAILED"] += 1
        runs: list[tuple[int, int, str, Counter[str]]] = []
        for second in sorted(buckets):
            key = " + ".join(sorted(buckets[second]))
            if runs and runs[-1][2] == key:
                first, _, _, count = runs[-1]
                runs[-1] = (first, second, key, count + buckets[second])
            else:
                runs.append((second, second, key, Counter(buckets[second])))
        return [_run_line(*run) for run in runs]

    def lines(self) -> list[str]:
        out = [
            f"{self.total} requests in {self.seconds:.1f} s ({self.rate:.0f} req/s), {self.failed} failed",
            *("  " + line for line in self.timeline()),
        ]
        out += [f"  failure: {reason}: {n}" for reason, n in self.failures.most_common()]
        return out

    def versions(self) -> list[str]:
        """The versions that answered, in the order they first appeared."""
        seen: list[str] = []
        for _, version in self.answers:
            if version not in seen:
                seen.append(version)
        return seen


def _run_line(first: int, last: int, key: str, count: Counter[str]) -> str:
    span = f"{first} s" if first == last else f"{first}-{last} s"
    detail = ", ".join(f"{v}: {n}" for v, n in sorted(count.items()))
    return f"{span}: {key} ({detail})"


class Traffic:
    """Start with :meth:`start`, stop with :meth:`stop` (which returns the report)."""

    def __init__(
        self, host: str, port: int, *, rate: float = 80.0, workers: int = 8, timeout: float = 3.0
    ) -> None:
        self.host, self.port = host, port
        self.interval = workers / rate
        self.workers = workers
        self.timeout = timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._answers: list[tuple[float, str]] = []
        self._failures: Counter[str] = Counter()
        self._failure_times: list[float] = []
        self._total = 0
        self._started = 0.0

    def start(self) -> Traffic:
        self._started = time.monotonic()
        for i in range(self.workers):
            t = threading.Thread(target=self._work, args=(i,), name=f"traffic-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> TrafficReport:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 1)
        seconds = time.monotonic() - self._started
        with self._lock:
            return TrafficReport(
                self._total,
                Counter(self._failures),
                seconds,
                sorted(self._answers),
                list(self._failure_times),
            )

    def _work(self, index: int) -> None:
        # Spread the workers over one interval, then keep each one's own pace.
        next_at = time.monotonic() + self.interval * index / self.workers
        while not self._stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            next_at += self.interval
            self._one()

    def _one(self) -> None:
        at = time.monotonic() - self._started
        version, failure = None, None
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("GET", "/", headers={"Connection": "close"})
            resp = conn.getresponse()
            body = resp.read().decode(errors="replace").strip()
            if resp.status == 200:
                version = body
            else:
                failure = f"HTTP {resp.status} {body[:40]}"
        except (OSError, http.client.HTTPException) as e:
            failure = type(e).__name__ + (f": {e.strerror}" if isinstance(e, OSError) and e.strerror else "")
        finally:
            conn.close()
        with self._lock:
            self._total += 1
            if version is not None:
                self._answers.append((at, version))
            else:
                self._failures[failure or "unknown"] += 1
                self._failure_times.append(at)
