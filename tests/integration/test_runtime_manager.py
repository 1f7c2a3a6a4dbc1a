"""The controller manager in the real server: a toy controller (ConfigMap label → annotation) converges
with its writes visible through the API, under its own identity; failures are retried with back-off
and dropped after max retries; requeue-after timers fire; keys are never synced twice at once;
informers are shared; resync re-delivers every object."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from ferry.cluster.controllers.runtime.manager import (
    ControllerContext,
    ControllerManager,
    ControllerSpec,
    Handlers,
    ManagerSettings,
    SyncResult,
)
from ferry.cluster.controllers.runtime.types import Client, EventRecorder, Lister, Obj, key_of, split_key
from tests.integration.conftest import Cluster

CM = "v1/configmaps"
LABEL = "ferry.dev/copy"
ANNOTATION = "ferry.dev/copied"


@dataclass
class LabelCopier:
    """Copies the ``ferry.dev/copy`` label of ConfigMaps to the ``ferry.dev/copied`` annotation."""

    configmaps: Lister
    client: Client
    recorder: EventRecorder
    fail_first: set[str] = field(default_factory=set)
    always_fail: set[str] = field(default_factory=set)
    delay_first: set[str] = field(default_factory=set)
    syncs: dict[str, int] = field(default_factory=dict)
    resyncs: int = 0
    in_flight: set[str] = field(default_factory=set)
    overlaps: list[str] = field(default_factory=list)

    def handlers(self) -> Mapping[str, Handlers]:
        return {CM: Handlers(self.on_add, self.on_update, self.on_delete)}

    def on_add(self, obj: Obj) -> list[str]:
        return [key_of(obj)]

    def on_update(self, old: Obj, new: Obj) -> list[str]:
        if old["metadata"]["resourceVersion"] == new["metadata"]["resourceVersion"]:
            self.resyncs += 1
        return [key_of(new)]

    def on_delete(self, obj: Obj) -> list[str]:
        return []

    async def sync(self, key: str) -> SyncResult | None:
        if key in self.in_flight:
            self.overlaps.append(key)
        self.in_flight.add(key)
        try:
            return await self._sync(key)
        finally:
            self.in_flight.discard(key)

    async def _sync(self, key: str) -> SyncResult | None:
        n = self.syncs[key] = self.syncs.get(key, 0) + 1
        await asyncio.sleep(0.001)  # let other workers run while this key is held
        ns, name = split_key(key)
        if key in self.always_fail or (key in self.fail_first and n == 1):
            raise RuntimeError(f"sync of {key} failed")
        if key in self.delay_first and n == 1:
            return SyncResult(requeue_after_seconds=0.3)
        cached = self.configmaps.get(ns, name)
        if cached is None:
            return None
        want = (cached["metadata"].get("labels") or {}).get(LABEL)
        if want is None or (cached["metadata"].get("annotations") or {}).get(ANNOTATION) == want:
            return None
        obj = copy.deepcopy(cached)  # never mutate the cache
        obj["metadata"].setdefault("annotations", {})[ANNOTATION] = want
        await self.client.update(CM, ns, obj)  # resourceVersion precondition: a stale cache is a 409, retried
        self.recorder.event(cached, "Normal", "Copied", f"Copied label {LABEL}={want}")
        return None


@dataclass
class Seen:
    """The second shape (resources + on_*(resource, ...)): counts what it is told about."""

    resources: Sequence[str] = (CM,)
    adds: list[str] = field(default_factory=list)

    def on_add(self, resource: str, obj: Obj) -> list[str]:
        self.adds.append(f"{resource}:{key_of(obj)}")
        return []

    def on_update(self, resource: str, old: Obj, new: Obj) -> list[str]:
        return []

    def on_delete(self, resource: str, obj: Obj) -> list[str]:
        return []

    async def sync(self, key: str) -> SyncResult | None:
        return None


class Harness:
    def __init__(self, cluster: Cluster, manager: ControllerManager, copier: LabelCopier, seen: Seen):
        self.cluster, self.manager, self.copier, self.seen = cluster, manager, copier, seen

    async def create(self, name: str, value: str) -> None:
        body = {"metadata": {"name": name, "labels": {LABEL: value}}}
        r = await self.cluster.api.post("/api/v1/namespaces/default/configmaps", body)
        assert r.status == 201, r.body

    async def annotation(self, name: str) -> str | None:
        r = await self.cluster.api.get(f"/api/v1/namespaces/default/configmaps/{name}")
        return (r.body["metadata"].get("annotations") or {}).get(ANNOTATION)


async def eventually(cond: Callable[[], object], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def started(cluster: Cluster, settings: ManagerSettings) -> AsyncIterator[Harness]:
    holder: dict[str, LabelCopier] = {}

    def build(c: ControllerContext) -> LabelCopier:
        copier = holder["copier"] = LabelCopier(c.lister(CM), c.client, c.recorder)
        copier.fail_first.add("default/flaky")
        copier.always_fail.add("default/broken")
        copier.delay_first.add("default/later")
        return copier

    seen = Seen()
    stop = asyncio.Event()
    specs = [ControllerSpec("label-copier", build), ControllerSpec("watcher", lambda c: seen, workers=1)]
    manager = ControllerManager(cluster.ctx, stop, specs, settings=settings)
    task = asyncio.create_task(manager.run())
    try:
        await eventually(lambda: len(manager.runners) == 2)
        yield Harness(cluster, manager, holder["copier"], seen)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def harness(cluster: Cluster) -> AsyncIterator[Harness]:
    settings = ManagerSettings(workers_per_controller=4, resync_period_seconds=0.5, max_retries=3)
    async with started(cluster, settings) as h:
        yield h


async def test_toy_controller_converges_with_writes_visible_through_the_api(harness: Harness) -> None:
    await harness.create("pre", "a")
    for i in range(10):
        await harness.create(f"cm{i}", str(i))
    for i in range(10):
        name = f"cm{i}"
        await eventually(lambda n=name: harness.copier.syncs.get(f"default/{n}", 0) >= 2)
        assert await harness.annotation(name) == str(i)
    # A change of the label is followed; the annotation write itself needs no further write.
    r = await harness.cluster.api.patch(
        "/api/v1/namespaces/default/configmaps/cm3", {"metadata": {"labels": {LABEL: "changed"}}}
    )
    assert r.status == 200
    async with asyncio.timeout(10):
        while await harness.annotation("cm3") != "changed":
            await asyncio.sleep(0.02)
    assert harness.copier.overlaps == []


async def test_the_controller_writes_under_its_own_identity(harness: Harness) -> None:
    users = {u.name for u in harness.cluster.ctx.authenticator.tokens.values()}
    assert "system:serviceaccount:kube-system:label-copier" in users
    assert "system:serviceaccount:kube-system:watcher" in users
    assert "system:kube-controller-manager" in users
    await harness.create("who", "x")
    await eventually(lambda: harness.copier.syncs.get("default/who", 0) >= 2)
    r = await harness.cluster.api.get("/api/v1/namespaces/default/configmaps/who")
    managers = {m["manager"] for m in r.body["metadata"]["managedFields"]}
    assert "kube-controller-manager" in managers  # derived from the controllers' User-Agent
    # Its event, written by the recorder through the same client.
    async with asyncio.timeout(10):
        while True:
            events = (await harness.cluster.api.get("/api/v1/namespaces/default/events")).body["items"]
            mine = [e for e in events if e["involvedObject"].get("name") == "who"]
            if mine:
                break
            await asyncio.sleep(0.05)
    (event,) = mine
    assert event["reason"] == "Copied" and event["message"] == f"Copied label {LABEL}=x"
    assert event["source"] == {"component": "label-copier"}
    assert event["involvedObject"]["kind"] == "ConfigMap"


async def test_identities_are_removed_when_the_manager_stops(cluster: Cluster) -> None:
    stop = asyncio.Event()
    manager = ControllerManager(cluster.ctx, stop, [ControllerSpec("short-lived", lambda c: Seen())])
    task = asyncio.create_task(manager.run())
    await eventually(lambda: len(manager.runners) == 1)
    assert any(u.name.endswith(":short-lived") for u in cluster.ctx.authenticator.tokens.values())
    stop.set()
    await asyncio.wait_for(task, 10)
    assert not any(u.name.endswith(":short-lived") for u in cluster.ctx.authenticator.tokens.values())


async def test_a_failed_sync_is_retried_with_back_off(harness: Harness) -> None:
    await harness.create("flaky", "v")
    await eventually(lambda: harness.copier.syncs.get("default/flaky", 0) >= 2)
    async with asyncio.timeout(10):
        while await harness.annotation("flaky") != "v":
            await asyncio.sleep(0.02)
    runner = harness.manager.runners[0]
    assert runner.queue.num_requeues("default/flaky") == 0  # forgotten after the success


async def test_a_key_failing_every_time_is_dropped_after_max_retries(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ferry.controllers")
    settings = ManagerSettings(resync_period_seconds=0, max_retries=3)  # no resync to bring it back
    async with started(cluster, settings) as harness:
        await harness.create("broken", "v")
        await eventually(lambda: "dropping 'default/broken'" in caplog.text)
        await asyncio.sleep(0.3)
        # The first sync and 3 rate-limited retries, then nothing until a new event.
        assert harness.copier.syncs["default/broken"] == 4
        assert caplog.text.count("error syncing 'default/broken', requeuing") == 3
        assert await harness.annotation("broken") is None
        await harness.cluster.api.patch(
            "/api/v1/namespaces/default/configmaps/broken", {"metadata": {"labels": {"again": "1"}}}
        )
        await eventually(lambda: harness.copier.syncs["default/broken"] == 8)  # a fresh round of retries


async def test_requeue_after_syncs_the_key_again_later(harness: Harness) -> None:
    await harness.create("later", "v")
    await eventually(lambda: harness.copier.syncs.get("default/later", 0) >= 1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with asyncio.timeout(10):
        while await harness.annotation("later") != "v":
            await asyncio.sleep(0.02)
    assert loop.time() - start >= 0.2  # waited for the 0.3 s timer, not an immediate retry


async def test_informers_are_shared_and_resync_redelivers(harness: Harness) -> None:
    factory = harness.manager.informers
    assert factory is not None and list(factory.informers) == [CM]
    await harness.create("shared", "v")
    await eventually(lambda: f"{CM}:default/shared" in harness.seen.adds)
    before = harness.copier.resyncs
    await eventually(lambda: harness.copier.resyncs >= before + len(factory.informers[CM]))
