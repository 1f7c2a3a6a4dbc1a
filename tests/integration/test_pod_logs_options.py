"""pods/log through the API server to a kubelet API: every PodLogOptions parameter reaches the kubelet."""

from __future__ import annotations

import time

from tests.integration.pod_logs_support import LogWorld, world_fixture  # noqa: F401 - fixture
from tests.unit.kubelet_server_support import SECOND, running, waiting


async def _web(world: LogWorld) -> dict[str, object]:
    p = await world.run_pod("web", [running("app", 1, crashed_before=True)])
    world.node.write(p, "app", 0, ["the run that crashed"])
    world.node.write(p, "app", 1, ["one", "two", "three", "four"])
    return p


async def test_logs_of_the_only_container(world: LogWorld) -> None:
    await _web(world)
    assert await world.logs("web") == (200, "one\ntwo\nthree\nfour\n")


async def test_tail_lines_and_timestamps(world: LogWorld) -> None:
    await _web(world)
    assert await world.logs("web", tailLines="1", timestamps="true") == (
        200,
        "2026-09-21T14:13:23.000000000Z four\n",
    )


async def test_since_time_and_since_seconds(world: LogWorld) -> None:
    await _web(world)
    assert await world.logs("web", sinceTime="2026-09-21T14:13:22Z") == (200, "three\nfour\n")
    p = await world.run_pod("fresh", [running("app")])
    world.node.write(
        p, "app", 0, ["old", "new"], start_ns=time.time_ns() - 3600 * SECOND, step_ns=3590 * SECOND
    )
    assert await world.logs("fresh", sinceSeconds="60") == (200, "new\n")


async def test_limit_bytes(world: LogWorld) -> None:
    await _web(world)
    assert await world.logs("web", limitBytes="5") == (200, "one\nt")


async def test_previous(world: LogWorld) -> None:
    await _web(world)
    assert await world.logs("web", previous="true") == (200, "the run that crashed\n")


async def test_container_parameter_and_default_container_annotation(world: LogWorld) -> None:
    p = await world.run_pod("duo", [running("a"), running("b")])
    world.node.write(p, "a", 0, ["from a"])
    world.node.write(p, "b", 0, ["from b"])
    assert await world.logs("duo", container="b") == (200, "from b\n")
    annotations = {"kubectl.kubernetes.io/default-container": "b"}
    p = await world.run_pod("duo2", [running("a"), running("b")], annotations=annotations)
    world.node.write(p, "b", 0, ["b by default"])
    assert await world.logs("duo2") == (200, "b by default\n")


async def test_insecure_skip_tls_verify_backend_is_accepted(world: LogWorld) -> None:
    await _web(world)
    assert await world.logs("web", insecureSkipTLSVerifyBackend="true", tailLines="1") == (200, "four\n")


async def test_sim_nodes_and_unscheduled_pods_keep_the_waiting_answer(world: LogWorld) -> None:
    await world.register_node("sim-node", port=10250, runtime="sim://1.0")
    await world.run_pod("simpod", [waiting("app", "ContainerCreating")], node="sim-node")
    assert await world.error("simpod") == (
        400,
        "BadRequest",
        'container "app" in pod "simpod" is waiting to start: ContainerCreating',
    )
    await world.run_pod("pending", [waiting("app", "ContainerCreating")], node=None)
    assert (await world.error("pending"))[
        2
    ] == 'container "app" in pod "pending" is waiting to start: ContainerCreating'
