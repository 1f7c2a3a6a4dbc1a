"""Writing release transitions: preconditions against concurrent writers, the heartbeat, and recovery."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ferry.delivery.releases import (
    LostLease,
    MemoryReleaseStore,
    Release,
    ReleaseBusy,
    ReleaseState,
    Tracked,
    recover,
)

S = ReleaseState
T0 = datetime(2026, 11, 27, 5, 0, 0, tzinfo=UTC)
HERE = socket.gethostname()
DEAD = f"{HERE}:4242:dead"
LIVE = f"{HERE}:7:live"


def clock_at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def release(version: int, state: ReleaseState = S.PENDING, *, holder: str = LIVE, **kw: object) -> Release:
    return Release(
        "web", "sit", "ns", version, state, f"1.0.{version}", "sha256:" + "a" * 64, "r/web",
        manifest=[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{version}"}}],
        lease_holder=holder, lease_renewed="2026-11-27T05:00:00Z", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


async def seed(store: MemoryReleaseStore, *releases: Release) -> None:
    for r in releases:
        await store.create(r)
    store.writes.clear()


def alive_except(dead_pid: int):  # type: ignore[no-untyped-def]
    return lambda pid: pid != dead_pid


async def test_tracked_moves_are_written_with_the_last_resource_version() -> None:
    store = MemoryReleaseStore()
    tracked = await Tracked.create(store, release(1), clock=lambda: clock_at(0))
    await tracked.move(S.DEPLOYING)
    await tracked.move(S.DEPLOYED, reason="healthy")
    assert store.writes == [
        ("create", "ferry.release.web.v1", "pending"),
        ("update", "ferry.release.web.v1", "deploying"),
        ("update", "ferry.release.web.v1", "deployed"),
    ]
    [(stored, _)] = await store.list("ns", "web")
    assert stored.state is S.DEPLOYED and stored.reason == "healthy"
    assert stored.lease_holder == ""  # a settled release holds no lease


async def test_a_second_writer_of_the_same_revision_is_busy() -> None:
    store = MemoryReleaseStore()
    await Tracked.create(store, release(1))
    with pytest.raises(ReleaseBusy, match="another ferry created revision 1 of web in sit"):
        await Tracked.create(store, release(1, holder="other:1:x"))


async def test_a_concurrent_writer_makes_the_holder_stop_without_writing() -> None:
    store = MemoryReleaseStore()
    tracked = await Tracked.create(store, release(1))
    await tracked.move(S.DEPLOYING)
    [(stored, rv)] = await store.list("ns", "web")
    await store.update(replace(stored, lease_holder="taker:1:x"), rv)  # someone took it over
    with pytest.raises(LostLease, match="revision 1 of web in sit was taken over"):
        await tracked.move(S.DEPLOYED)
    [(after, _)] = await store.list("ns", "web")
    assert (after.state, after.lease_holder) == (S.DEPLOYING, "taker:1:x")


async def test_the_heartbeat_renews_the_lease_while_the_body_runs() -> None:
    store = MemoryReleaseStore()
    tracked = await Tracked.create(store, release(1))
    await tracked.move(S.DEPLOYING)
    async with tracked.heartbeat(period_seconds=0.01):
        while len(store.writes) < 4:
            await asyncio.sleep(0.01)
    assert store.writes[2:4] == [("update", "ferry.release.web.v1", "deploying")] * 2


async def test_a_lost_lease_cancels_the_body_with_lost_lease() -> None:
    store = MemoryReleaseStore()
    tracked = await Tracked.create(store, release(1))
    [(stored, rv)] = await store.list("ns", "web")
    await store.update(replace(stored, lease_holder="taker:1:x"), rv)
    with pytest.raises(LostLease):
        async with tracked.heartbeat(period_seconds=0.01):
            await asyncio.sleep(30)  # cancelled by the failed renew


async def test_recover_marks_a_dead_holders_deploying_release_failed() -> None:
    store = MemoryReleaseStore()
    await seed(store, release(1, S.DEPLOYED, holder=""), release(2, S.DEPLOYING, holder=DEAD))
    found = await recover(store, "ns", "web", holder="me:1:x", clock=lambda: clock_at(1),
                          pid_alive=alive_except(4242))  # fmt: skip
    assert found.notes == [f"v2: left deploying, marked failed (lease holder {DEAD} is no longer running)"]
    states = {r.version: r.state for r, _ in found.releases}
    assert states == {1: S.DEPLOYED, 2: S.FAILED} and found.busy is None and found.next_version == 3
    assert store.writes == [
        ("update", "ferry.release.web.v2", "deploying"),
        ("update", "ferry.release.web.v2", "failed"),
    ]


async def test_recover_takes_over_a_lease_not_renewed_for_30_seconds() -> None:
    store = MemoryReleaseStore()
    await seed(store, release(1, S.PENDING, holder="elsewhere:1:x"))
    found = await recover(store, "ns", "web", holder="me:1:x", clock=lambda: clock_at(31))
    assert [r.state for r, _ in found.releases] == [S.FAILED]
    assert "not renewed for 31 s" in found.releases[0][0].reason


async def test_recover_reports_a_live_holder_as_busy_and_writes_nothing() -> None:
    store = MemoryReleaseStore()
    await seed(store, release(1, S.DEPLOYING, holder="elsewhere:1:x"))
    found = await recover(store, "ns", "web", holder="me:1:x", clock=lambda: clock_at(5))
    assert found.busy is not None and found.busy.version == 1
    assert store.writes == []


async def test_recover_resumes_an_interrupted_rollback_when_it_can_apply() -> None:
    store = MemoryReleaseStore()
    await seed(
        store,
        release(1, S.DEPLOYED, holder=""),
        release(2, S.ROLLING_BACK, holder=DEAD, rolled_back_to=1, reason="pods not ready"),
    )
    resumed: list[tuple[int, int]] = []

    async def resume(failed: Release, target: Release) -> None:
        resumed.append((failed.version, target.version))

    found = await recover(store, "ns", "web", holder="me:1:x", resume=resume, clock=lambda: clock_at(1),
                          pid_alive=alive_except(4242))  # fmt: skip
    assert resumed == [(2, 1)]
    rolled = {r.version: r for r, _ in found.releases}[2]
    assert rolled.state is S.ROLLED_BACK and rolled.reason == "pods not ready; rollback to v1 resumed"


async def test_recover_without_apply_marks_an_interrupted_rollback_failed() -> None:
    store = MemoryReleaseStore()
    await seed(
        store, release(1, S.DEPLOYED, holder=""), release(2, S.ROLLING_BACK, holder=DEAD, rolled_back_to=1)
    )
    found = await recover(
        store, "ns", "web", holder="me:1:x", clock=lambda: clock_at(1), pid_alive=alive_except(4242)
    )
    rolled = {r.version: r for r, _ in found.releases}[2]
    assert rolled.state is S.FAILED and rolled.reason == "interrupted while rolling back to v1"


async def test_recover_repairs_two_deployed_revisions() -> None:
    store = MemoryReleaseStore()
    await seed(store, release(1, S.DEPLOYED, holder=""), release(2, S.DEPLOYED, holder=""))
    found = await recover(store, "ns", "web", holder="me:1:x")
    assert {r.version: r.state for r, _ in found.releases} == {1: S.SUPERSEDED, 2: S.DEPLOYED}
    assert found.notes == ["v1: superseded by v2"]


class YieldingStore(MemoryReleaseStore):
    """Both recoverers read before either writes: the race the resourceVersion precondition decides."""

    async def list(self, namespace: str, service: str) -> list[tuple[Release, str]]:
        found = await super().list(namespace, service)
        await asyncio.sleep(0)
        return found


async def test_two_recoverers_racing_take_over_once() -> None:
    store = YieldingStore()
    await seed(store, release(1, S.DEPLOYING, holder=DEAD))
    kwargs = {"clock": lambda: clock_at(1), "pid_alive": alive_except(4242)}
    first, second = await asyncio.gather(
        recover(store, "ns", "web", holder="a:1:x", **kwargs),  # type: ignore[arg-type]
        recover(store, "ns", "web", holder="b:1:x", **kwargs),  # type: ignore[arg-type]
    )
    assert len(first.notes) + len(second.notes) == 1
    assert [w[2] for w in store.writes] == ["deploying", "failed"]
