"""sim: init containers hold the pod in PodInitializing, then complete when the first container starts."""

from __future__ import annotations

from ferry.cluster.kubelet import SimConfig, SimRuntime
from tests.unit.simkit import Cluster, at, cond, container, pod, run_until


async def test_initializing_then_initialized() -> None:
    c = Cluster()
    sim = SimRuntime(
        c.pods, c.client, c.recorder, c.clock, SimConfig(start_delay_ms=2000, container_events=False)
    )
    p = pod(
        "web",
        node="ferry-node-1",
        initContainers=[container("migrate", image="app:1"), container("warm", image="app:1")],
    )
    c.add(p)
    sim.on_pod_add(p)
    writes = await run_until(c, sim, 10)
    assert [t for t, _ in writes] == [0, 2]
    first, second = writes[0][1], writes[1][1]
    assert first["phase"] == "Pending"
    assert first["conditions"][1] == cond(
        "Initialized",
        "False",
        at(0),
        "ContainersNotInitialized",
        "containers with incomplete status: [migrate warm]",
    )
    assert [s["state"] for s in first["initContainerStatuses"]] == [
        {"waiting": {"reason": "PodInitializing"}}
    ] * 2
    assert first["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert second["phase"] == "Running"
    assert second["conditions"][1] == cond("Initialized", "True", at(2))
    migrate = second["initContainerStatuses"][0]
    assert migrate["ready"] is True and migrate["state"]["terminated"]["reason"] == "Completed"
    assert migrate["state"]["terminated"]["exitCode"] == 0 and migrate["containerID"].startswith("sim://")
