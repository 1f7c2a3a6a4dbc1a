"""The informer's loop against a scripted list/watch client: relist diffs, 410 and other watch errors,
resume after a dropped stream, back-off, bookmarks, handler isolation, late handlers, the lister."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest

from ferry.cluster.controllers.runtime.informer import Informer, InformerFactory
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj

EXPIRED = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}


def obj(name: str, rv: int, ns: str | None = "default", **data: str) -> Obj:
    meta: dict[str, Any] = {"name": name, "resourceVersion": str(rv)}
    if ns:
        meta["namespace"] = ns
    return {"metadata": meta, "data": data}


class ScriptedClient:
    """``lists``/``watches`` are consumed in order; an Exception entry is raised. A watch script is a
    list of (type, obj) events, possibly ending with an Exception raised mid-stream. When the scripts
    run out, ``watch`` blocks until the test stops the informer."""

    def __init__(self, lists: list[Any], watches: list[Any]) -> None:
        self.lists = lists
        self.watches = watches
        self.watch_rvs: list[str] = []
        self.idle = asyncio.Event()

    async def list(self, resource: str, namespace: str | None, **kw: Any) -> tuple[list[Obj], str]:
        step = self.lists.pop(0)
        if isinstance(step, Exception):
            raise step
        items, rv = step
        return list(items), rv

    async def watch(
        self, resource: str, namespace: str | None, resource_version: str, **kw: Any
    ) -> AsyncGenerator[tuple[str, Obj], None]:
        self.watch_rvs.append(resource_version)
        if not self.watches:
            self.idle.set()
            await asyncio.Event().wait()
        step = self.watches.pop(0)
        if isinstance(step, Exception):
            raise step
        for event in step:
            if isinstance(event, Exception):
                raise event
            yield event


class Calls:
    def __init__(self) -> None:
        self.log: list[tuple[str, ...]] = []

    def add(self, o: Obj) -> None:
        self.log.append(("add", o["metadata"]["name"], o["metadata"]["resourceVersion"]))

    def update(self, old: Obj, new: Obj) -> None:
        self.log.append(
            (
                "update",
                new["metadata"]["name"],
                old["metadata"]["resourceVersion"],
                new["metadata"]["resourceVersion"],
            )
        )

    def delete(self, o: Obj) -> None:
        self.log.append(("delete", o["metadata"]["name"], o["metadata"]["resourceVersion"]))


async def run_until_idle(client: ScriptedClient, informer: Informer) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(informer.run(stop))
    await asyncio.wait_for(client.idle.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)


def make(client: ScriptedClient, calls: Calls, slept: list[float] | None = None) -> Informer:
    async def sleep(seconds: float) -> None:
        if slept is not None:
            slept.append(seconds)

    informer = Informer(client, "v1/configmaps", sleep=sleep)
    informer.add_handler(calls.add, calls.update, calls.delete)
    return informer


async def test_watch_events_move_cache_and_resource_version() -> None:
    client = ScriptedClient(
        [([obj("a", 1)], "5")],
        [
            [
                ("ADDED", obj("b", 6)),
                ("MODIFIED", obj("a", 7)),
                ("BOOKMARK", {"metadata": {"resourceVersion": "9"}}),
                ("DELETED", obj("b", 10)),
            ]
        ],
    )
    calls = Calls()
    informer = make(client, calls)
    await run_until_idle(client, informer)
    assert calls.log == [
        ("add", "a", "1"),
        ("add", "b", "6"),
        ("update", "a", "1", "7"),
        ("delete", "b", "10"),
    ]
    assert client.watch_rvs == ["5", "10"]  # resumed from the last event after the stream ended
    assert informer.lists == 1 and informer.has_synced()


async def test_bookmark_only_moves_the_resource_version() -> None:
    client = ScriptedClient([([], "5")], [[("BOOKMARK", {"metadata": {"resourceVersion": "42"}})]])
    calls = Calls()
    await run_until_idle(client, make(client, calls))
    assert calls.log == []
    assert client.watch_rvs == ["5", "42"]


async def test_410_relists_and_fires_only_the_differences() -> None:
    before = [obj("keep", 1), obj("change", 2), obj("remove", 3)]
    after = [obj("change", 8), obj("keep", 1), obj("new", 9)]
    client = ScriptedClient([(before, "3"), (after, "9")], [[("ERROR", EXPIRED)]])
    calls = Calls()
    informer = make(client, calls)
    await run_until_idle(client, informer)
    assert calls.log[3:] == [("update", "change", "2", "8"), ("add", "new", "9"), ("delete", "remove", "3")]
    assert informer.lists == 2
    assert client.watch_rvs == ["3", "9"]
    assert [o["metadata"]["name"] for o in informer.list()] == ["change", "keep", "new"]


async def test_a_watch_that_cannot_start_with_410_relists_at_once() -> None:
    slept: list[float] = []
    client = ScriptedClient([([], "3"), ([], "4")], [ApiStatusError(EXPIRED)])
    informer = make(client, Calls(), slept)
    await run_until_idle(client, informer)
    assert informer.lists == 2 and slept == []


async def test_other_watch_errors_relist_after_a_pause() -> None:
    slept: list[float] = []
    error = {"kind": "Status", "code": 500, "reason": "InternalError", "message": "boom"}
    client = ScriptedClient([([], "3"), ([], "4"), ([], "5")], [ApiStatusError(error), [("ERROR", error)]])
    informer = make(client, Calls(), slept)
    await run_until_idle(client, informer)
    assert informer.lists == 3
    assert slept == [0.8]  # a refused watch backs off; an ERROR event relists at once, like client-go
    assert client.watch_rvs == ["3", "4", "5"]


async def test_a_dropped_stream_resumes_from_the_last_event_with_back_off() -> None:
    slept: list[float] = []
    client = ScriptedClient(
        [([], "3")],
        [
            [("ADDED", obj("a", 4)), aiohttp.ClientPayloadError("reset")],
            aiohttp.ClientConnectionError("refused"),
            [("ADDED", obj("b", 6))],
        ],
    )
    calls = Calls()
    informer = make(client, calls, slept)
    await run_until_idle(client, informer)
    assert informer.lists == 1  # no relist: nothing was lost
    assert client.watch_rvs == ["3", "4", "4", "6"]
    assert slept == [0.8, 1.6]  # doubling; reset after the next good stream
    assert [c[:2] for c in calls.log] == [("add", "a"), ("add", "b")]


async def test_a_failed_list_is_retried() -> None:
    slept: list[float] = []
    boom = {"kind": "Status", "code": 503, "reason": "ServiceUnavailable", "message": "later"}
    client = ScriptedClient([ApiStatusError(boom), OSError("refused"), ([obj("a", 1)], "1")], [])
    calls = Calls()
    informer = make(client, calls, slept)
    await run_until_idle(client, informer)
    assert calls.log == [("add", "a", "1")]
    assert slept == [0.8, 1.6]


async def test_a_failing_handler_does_not_disturb_the_others() -> None:
    client = ScriptedClient([([obj("a", 1)], "1")], [[("MODIFIED", obj("a", 2))]])
    calls = Calls()
    informer = Informer(client, "v1/configmaps")

    def broken(*objs: Obj) -> None:
        raise RuntimeError("handler bug")

    informer.add_handler(broken, broken, broken)
    informer.add_handler(calls.add, calls.update, calls.delete)
    await run_until_idle(client, informer)
    assert calls.log == [("add", "a", "1"), ("update", "a", "1", "2")]


async def test_a_late_handler_is_replayed_the_cache() -> None:
    client = ScriptedClient([([obj("b", 2), obj("a", 1)], "2")], [])
    informer = Informer(client, "v1/configmaps")
    await run_until_idle(client, informer)
    late = Calls()
    informer.add_handler(late.add)
    assert late.log == [("add", "a", "1"), ("add", "b", "2")]


def test_lister_indexes_by_namespace_and_returns_shared_objects() -> None:
    informer = Informer(ScriptedClient([], []), "v1/configmaps")
    a2, b1, a1, node = obj("a", 1, "ns2"), obj("b", 2, "ns1"), obj("a", 3, "ns1"), obj("n", 4, None)
    informer.replace([a2, b1, a1, node], "4")
    assert informer.get("ns1", "a") is a1
    assert informer.get(None, "n") is node and informer.get("", "n") is node
    assert informer.list("ns1") == [a1, b1]
    assert informer.list() == [node, a1, b1, a2]
    assert informer.list(None, lambda o: o["metadata"]["name"] == "a") == [a1, a2]
    assert len(informer) == 4
    informer.apply("DELETED", obj("b", 5, "ns1"))
    assert informer.list("ns1") == [a1]
    assert informer.list() == [node, a1, a2]
    informer.apply("ADDED", obj("c", 6, "ns3"))
    assert [o["metadata"]["name"] for o in informer.list()] == ["n", "a", "a", "c"]
    returned = informer.list("ns1")
    returned.clear()  # callers get a fresh list each time
    assert informer.list("ns1") == [a1]


async def test_factory_shares_one_informer_per_resource() -> None:
    factory = InformerFactory(ScriptedClient([], []))
    assert factory.informer("v1/pods") is factory.informer("v1/pods")
    assert factory.informer("v1/pods") is not factory.informer("apps/v1/replicasets")


@pytest.mark.parametrize("type_", ["ADDED", "MODIFIED"])
def test_an_add_for_a_cached_object_is_an_update(type_: str) -> None:
    informer = Informer(ScriptedClient([], []), "v1/configmaps")
    calls = Calls()
    informer.add_handler(calls.add, calls.update, calls.delete)
    informer.replace([obj("a", 1)], "1")
    informer.apply(type_, obj("a", 2))
    assert calls.log == [("add", "a", "1"), ("update", "a", "1", "2")]


async def test_an_empty_stream_that_ends_at_once_backs_off_instead_of_spinning() -> None:
    slept: list[float] = []
    client = ScriptedClient([([], "3")], [[], [], [("ADDED", obj("a", 4))]])
    informer = make(client, Calls(), slept)
    await run_until_idle(client, informer)
    assert slept == [0.8, 1.6]
    assert client.watch_rvs == ["3", "3", "3", "4"] and informer.lists == 1
