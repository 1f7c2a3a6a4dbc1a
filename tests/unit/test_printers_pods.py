"""``kubectl get pods`` cells: kube's printPod STATUS / READY / RESTARTS rules, column by column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ferry.cluster.resources.printers import PRINTERS

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
COLUMNS, ROW = PRINTERS[("", "Pod")]


def ago(seconds: int) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def running(ready: bool = True, restarts: int = 0, name: str = "app", **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}, **extra}


def waiting(reason: str, name: str = "app", restarts: int = 0) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}


def terminated(code: int = 0, reason: str = "", signal: int = 0, name: str = "app") -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


def pod(
    statuses: list[dict[str, Any]] | None = None,
    *,
    containers: int = 1,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    phase: str = "Running",
    conditions: dict[str, str] | None = None,
    **status: Any,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"name": "web", "creationTimestamp": ago(300)},
        "spec": {"containers": [{"name": f"c{i}"} for i in range(containers)]},
        "status": {"phase": phase, **status},
    }
    if init is not None:
        obj["spec"]["initContainers"] = init
    if statuses is not None:
        obj["status"]["containerStatuses"] = statuses
    if init_statuses is not None:
        obj["status"]["initContainerStatuses"] = init_statuses
    if conditions:
        obj["status"]["conditions"] = [{"type": t, "status": s} for t, s in conditions.items()]
    return obj


def cells(obj: dict[str, Any]) -> list[Any]:
    return ROW(obj, NOW)


def test_columns_match_kube() -> None:
    assert [(c.name, c.type, c.format, c.priority) for c in COLUMNS] == [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Status", "string", "", 0),
        ("Restarts", "string", "", 0),
        ("Age", "string", "", 0),
        ("IP", "string", "", 1),
        ("Node", "string", "", 1),
        ("Nominated Node", "string", "", 1),
        ("Readiness Gates", "string", "", 1),
    ]
    assert COLUMNS[1].description == "The aggregate readiness state of this pod for accepting traffic."
    assert COLUMNS[0].description.startswith("Name must be unique within a namespace.")


def test_running_pod_full_row() -> None:
    obj = pod([running()], podIP="10.244.0.7")
    obj["spec"]["nodeName"] = "node-1"
    assert cells(obj) == ["web", "1/1", "Running", "0", "5m", "10.244.0.7", "node-1", "<none>", "<none>"]


@pytest.mark.parametrize(
    ("obj", "status", "ready"),
    [
        (pod([waiting("ContainerCreating")], phase="Pending"), "ContainerCreating", "0/1"),
        (pod([waiting("CrashLoopBackOff", restarts=3)]), "CrashLoopBackOff", "0/1"),
        (pod([terminated(0, "Completed")], phase="Succeeded"), "Completed", "0/1"),
        (pod([terminated(137, "OOMKilled")]), "OOMKilled", "0/1"),
        (pod([terminated(3)], phase="Failed"), "ExitCode:3", "0/1"),
        (pod([terminated(137, signal=9)], phase="Failed"), "Signal:9", "0/1"),
        (pod(phase="Failed", reason="Evicted"), "Evicted", "0/1"),
        (pod(phase="Pending"), "Pending", "0/1"),
        (pod([running(ready=False)]), "Running", "0/1"),
    ],
)
def test_status_from_container_states(obj: dict[str, Any], status: str, ready: str) -> None:
    row = cells(obj)
    assert (row[1], row[2]) == (ready, status)


def test_first_container_state_wins() -> None:
    """Containers are walked backwards, so the first container's reason is the one shown."""
    obj = pod([waiting("ImagePullBackOff", name="a"), waiting("CrashLoopBackOff", name="b")], containers=2)
    assert cells(obj)[2] == "ImagePullBackOff"


def test_completed_with_running_container_is_running_or_not_ready() -> None:
    statuses = [running(name="a"), terminated(0, "Completed", name="b")]
    assert cells(pod(statuses, containers=2, conditions={"Ready": "True"}))[1:3] == ["1/2", "Running"]
    assert cells(pod(statuses, containers=2, conditions={"Ready": "False"}))[1:3] == ["1/2", "NotReady"]


