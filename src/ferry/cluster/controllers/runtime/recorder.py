"""The event recorder: core/v1 Events written as client-go's ``tools/record`` writes them.

``event(obj, type, reason, message)`` never blocks and never raises into the controller: it builds the
Event (name ``<object name>.<unix nanos in hex>``, ``involvedObject`` = a reference to the object,
``source.component`` = ``reportingComponent`` = the controller's name, ``firstTimestamp`` =
``lastTimestamp`` = now, ``count`` 1) and puts it on a bounded queue (1,000; overflow is dropped with a
log line, as client-go does). One background task drains the queue through the *correlator* and the
API, in order:

1. **aggregate** — events that differ only in their message (same source, object, type, reason): once
   10 distinct messages were seen within 10 minutes, further ones are folded into one Event whose
   message is ``(combined from similar events): <latest message>``;
2. **dedupe** — an event identical to one already written (same source, object, type, reason, message)
   is not created again: the existing Event is PATCHed (strategic merge) with ``count`` + 1, the new
   ``lastTimestamp`` and the message; if that Event is gone (404) it is created again. Like client-go's
   LRU ``eventLogger`` this remembers the last 4,096 distinct events with no time limit;
3. **spam filter** — per source and object a token bucket of 25 events refilled at one per 5 minutes;
   events beyond it are dropped (a crash-looping pod must not flood the store).

Write errors: a Status answer (AlreadyExists, Invalid, namespace terminating, ...) abandons the event;
a transport failure is retried up to 12 times, 10 s apart (the first wait randomized). Names use the
clock's time in nanoseconds, made strictly increasing per recorder so that two events in the same
instant (a fake clock in tests, a coarse clock in production) never collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from ferry.cluster.controllers.runtime.types import ApiStatusError, Client, Clock, Obj, SystemClock

log = logging.getLogger("ferry.controllers.events")

EVENTS = "v1/events"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class RecorderSettings:
    queue_size: int = 1000
    cache_size: int = 4096
    aggregate_max_events: int = 10
    aggregate_interval_seconds: float = 600.0
    spam_burst: int = 25
    spam_qps: float = 1.0 / 300.0
    max_tries: int = 12
    retry_sleep_seconds: float = 10.0


def namespace_terminating(e: ApiStatusError) -> bool:
    """A rejection because the namespace is being deleted (nothing to retry). kube marks it with a
    ``NamespaceTerminating`` cause; ferry's server (for now) only with kube's message."""
    causes = ((e.status.get("details") or {}).get("causes")) or []
    marked = any(isinstance(c, dict) and c.get("type") == "NamespaceTerminating" for c in causes)
    return marked or (e.code == 403 and "because it is being terminated" in str(e))


def timestamp(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_reference(obj: Obj) -> Obj:
    """A core/v1 ObjectReference to ``obj`` (empty fields omitted, as Go's JSON does)."""
    m = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind"),
        "namespace": m.get("namespace"),
        "name": m.get("name"),
        "uid": m.get("uid"),
        "apiVersion": obj.get("apiVersion"),
        "resourceVersion": m.get("resourceVersion"),
    }
    return {k: v for k, v in ref.items() if v}


class _LRU(OrderedDict[str, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_entry(self, key: str) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


def _event_key(ev: Obj) -> str:
    src, ref = ev.get("source") or {}, ev.get("involvedObject") or {}
    parts = [src.get("component"), src.get("host"), ref.get("kind"), ref.get("namespace"), ref.get("name")]
    parts += [ref.get("fieldPath"), ref.get("uid"), ref.get("apiVersion"), ev.get("type"), ev.get("reason")]
    return "".join(str(p or "") for p in [*parts, ev.get("message")])


def _object_key(ev: Obj) -> str:
    src, ref = ev.get("source") or {}, ev.get("involvedObject") or {}
    parts = [src.get("component"), src.get("host"), ref.get("kind"), ref.get("namespace"), ref.get("name")]
    return "".join(str(p or "") for p in [*parts, ref.get("uid"), ref.get("apiVersion")])


class EventCorrelator:
    """Aggregation, dedupe and spam filtering (client-go's ``EventCorrelator``), pure and synchronous."""

    def __init__(self, clock: Clock, settings: RecorderSettings, names: _Names) -> None:
        self.clock = clock
        self.settings = settings
        self._names = names
        self._aggregates = _LRU(settings.cache_size)  # aggregate key -> (message set, last time)
        self._seen = _LRU(settings.cache_size)  # event key -> (count, firstTimestamp, name)
        self._spam = _LRU(settings.cache_size)  # object key -> (tokens, last time)

    def correlate(self, event: Obj) -> tuple[Obj, Obj | None] | None:
        """The Event to write and the patch for an existing one (None: create), or None to drop it."""
        s, now = self.settings, self.clock.now()
        ev, key = event, _event_key(event)
        agg_key = _object_key(event) + str(event.get("type")) + str(event.get("reason"))
        agg_key += str(event.get("reportingComponent", "")) + str(event.get("reportingInstance", ""))
        record = self._aggregates.get_entry(agg_key)
        if record is None or (now - record[1]).total_seconds() > s.aggregate_interval_seconds:
            record = (set(), now)
        messages: set[str] = record[0]
        messages.add(str(event.get("message", "")))
        self._aggregates.put(agg_key, (messages, now))
        if len(messages) >= s.aggregate_max_events:
            messages.pop()
            ref = event["involvedObject"]
            ev = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": f"{ref.get('name')}.{self._names.nanos(now):x}",
                    "namespace": event["metadata"]["namespace"],
                },
                "involvedObject": ref,
                "reason": event.get("reason"),
                "message": "(combined from similar events): " + str(event.get("message", "")),
                "source": event.get("source"),
                "firstTimestamp": timestamp(now),
                "lastTimestamp": timestamp(now),
                "count": 1,
                "type": event.get("type"),
                "eventTime": None,
                "reportingComponent": "",
                "reportingInstance": "",
            }
            key = agg_key
        patch = None
        seen = self._seen.get_entry(key)
        if seen is not None:
            ev = copy.deepcopy(ev)
            ev["count"], ev["firstTimestamp"], ev["metadata"]["name"] = seen[0] + 1, seen[1], seen[2]
            patch = {"count": ev["count"], "lastTimestamp": ev["lastTimestamp"], "message": ev["message"]}
        self._seen.put(key, (ev["count"], ev["firstTimestamp"], ev["metadata"]["name"]))
        if not self._accept(_object_key(ev), now):
            return None
        return ev, patch

    def _accept(self, key: str, now: dt.datetime) -> bool:
        s = self.settings
        tokens, last = self._spam.get_entry(key) or (float(s.spam_burst), now)
        tokens = min(float(s.spam_burst), tokens + max(0.0, (now - last).total_seconds()) * s.spam_qps)
        accepted = tokens >= 1.0
        self._spam.put(key, (tokens - 1.0 if accepted else tokens, now))
        return accepted

    def update_state(self, written: Obj) -> None:
        """Remember the server's copy (name, count) of an Event just written."""
        m = written.get("metadata") or {}
        first = written.get("firstTimestamp")
        self._seen.put(_event_key(written), (int(written.get("count") or 1), first, m.get("name")))


