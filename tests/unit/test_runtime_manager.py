"""The manager's per-controller machinery on virtual time: handler routing for both controller shapes,
what a sync's result or failure does to the key, max retries, resync."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest

from ferry.cluster.controllers.runtime.informer import Informer
from ferry.cluster.controllers.runtime.manager import (
    After,
    ControllerRunner,
    ControllerSpec,
    Handlers,
    HandlerSet,
    SyncResult,
    handlers_of,
)
from ferry.cluster.controllers.runtime.types import ApiStatusError, Obj, key_of
from ferry.cluster.controllers.runtime.workqueue import WorkQueue

CM = "v1/configmaps"


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def cm(name: str, rv: str = "1") -> Obj:
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": rv}}


@dataclass
class Scripted:
    """A controller whose sync answers from a script per key: an exception to raise or a result."""

    script: dict[str, list[Any]] = field(default_factory=dict)
    synced: list[str] = field(default_factory=list)

    def handlers(self) -> Mapping[str, HandlerSet]:
        return {CM: Handlers(lambda o: [key_of(o)], lambda old, new: [key_of(new)], None)}

    async def sync(self, key: str) -> SyncResult | None:
        self.synced.append(key)
        steps = self.script.get(key) or [None]
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if isinstance(step, Exception):
            raise step
        return step  # type: ignore[no-any-return]


class Enqueue(NamedTuple):  # the ReplicaSet controller's shape of a delayed key
    key: str
    after_seconds: float = 0.0


@dataclass
class ResourceShaped:
    resources: tuple[str, ...] = (CM, "v1/pods")
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def on_add(self, resource: str, obj: Obj) -> list[Enqueue]:
        self.calls.append(("add", resource))
        return [Enqueue(key_of(obj)), Enqueue("default/later", 5.0)]

    def on_update(self, resource: str, old: Obj, new: Obj) -> list[str]:
        self.calls.append(("update", resource))
        return []

    def on_delete(self, resource: str, obj: Obj) -> list[str]:
        self.calls.append(("delete", resource))
        return [key_of(obj)]

    async def sync(self, key: str) -> None:
        return None


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


def runner_for(controller: Any, vt: VirtualTime, max_retries: int = 15) -> ControllerRunner:
    queue = WorkQueue(clock=vt.clock, sleep=vt.sleep)
    return ControllerRunner(ControllerSpec("test", lambda c: controller), controller, queue, max_retries)


async def step(runner: ControllerRunner) -> str | None:
    key = runner.queue.get_nowait()
    if key is not None:
        try:
            await runner.process(key)
        finally:
            runner.queue.done(key)
    return key


async def test_success_forgets_and_requeue_after_is_a_timer(vt: VirtualTime) -> None:
    ctl = Scripted({"default/a": [RuntimeError("x"), SyncResult(requeue_after_seconds=30), None]})
    runner = runner_for(ctl, vt)
    runner.enqueue(["default/a"])
    assert await step(runner) == "default/a"  # fails: back-off 5 ms
    assert runner.queue.num_requeues("default/a") == 1
    vt.now += 0.005
    assert await step(runner) == "default/a"  # succeeds, asks for a timer
    assert runner.queue.num_requeues("default/a") == 0
    vt.now += 29.9
    assert await step(runner) is None
    vt.now += 0.1
    assert await step(runner) == "default/a"
    assert ctl.synced == ["default/a"] * 3


async def test_requeue_rate_limited(vt: VirtualTime) -> None:
    ctl = Scripted({"default/a": [SyncResult(requeue_rate_limited=True), None]})
    runner = runner_for(ctl, vt)
    runner.enqueue(["default/a"])
    await step(runner)
    assert await step(runner) is None
    vt.now += 0.005
    assert await step(runner) == "default/a"


async def test_a_key_is_dropped_after_max_retries(vt: VirtualTime, caplog: pytest.LogCaptureFixture) -> None:
    ctl = Scripted({"default/a": [RuntimeError("always")]})
    runner = runner_for(ctl, vt, max_retries=3)
    runner.enqueue(["default/a"])
    for _ in range(10):
        await step(runner)
        vt.now += 10
    assert ctl.synced == ["default/a"] * 4  # first try + 3 retries
    assert runner.queue.num_requeues("default/a") == 0  # forgotten: a new event starts afresh
    assert "dropping 'default/a' out of the queue: always" in caplog.text


async def test_namespace_terminating_is_not_retried(vt: VirtualTime) -> None:
    kube_style = ApiStatusError(
        {
            "code": 403,
            "reason": "Forbidden",
            "message": "x",
            "details": {"causes": [{"type": "NamespaceTerminating"}]},
        }
    )
    ferry_style = ApiStatusError(
        {
            "code": 403,
            "reason": "Forbidden",
            "message": 'pods "p" is forbidden: unable to create new content in namespace ns because it is being terminated',
        }
    )
    ctl = Scripted({"default/a": [kube_style], "default/b": [ferry_style]})
    runner = runner_for(ctl, vt)
    runner.enqueue(["default/a", "default/b"])
    await step(runner)
    await step(runner)
    vt.now += 100
    assert await step(runner) is None
    assert runner.queue.num_requeues("default/a") == 0


async def test_informer_events_route_through_handlers_and_failures_are_contained(vt: VirtualTime) -> None:
    informer = Informer(None, CM)  # type: ignore[arg-type]

    def broken(obj: Obj) -> list[str]:
        raise RuntimeError("handler bug")

    @dataclass
    class Mixed:
        def handlers(self) -> Mapping[str, HandlerSet]:
            return {CM: Handlers(broken, lambda old, new: [key_of(new), After("default/tick", 2)], None)}

        async def sync(self, key: str) -> None:
            return None

    runner = runner_for(Mixed(), vt)
    runner.attach(CM, informer)
    informer.replace([cm("a")], "1")  # on_add raises: logged, nothing enqueued
    assert len(runner.queue) == 0
    informer.apply("MODIFIED", cm("a", "2"))
    informer.apply("DELETED", cm("a", "3"))  # no delete handler
    assert runner.queue.get_nowait() == "default/a"
    vt.now += 2
    assert runner.queue.get_nowait() == "default/tick"


async def test_the_resource_shaped_controller_is_adapted(vt: VirtualTime) -> None:
    ctl = ResourceShaped()
    handlers = handlers_of(ctl)
    assert list(handlers) == [CM, "v1/pods"]
    runner = runner_for(ctl, vt)
    pods = Informer(None, "v1/pods")  # type: ignore[arg-type]
    runner.attach("v1/pods", pods)
    pods.replace([cm("p")], "1")
    pods.apply("DELETED", cm("p", "2"))
    assert ctl.calls == [("add", "v1/pods"), ("delete", "v1/pods")]
    assert runner.queue.get_nowait() == "default/p"
    runner.queue.done("default/p")
    assert runner.queue.get_nowait() is None  # deduped: the delete re-added it while it waited
    vt.now += 5
    assert runner.queue.get_nowait() == "default/later"


async def test_resync_replays_on_update_with_the_same_object(vt: VirtualTime) -> None:
    seen: list[tuple[str, bool]] = []

    @dataclass
    class Watching:
        def handlers(self) -> Mapping[str, HandlerSet]:
            def update(old: Obj, new: Obj) -> list[str]:
                seen.append((new["metadata"]["name"], old is new))
                return [key_of(new)]

            return {CM: Handlers(None, update, None)}

        async def sync(self, key: str) -> None:
            return None

    informer = Informer(None, CM)  # type: ignore[arg-type]
    informer.replace([cm("a"), cm("b")], "1")
    runner = runner_for(Watching(), vt)
    runner.resync({CM: informer})
    assert seen == [("a", True), ("b", True)]
    assert [runner.queue.get_nowait(), runner.queue.get_nowait()] == ["default/a", "default/b"]
