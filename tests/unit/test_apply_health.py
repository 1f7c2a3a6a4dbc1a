"""App roll-up (worst wins, the reason names the object) and ``wait_healthy`` driven by watch events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ferry.delivery.apply import ClusterUnreachableError, HealthStatus, ObjectRef, health, wait_healthy
from tests.unit.apply_support import FakeKubeApi, obj

WEB = ObjectRef("apps", "v1", "Deployment", "app", "web")
CFG = ObjectRef("", "v1", "ConfigMap", "app", "cfg")


def deployment(*, ready: int, paused: bool = False) -> dict[str, Any]:
    d = obj("Deployment", "web", api_version="apps/v1", replicas=2, paused=paused)
    d["metadata"]["labels"] = {"ferry.dev/app": "sit-web"}
    d["status"] = {"replicas": 2, "updatedReplicas": 2, "readyReplicas": ready, "availableReplicas": ready}
    d["status"]["conditions"] = [{"type": "Available", "status": "True" if ready == 2 else "False"}]
    return d


def test_worst_status_wins_and_names_the_object() -> None:
    state = health({WEB: deployment(ready=1), CFG: None})
    assert state.status is HealthStatus.MISSING
    assert state.reason == "ConfigMap app/cfg: NotFound: not found"
    assert state.of("Deployment", "web").status is HealthStatus.PROGRESSING


@pytest.mark.parametrize(
    ("web", "status"),
    [
        (deployment(ready=2), HealthStatus.HEALTHY),
        (deployment(ready=2, paused=True), HealthStatus.SUSPENDED),
        (deployment(ready=0), HealthStatus.PROGRESSING),
    ],
)
def test_roll_up(web: dict[str, Any], status: HealthStatus) -> None:
    cfg = obj("ConfigMap", "cfg")
    assert health({WEB: web, CFG: cfg}).status is status


async def test_wait_healthy_returns_on_the_event_that_makes_the_app_healthy() -> None:
    kube = FakeKubeApi()
    kube.put(await kube.resource_type("apps/v1", "Deployment"), deployment(ready=0))
    waiter = asyncio.create_task(wait_healthy(kube, [WEB], app="sit-web", timeout_seconds=30))
    await kube.events.put(("MODIFIED", deployment(ready=1)))
    await asyncio.sleep(0)
    assert not waiter.done()
    await kube.events.put(("MODIFIED", deployment(ready=2)))
    state = await waiter
    assert state.status is HealthStatus.HEALTHY
    assert kube.actions == [("list", "Deployment")]  # one list, then only the watch: no polling


async def test_wait_healthy_fails_fast_on_degraded() -> None:
    kube = FakeKubeApi()
    broken = deployment(ready=0)
    broken["status"]["conditions"] = [
        {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": "timed out",
        }
    ]
    kube.put(await kube.resource_type("apps/v1", "Deployment"), broken)
    state = await wait_healthy(kube, [WEB], app="sit-web", timeout_seconds=30, fail_fast=True)
    assert state.status is HealthStatus.DEGRADED
    assert state.reason == "Deployment app/web: ProgressDeadlineExceeded: timed out"


async def test_wait_healthy_passes_on_a_failing_stream() -> None:
    kube = FakeKubeApi()

    async def unreachable(*_: Any, **__: Any) -> Any:
        raise ClusterUnreachableError("cannot reach the cluster at https://fake.invalid: refused")

    kube.list = unreachable  # type: ignore[method-assign]
    with pytest.raises(ClusterUnreachableError):
        await wait_healthy(kube, [WEB], app="sit-web", timeout_seconds=30)


async def test_an_empty_app_is_healthy_at_once() -> None:
    kube = FakeKubeApi()
    state = await wait_healthy(kube, [], app="sit-web", timeout_seconds=30)
    assert state.status is HealthStatus.HEALTHY
    assert kube.actions == []
