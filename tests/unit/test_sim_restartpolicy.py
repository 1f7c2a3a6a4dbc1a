"""sim: phases for restartPolicy Never / OnFailure, and the terminal conditions."""

from __future__ import annotations

import pytest

from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, at, cond, pod, run_until


def one_shot(policy: str, **ann: str) -> tuple[Cluster, SimRuntime]:
    c = Cluster()
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=0, container_events=False)
    )
    p = pod("job", node="ferry-node-1", restart_policy=policy, annotations=ann or None)
    c.add(p)
    sim.on_pod_add(p)
    return c, sim


async def test_never_completes_after_the_default_run_time_and_stays_put() -> None:
    c, sim = one_shot("Never")
    writes = await run_until(c, sim, 3600)
    assert [(t, s["phase"]) for t, s in writes] == [(0, "Running"), (1, "Succeeded")]
    final = writes[-1][1]
    [cs] = final["containerStatuses"]
    assert cs["state"] == {
        "terminated": {
            "exitCode": 0,
            "reason": "Completed",
            "startedAt": at(0),
            "finishedAt": at(1),
            "containerID": cs["containerID"],
        }
    }
    assert final["conditions"] == [
        cond("PodReadyToStartContainers", "False", at(1)),
        cond("Initialized", "True", at(0), "PodCompleted"),
        cond("Ready", "False", at(1), "PodCompleted"),
        cond("ContainersReady", "False", at(1), "PodCompleted"),
        cond("PodScheduled", "True", at(0)),
    ]


@pytest.mark.parametrize(
    ("policy", "code", "phases"),
    [
        ("Never", "3", ["Running", "Failed"]),
        ("OnFailure", "0", ["Running", "Succeeded"]),
        ("OnFailure", "2", ["Running", "Running", "Running"]),  # restarted at once, then back-off
    ],
)
async def test_exit_codes(policy: str, code: str, phases: list[str]) -> None:
    c, sim = one_shot(policy, **{"sim.ferry.dev/crash-after-ms": "1000", "sim.ferry.dev/exit-code": code})
    writes = await run_until(c, sim, 2)
    assert [s["phase"] for _, s in writes] == phases
    if phases[-1] == "Failed":
        ready = next(x for x in writes[-1][1]["conditions"] if x["type"] == "Ready")
        assert ready["reason"] == "PodFailed"
        assert writes[-1][1]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Error"
    if policy == "OnFailure" and code != "0":
        assert writes[-1][1]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
