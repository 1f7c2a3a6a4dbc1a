"""The informer against the real server: it follows creates/updates/deletes, resumes after watch
timeouts without relisting, and after a forced compaction (410 Expired) relists and fires exactly the
callbacks for what changed while it was not watching."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import pytest

from ferry.cluster.controllers.runtime.client import ApiClient
from ferry.cluster.controllers.runtime.informer import Informer, InformerSettings
from ferry.cluster.controllers.runtime.types import Obj
from tests.integration.conftest import Cluster

CM = "v1/configmaps"
MINE = "runtime-test"


class GatedClient(ApiClient):
    """An ApiClient whose next watch can be held back, so the test decides when the informer watches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.gate.set()
        self.parked = asyncio.Event()

    async def watch(self, *args: Any, **kwargs: Any) -> AsyncGenerator[tuple[str, Obj], None]:  # type: ignore[override]
        if not self.gate.is_set():
            self.parked.set()
            await self.gate.wait()
        async for item in super().watch(*args, **kwargs):
            yield item


class Recorder:
    """Callbacks the informer fired, for objects labelled as this test's."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    @staticmethod
    def _mine(obj: Obj) -> bool:
        return (obj["metadata"].get("labels") or {}).get("test") == MINE

    def on_add(self, obj: Obj) -> None:
        if self._mine(obj):
            self.calls.append(("add", obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))

    def on_update(self, old: Obj, new: Obj) -> None:
        if self._mine(new):
            assert old["metadata"]["name"] == new["metadata"]["name"]
            self.calls.append(("update", new["metadata"]["name"], new["metadata"]["resourceVersion"]))

    def on_delete(self, obj: Obj) -> None:
        if self._mine(obj):
            self.calls.append(("delete", obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))

    def kinds(self) -> list[tuple[str, str]]:
        return [(k, n) for k, n, _ in self.calls]


async def eventually(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[GatedClient]:
    s = cluster.ctx.settings
    c = GatedClient(s.server_url, cluster.api.token, ca_file=s.ca_file)
    yield c
    await c.close()


@contextlib.asynccontextmanager
async def running(informer: Informer) -> AsyncIterator[Informer]:
    stop = asyncio.Event()
    task = asyncio.create_task(informer.run(stop))
    try:
        async with asyncio.timeout(10):
            await informer.wait_synced()
        yield informer
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def cm(name: str, namespace: str = "default", **data: str) -> Obj:
    return {"metadata": {"name": name, "namespace": namespace, "labels": {"test": MINE}}, "data": data}


async def test_follows_creates_updates_and_deletes(cluster: Cluster, client: GatedClient) -> None:
    await client.create("v1/namespaces", None, {"metadata": {"name": "other"}})
    await client.create(CM, "default", cm("a", v="1"))
    informer = Informer(client, CM)
    rec = Recorder()
    informer.add_handler(rec.on_add, rec.on_update, rec.on_delete)
    async with running(informer):
        assert rec.kinds() == [("add", "a")]
        await client.create(CM, "default", cm("b"))
        await client.create(CM, "other", cm("a", "other"))
        patched = await client.patch(CM, "default", "a", {"data": {"v": "2"}})
        await client.delete(CM, "default", "b")
        await eventually(lambda: len(rec.calls) == 5)
        assert rec.kinds() == [("add", "a"), ("add", "b"), ("add", "a"), ("update", "a"), ("delete", "b")]
        # The cache, by namespace and name; objects are shared (the same dict the handler saw).
        a = informer.get("default", "a")
        assert a is not None and a["data"] == {"v": "2"}
        assert a["metadata"]["resourceVersion"] == patched["metadata"]["resourceVersion"]
        assert informer.get("default", "b") is None
        assert informer.get("other", "a") is not None
        mine = [o for o in informer.list() if Recorder._mine(o)]
        assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in mine] == [
            ("default", "a"),
            ("other", "a"),
        ]
        assert [o["metadata"]["name"] for o in informer.list("other", Recorder._mine)] == ["a"]
        assert int(informer.resource_version) >= int(patched["metadata"]["resourceVersion"])
        assert informer.lists == 1


async def test_resumes_after_watch_timeouts_without_relisting(client: GatedClient) -> None:
    informer = Informer(client, CM, "default", settings=InformerSettings(watch_timeout_seconds=1))
    rec = Recorder()
    informer.add_handler(rec.on_add, rec.on_update, rec.on_delete)
    async with running(informer):
        await eventually(lambda: informer.watches >= 3)  # two server-side timeouts happened
        await client.create(CM, "default", cm("late"))
        await eventually(lambda: rec.kinds() == [("add", "late")])
        assert informer.lists == 1


async def test_compaction_forces_a_relist_with_exact_callbacks(cluster: Cluster, client: GatedClient) -> None:
    for name in ("keep", "change", "remove"):
        await client.create(CM, "default", cm(name))
    informer = Informer(client, CM, "default", settings=InformerSettings(watch_timeout_seconds=1))
    rec = Recorder()
    informer.add_handler(rec.on_add, rec.on_update, rec.on_delete)
    async with running(informer):
        assert sorted(rec.kinds()) == [("add", "change"), ("add", "keep"), ("add", "remove")]
        rec.calls.clear()
        # Hold the next watch back; the current one ends at its 1 s server-side timeout.
        client.gate.clear()
        async with asyncio.timeout(10):
            await client.parked.wait()
        stale_rv = informer.resource_version
        changed = await client.patch(CM, "default", "change", {"data": {"v": "new"}})
        await client.delete(CM, "default", "remove")
        created = await client.create(CM, "default", cm("new"))
        await cluster.ctx.store.compact(up_to_rev=cluster.ctx.store.revision)
        assert rec.calls == []
        client.gate.set()  # the watch from stale_rv gets 410 Expired -> relist
        await eventually(lambda: len(rec.calls) == 3)
        await asyncio.sleep(0.2)  # nothing more arrives
        assert rec.calls == [
            ("update", "change", changed["metadata"]["resourceVersion"]),
            ("add", "new", created["metadata"]["resourceVersion"]),
            ("delete", "remove", rec.calls[2][2]),
        ]
        assert int(rec.calls[2][2]) <= int(stale_rv)  # the last state the informer knew
        assert informer.lists == 2
        assert sorted(o["metadata"]["name"] for o in informer.list("default", Recorder._mine)) == [
            "change",
            "keep",
            "new",
        ]
        # And it keeps watching from the relist's resourceVersion.
        await client.patch(CM, "default", "keep", {"data": {"after": "relist"}})
        await eventually(lambda: len(rec.calls) == 4)
        assert rec.calls[3][:2] == ("update", "keep")
