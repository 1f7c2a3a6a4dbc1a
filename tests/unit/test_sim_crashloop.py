"""sim: crash → restart with kube's exact CrashLoopBackOff schedule (0, 10 s, 20 s … 300 s), and its reset."""

from __future__ import annotations

from ferry.cluster.kubelet import SimConfig, SimRuntime
from ferry.cluster.kubelet.sim import Backoff, go_duration
from tests.unit.simkit import Cluster, at, pod, run_until


def crashing(after_ms: int, **ann: str) -> tuple[Cluster, SimRuntime]:
    c = Cluster()
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0, container_events=False)
    )
    p = pod("web", node="ferry-node-1", annotations={"sim.ferry.dev/crash-after-ms": str(after_ms), **ann})
    c.add(p)
    sim.on_pod_add(p)
    return c, sim


def test_backoff_doubles_to_300_and_resets_after_ten_quiet_minutes() -> None:
    b = Backoff()
    delays = []
    for t in range(0, 90, 10):
        b.next(float(t), float(t))
        delays.append(b.delay)
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300, 300]
    b.next(90 + 601, 90 + 601)  # the container ran more than 2 x 300 s since the last update
    assert b.delay == 10
    assert [go_duration(s) for s in (10, 80, 160, 300)] == ["10s", "1m20s", "2m40s", "5m0s"]


async def test_restart_schedule_messages_and_events() -> None:
    c, sim = crashing(1000)
    writes = await run_until(c, sim, 1000)
    starts = [
        (t, s["containerStatuses"][0]["restartCount"])
        for t, s in writes
        if "running" in s["containerStatuses"][0]["state"]
    ]
    assert starts == [(0, 0), (1, 1), (12, 2), (33, 3), (74, 4), (155, 5), (316, 6), (617, 7), (918, 8)]
    waits = [
        s["containerStatuses"][0]["state"]["waiting"]["message"]
        for _, s in writes
        if "waiting" in s["containerStatuses"][0]["state"]
    ]
    assert [w.split(" restarting")[0] for w in waits] == [
        "back-off 10s",
        "back-off 20s",
        "back-off 40s",
        "back-off 1m20s",
        "back-off 2m40s",
        "back-off 5m0s",
        "back-off 5m0s",
        "back-off 5m0s",
    ]
    assert waits[0] == "back-off 10s restarting failed container=app pod=web_default(uid-web)"
    events = c.take_events()
    assert events[0] == (
        "default/web",
        "Warning",
        "BackOff",
        "Back-off restarting failed container app in pod web_default(uid-web)",
    )
    assert len(events) == 8


async def test_waiting_status_keeps_the_last_termination_and_the_pod_running() -> None:
    c, sim = crashing(1000, **{"sim.ferry.dev/exit-code": "3"})
    writes = await run_until(c, sim, 2)
    t, st = writes[-1]
    [cs] = st["containerStatuses"]
    assert t == 2 and st["phase"] == "Running"
    assert (
        cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        and cs["ready"] is False
        and cs["started"] is False
    )
    assert cs["restartCount"] == 1
    assert cs["lastState"] == {
        "terminated": {
            "exitCode": 3,
            "reason": "Error",
            "startedAt": at(1),
            "finishedAt": at(2),
            "containerID": cs["containerID"],
        }
    }
    ready = next(x for x in st["conditions"] if x["type"] == "Ready")
    assert ready["status"] == "False" and ready["message"] == "containers with unready status: [app]"


async def test_a_container_that_runs_ten_minutes_restarts_at_once_every_time() -> None:
    c, sim = crashing(11 * 60 * 1000)
    writes = await run_until(c, sim, 3 * 11 * 60 + 1)
    states = [next(iter(s["containerStatuses"][0]["state"])) for _, s in writes]
    assert "waiting" not in states
    assert writes[-1][1]["containerStatuses"][0]["restartCount"] == 3
    assert c.take_events() == []


async def test_oom_killed_is_exit_137_then_crash_loop() -> None:
    c = Cluster()
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0, container_events=False)
    )
    p = pod("big", node="ferry-node-1", containers=[{"name": "app", "image": "registry.local:5000/app:oom"}])
    c.add(p)
    sim.on_pod_add(p)
    writes = await run_until(c, sim, 2)
    [cs] = writes[-1][1]["containerStatuses"]
    assert (
        cs["lastState"]["terminated"]["reason"] == "OOMKilled"
        and cs["lastState"]["terminated"]["exitCode"] == 137
    )
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["imageID"].startswith("registry.local:5000/app@sha256:")