@pytest.mark.parametrize(
    ("init_statuses", "expected"),
    [
        ([waiting("PodInitializing", name="i0"), waiting("PodInitializing", name="i1")], "Init:0/2"),
        ([terminated(0, "Completed", name="i0"), running(ready=False, name="i1")], "Init:1/2"),
        ([waiting("CrashLoopBackOff", name="i0")], "Init:CrashLoopBackOff"),
        ([terminated(1, name="i0")], "Init:ExitCode:1"),
        ([terminated(137, signal=9, name="i0")], "Init:Signal:9"),
        ([terminated(1, "Error", name="i0")], "Init:Error"),
    ],
)
def test_init_container_status(init_statuses: list[dict[str, Any]], expected: str) -> None:
    obj = pod(
        [waiting("PodInitializing")],
        init=[{"name": "i0"}, {"name": "i1"}],
        init_statuses=init_statuses,
        phase="Pending",
    )
    assert cells(obj)[1:3] == ["0/1", expected]


def test_finished_init_containers_then_running() -> None:
    obj = pod([running()], init=[{"name": "i0"}], init_statuses=[terminated(0, "Completed", name="i0")])
    assert cells(obj)[1:3] == ["1/1", "Running"]


def test_started_sidecar_counts_towards_ready() -> None:
    sidecar = {"name": "proxy", "restartPolicy": "Always"}
    obj = pod(
        [running()],
        init=[sidecar],
        init_statuses=[running(name="proxy", started=True)],
        conditions={"Initialized": "True", "Ready": "True"},
    )
    assert cells(obj)[1:3] == ["2/2", "Running"]


def test_restarts_show_time_of_last_restart() -> None:
    last = {"terminated": {"exitCode": 1, "finishedAt": ago(180)}}
    older = {"terminated": {"exitCode": 1, "finishedAt": ago(900)}}
    statuses = [
        {**waiting("CrashLoopBackOff", name="a", restarts=2), "lastState": older},
        {**waiting("CrashLoopBackOff", name="b", restarts=1), "lastState": last},
    ]
    assert cells(pod(statuses, containers=2))[3] == "3 (3m ago)"


def test_restarts_without_termination_time_are_a_plain_number() -> None:
    assert cells(pod([running(restarts=4)]))[3] == "4"


def test_restarts_while_initialising_count_init_containers_only() -> None:
    init_status = {**waiting("CrashLoopBackOff", name="i0", restarts=4)}
    init_status["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}
    obj = pod([running(restarts=9)], init=[{"name": "i0"}], init_statuses=[init_status], phase="Pending")
    assert cells(obj)[2:4] == ["Init:CrashLoopBackOff", "4 (30s ago)"]


def test_terminating_and_node_lost() -> None:
    obj = pod([running()])
    obj["metadata"]["deletionTimestamp"] = ago(0)
    assert cells(obj)[2] == "Terminating"
    obj["status"]["reason"] = "NodeLost"
    assert cells(obj)[2] == "Unknown"


def test_terminal_pod_being_deleted_keeps_its_status() -> None:
    obj = pod([terminated(0, "Completed")], phase="Succeeded")
    obj["metadata"]["deletionTimestamp"] = ago(0)
    assert cells(obj)[2] == "Completed"


def test_scheduling_gated() -> None:
    obj = pod(phase="Pending")
    obj["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    assert cells(obj)[2] == "SchedulingGated"


def test_wide_cells_ip_fallback_nominated_node_and_readiness_gates() -> None:
    obj = pod([running()], podIPs=[{"ip": "fd00::5"}], nominatedNodeName="node-2")
    obj["spec"]["readinessGates"] = [
        {"conditionType": "example.com/lb"},
        {"conditionType": "example.com/dns"},
    ]
    obj["status"]["conditions"] = [{"type": "example.com/lb", "status": "True"}]
    assert cells(obj)[5:] == ["fd00::5", "<none>", "node-2", "1/2"]


def test_malformed_pod_prints_zero_values() -> None:
    assert cells({}) == ["", "0/0", "", "0", "<unknown>", "<none>", "<none>", "<none>", "<none>"]
    assert cells({"spec": "x", "status": {"containerStatuses": ["bad", None]}})[1] == "0/0"
