"""``LightkubeApi.pod_log`` through a kubeconfig: tail and previous reach the kubelet, and a container that is
waiting to start answers kube's 400 as an ``ApiRejectedError`` (which the deploy progress keeps quiet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.delivery.apply import ApiRejectedError
from tests.integration.apply_support import connect
from tests.integration.conftest import Cluster
from tests.integration.pod_logs_support import LogWorld, world_fixture  # noqa: F401 - fixture
from tests.unit.kubelet_server_support import running, waiting


async def test_tail_and_previous_and_a_waiting_container(
    cluster: Cluster, world: LogWorld, tmp_path: Path
) -> None:
    p = await world.run_pod("web", [running("app", 1, crashed_before=True)])
    world.node.write(p, "app", 0, ["boot", "panic: no DATABASE_URL"])
    world.node.write(p, "app", 1, [f"line {i}" for i in range(1, 9)])
    await world.run_pod("pulling", [waiting("app", "ImagePullBackOff")])
    async with connect(cluster, tmp_path) as kube:
        current = await kube.pod_log("default", "web", container="app", tail_lines=5)
        previous = await kube.pod_log("default", "web", container="app", tail_lines=5, previous=True)
        with pytest.raises(
            ApiRejectedError, match=r'400 BadRequest\): container "app" in pod "pulling" is waiting'
        ):
            await kube.pod_log("default", "pulling", container="app", tail_lines=5)
    assert current == "line 4\nline 5\nline 6\nline 7\nline 8\n"
    assert previous == "boot\npanic: no DATABASE_URL\n"