class _Names:
    """Unix nanoseconds of the clock, strictly increasing (unique Event names)."""

    def __init__(self) -> None:
        self.last = 0

    def nanos(self, t: dt.datetime) -> int:
        n = ((t - _EPOCH) // dt.timedelta(microseconds=1)) * 1000
        self.last = max(n, self.last + 1)
        return self.last


class EventRecorder:
    """Implements :class:`~.types.EventRecorder` over a :class:`~.types.Client` (see module docstring)."""

    def __init__(
        self,
        client: Client,
        component: str,
        *,
        clock: Clock | None = None,
        host: str = "",
        settings: RecorderSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self._sleep = sleep
        self.component = component
        self.host = host
        self.clock: Clock = clock or SystemClock()
        self.settings = settings or RecorderSettings()
        self._names = _Names()
        self.correlator = EventCorrelator(self.clock, self.settings, self._names)
        self._queue: asyncio.Queue[Obj] = asyncio.Queue(self.settings.queue_size)
        self._task: asyncio.Task[None] | None = None

    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        try:
            if type_ not in ("Normal", "Warning"):
                log.error("unsupported event type %r (reason %s), dropped", type_, reason)
                return
            ref = object_reference(obj)
            now = self.clock.now()
            source = {"component": self.component, **({"host": self.host} if self.host else {})}
            ev: Obj = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": f"{ref.get('name', '')}.{self._names.nanos(now):x}",
                    "namespace": ref.get("namespace") or "default",
                },
                "involvedObject": ref,
                "reason": reason,
                "message": message,
                "source": source,
                "firstTimestamp": timestamp(now),
                "lastTimestamp": timestamp(now),
                "count": 1,
                "type": type_,
                "eventTime": None,
                "reportingComponent": self.component,
                "reportingInstance": self.host,
            }
            self._queue.put_nowait(ev)
            self.start()
        except asyncio.QueueFull:
            log.error("too many queued events, dropped %s %s: %s", type_, reason, message)
        except Exception:
            log.exception("could not record event %s %s", type_, reason)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"events {self.component}")

    async def flush(self) -> None:
        """Wait until every queued event has been written (or abandoned)."""
        await self._queue.join()

    async def close(self, *, timeout_seconds: float = 2.0) -> None:
        """Flush briefly, then stop the writer task."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_seconds):
                await self.flush()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            ev = await self._queue.get()
            try:
                await self._record(ev)
            except Exception:
                log.exception("writing event %s failed", ev.get("reason"))
            finally:
                self._queue.task_done()

    async def _record(self, ev: Obj) -> None:
        result = self.correlator.correlate(ev)
        if result is None:
            return
        event, patch = result
        for attempt in range(1, self.settings.max_tries + 1):
            if await self._write(event, patch):
                return
            delay = self.settings.retry_sleep_seconds * (random.random() if attempt == 1 else 1.0)
            await self._sleep(delay)
        log.error(
            "unable to write event %s %s (retry limit exceeded)", event.get("reason"), event.get("message")
        )

    async def _write(self, event: Obj, patch: Obj | None) -> bool:
        """True when done with the event (written or abandoned), False to retry."""
        ns, name = event["metadata"]["namespace"], event["metadata"]["name"]
        try:
            written = None
            if patch is not None:
                try:
                    written = await self.client.patch(EVENTS, ns, name, patch, patch_type="strategic")
                except ApiStatusError as e:
                    if not e.not_found:
                        raise
            if written is None:
                body = copy.deepcopy(event)
                body["metadata"].pop("resourceVersion", None)
                written = await self.client.create(EVENTS, ns, body)
        except ApiStatusError as e:
            level = logging.DEBUG if e.already_exists or namespace_terminating(e) else logging.WARNING
            log.log(level, "server rejected event %s/%s: %s (will not retry)", ns, name, e)
            return True
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            log.info("unable to write event %s/%s: %r (may retry)", ns, name, e)
            return False
        self.correlator.update_state(written)
        return True
