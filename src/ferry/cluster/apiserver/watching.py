"""Watch streams: ``GET <collection>?watch=true``.

One newline-terminated JSON event per change, flushed as it happens, over a chunked HTTP/1.1 body:
``{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}``. Starting points, as kube defines them:

* ``resourceVersion`` unset or ``"0"``: synthetic ADDED events for the current objects, then changes;
* ``sendInitialEvents=true`` (WatchList; needs ``resourceVersionMatch=NotOlderThan`` and bookmarks): the
  same, then a BOOKMARK annotated ``k8s.io/initial-events-end: "true"`` — Helm's watcher waits for it;
* ``resourceVersion=N``: every change after N; if N is older than the compaction window the stream
  carries one ERROR event with a 410 ``Expired`` Status and ends (informers relist; ``kubectl get -w``
  prints it). The same happens mid-stream to a watcher that fell behind compaction.

Selectors filter with kube's transition rules: an object that stops matching is sent as DELETED, one
that starts matching as ADDED. ``timeoutSeconds`` ends the stream cleanly; without it the stream ends
after 30-60 minutes, like kube-apiserver's ``--min-request-timeout``. Bookmarks (if allowed) go out
when the stream is idle, carrying the latest revision the watcher has seen.

Events are read in batches and written with one ``write`` per batch, so a burst of 1,000 writes reaches
1,000 watchers as a few large chunks each rather than a million tiny ones.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from aiohttp import web

from ferry.cluster.apiserver import errors, table
from ferry.cluster.apiserver.context import ApiContext
from ferry.cluster.apiserver.handlers import selectors
from ferry.cluster.apiserver.listing import matches
from ferry.cluster.apiserver.objects import now_utc
from ferry.cluster.apiserver.parsed import parsed
from ferry.cluster.apiserver.routing import RequestInfo
from ferry.cluster.apiserver.selectors import FieldSelector, LabelSelector
from ferry.cluster.resources.types import Obj, ResourceType
from ferry.cluster.store import Compacted, Event

# Streams currently open. Each write to a watcher costs the event loop tens of microseconds (TLS,
# syscall), so with many watchers every commit would fan out into that many writes and starve the
# writers. A watcher that has just written therefore waits a little before collecting its next batch:
# nothing at all with a handful of watchers, up to 100 ms with 1,000 (the first event after a quiet
# period still goes out at once). Batches grow instead of writes multiplying.
_open_streams = 0
_COALESCE_PER_STREAM_SECONDS = 0.0001
_COALESCE_MAX_SECONDS = 0.1


def coalesce_delay() -> float:
    return min(_COALESCE_MAX_SECONDS, _open_streams * _COALESCE_PER_STREAM_SECONDS)


def _line(kind: bytes, raw: bytes) -> bytes:
    return b'{"type":"' + kind + b'","object":' + raw + b"}\n"


def _expired_line(requested: int, compacted: int) -> bytes:
    status = errors.expired(f"too old resource version: {requested} ({compacted})").status()
    return json.dumps({"type": "ERROR", "object": status}, separators=(",", ":")).encode() + b"\n"


class _Encoder:
    """Encodes events as plain objects or as one-row Tables (``kubectl get -w``)."""

    def __init__(self, rt: ResourceType, table_version: str | None, include: str) -> None:
        self.rt = rt
        self.table_version = table_version
        self.include = include
        self.columns_sent = False

    def encode(self, kind: str, raw: bytes, obj: Obj | None = None) -> bytes:
        if self.table_version is None:
            return _line(kind.encode(), raw)
        obj = obj if obj is not None else json.loads(raw)
        tbl = table.table(
            self.rt,
            [obj],
            now_utc(),
            version=self.table_version,
            list_meta={"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")},
            include=self.include,
            with_columns=not self.columns_sent,
        )
        self.columns_sent = True
        return json.dumps({"type": kind, "object": tbl}, separators=(",", ":")).encode() + b"\n"

    def bookmark(self, revision: int, *, initial_end: bool = False) -> bytes:
        md: dict[str, Any] = {"resourceVersion": str(revision)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self.rt.kind, "apiVersion": self.rt.api_version, "metadata": md}
        return json.dumps({"type": "BOOKMARK", "object": obj}, separators=(",", ":")).encode() + b"\n"


def _filter(
    rt: ResourceType,
    event: Event,
    labels: LabelSelector | None,
    fields: FieldSelector | None,
    namespace_prefix: str,
) -> tuple[str, bytes, Obj | None] | None:
    if not event.key.startswith(namespace_prefix):
        return None
    if labels is None and fields is None:
        return event.type, event.raw, None
    new = parsed(event.raw)
    new_ok = matches(rt, new, labels, fields)
    if event.type == "ADDED":
        return ("ADDED", event.raw, new) if new_ok else None
    old_ok = event.prev_raw is not None and matches(rt, parsed(event.prev_raw), labels, fields)
    if event.type == "DELETED":
        return ("DELETED", event.raw, new) if (old_ok or new_ok) else None
    if new_ok and old_ok:
        return "MODIFIED", event.raw, new
    if new_ok:
        return "ADDED", event.raw, new
    if old_ok:
        return "DELETED", event.raw, new
    return None


def _timeout(request: web.Request, ctx: ApiContext) -> float:
    raw = request.query.get("timeoutSeconds")
    if raw:
        try:
            value = float(int(raw))
        except ValueError:
            raise errors.bad_request(f'invalid timeoutSeconds "{raw}"')
        if value > 0:
            return value
    base = ctx.settings.min_watch_timeout_seconds
    return base * (1 + random.random())


async def watch(request: web.Request, ctx: ApiContext, info: RequestInfo) -> web.StreamResponse:
    q = request.query
    labels, fields = selectors(request, info)
    rv_raw = q.get("resourceVersion", "")
    send_initial = q.get("sendInitialEvents") == "true"
    bookmarks = q.get("allowWatchBookmarks") == "true"
    if send_initial:
        errs = []
        if q.get("resourceVersionMatch") != "NotOlderThan":
            errs.append(
                errors.forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                )
            )
        if not bookmarks:
            errs.append(
                errors.forbidden(
                    "allowWatchBookmarks",
                    "allowWatchBookmarks must be set to true when sendInitialEvents is set",
                )
            )
        if errs:
            raise errors.invalid("ListOptions", "meta.k8s.io", "", errs)
    elif q.get("resourceVersionMatch"):
        raise errors.invalid(
            "ListOptions",
            "meta.k8s.io",
            "",
            [
                errors.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                )
            ],
        )
    after: int | None = None
    if rv_raw and rv_raw != "0":
        try:
            after = int(rv_raw)
            if after < 0:
                raise ValueError
        except ValueError:
            raise errors.bad_request(f'invalid resource version "{rv_raw}"')
    deadline = time.monotonic() + _timeout(request, ctx)
    accept = request.headers.get("Accept", "")
    encoder = _Encoder(info.rt, table.wants_table(accept), q.get("includeObject", "Metadata"))
    prefix = info.rt.store_prefix(info.namespace)
    store = ctx.store

    resp = web.StreamResponse(
        status=200, headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
    )
    resp.enable_chunked_encoding()
    initial: list[bytes] = []
    if after is None or send_initial:
        entries, start_rev, watcher = store.snapshot_and_watch(store_prefix(info.rt))
        if send_initial and after is not None and after > start_rev:
            watcher.close()
            raise errors.timeout(f"Too large resource version: {after}, current: {start_rev}")
        for e in entries:
            if not e.key.startswith(prefix):
                continue
            obj = None
            if labels is not None or fields is not None:
                obj = parsed(e.raw)
                if not matches(info.rt, obj, labels, fields):
                    continue
            initial.append(encoder.encode("ADDED", e.raw, obj))
        if send_initial:
            initial.append(encoder.bookmark(start_rev, initial_end=True))
    else:
        try:
            watcher = store.watch(store_prefix(info.rt), after_rev=after)
        except Compacted as c:
            await resp.prepare(request)
            await resp.write(_expired_line(c.requested, c.compacted))
            await resp.write_eof()
            return resp
    global _open_streams
    _open_streams += 1
    try:
        await resp.prepare(request)
        if initial:
            await resp.write(b"".join(initial))
        else:
            # Send the headers now: clients (kubectl -w) consider the watch established on the first byte.
            await resp.write(b"")
        interval = ctx.settings.watch_bookmark_interval_seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch = await watcher.next_batch(timeout=min(remaining, interval))
            except Compacted as c:
                await resp.write(_expired_line(c.requested, c.compacted))
                break
            if not batch:
                if bookmarks and time.monotonic() < deadline:
                    await resp.write(encoder.bookmark(watcher.cursor))
                continue
            out = []
            for event in batch:
                picked = _filter(info.rt, event, labels, fields, prefix)
                if picked is not None:
                    out.append(encoder.encode(picked[0], picked[1], picked[2]))
            if out:
                await resp.write(b"".join(out))
                delay = coalesce_delay()
                if delay > 0.001:
                    await asyncio.sleep(delay)
    except (ConnectionResetError, ConnectionError):
        return resp
    finally:
        _open_streams -= 1
        watcher.close()
    try:
        await resp.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass
    return resp


def store_prefix(rt: ResourceType) -> str:
    """Watchers subscribe per resource; namespace filtering happens on the event key."""
    return rt.store_prefix(None)
