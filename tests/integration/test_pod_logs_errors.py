"""pods/log errors: the API server's own (container choice, options) and the kubelet's, worded as kube words them."""

from __future__ import annotations

import socket

from ferry.cluster.kubelet.server import start_kubelet_server
from ferry.cluster.kubelet.server.certs import CertPair, ensure_kubelet_serving_cert
from tests.integration.conftest import Cluster
from tests.integration.pod_logs_support import LogWorld, world_fixture  # noqa: F401 - fixture
from tests.unit.kubelet_server_support import FakeNode, make_pki, running, terminated, waiting


async def test_container_must_be_named_when_there_are_several(world: LogWorld) -> None:
    await world.run_pod("duo", [running("a"), running("b")])
    assert await world.error("duo") == (
        400,
        "BadRequest",
        "a container name must be specified for pod duo, choose one of: [a b]",
    )


async def test_unknown_container(world: LogWorld) -> None:
    await world.run_pod("web", [running("app")])
    assert await world.error("web", container="nope") == (
        400,
        "BadRequest",
        "container nope is not valid for pod web",
    )


async def test_waiting_container_answer_comes_from_the_kubelet(world: LogWorld) -> None:
    # The API server has no status for it (the pod's stored status says Running); only the kubelet knows.
    p = await world.run_pod("web", [running("app")])
    world.node.set_status(p, [waiting("app", "ImagePullBackOff")])
    assert await world.error("web") == (
        400,
        "BadRequest",
        'container "app" in pod "web" is waiting to start: trying and failing to pull image',
    )


async def test_previous_without_a_previous_run(world: LogWorld) -> None:
    await world.run_pod("web", [running("app")])
    assert await world.error("web", previous="true") == (
        400,
        "BadRequest",
        'previous terminated container "app" in pod "web" not found',
    )


async def test_invalid_options_are_422_on_the_api_server(world: LogWorld) -> None:
    await world.run_pod("web", [running("app")])
    status, reason, message = await world.error("web", tailLines="-1")
    assert (status, reason) == (422, "Invalid")
    assert (
        message
        == 'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'
    )
    status, reason, message = await world.error("web", sinceSeconds="5", sinceTime="2026-11-27T05:30:00Z")
    assert (status, reason) == (422, "Invalid") and "at most one of `sinceTime` or `sinceSeconds`" in message
    assert (await world.error("web", limitBytes="0"))[2].endswith(
        "limitBytes: Invalid value: 0: must be greater than 0"
    )
    assert (await world.error("web", tailLines="many"))[:2] == (400, "BadRequest")


async def test_pod_the_kubelet_does_not_know_is_not_found(world: LogWorld) -> None:
    await world.run_pod("web", [running("app")])
    world.node.pods.clear()
    assert await world.error("web") == (
        404,
        "NotFound",
        "the server could not find the requested resource ( pods/log web)",
    )


async def test_missing_pod_and_missing_node(world: LogWorld) -> None:
    assert (await world.error("ghost"))[:2] == (404, "NotFound")
    await world.run_pod("lost", [running("app")], node="no-such-node")
    assert await world.error("lost") == (404, "NotFound", 'nodes "no-such-node" not found')


async def test_kubelet_that_cannot_be_reached(world: LogWorld) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await world.register_node("down-node", port=port)
    await world.run_pod("web", [terminated("app")], node="down-node")
    status, _, message = await world.error("web")
    assert status == 500
    assert message.startswith(f'Get "https://127.0.0.1:{port}/containerLogs/default/web/app": ')


async def test_kubelet_certificate_from_another_ca(world: LogWorld, cluster: Cluster) -> None:
    # A kubelet serving a certificate the cluster CA did not sign (but trusting the API server's client cert).
    stranger = ensure_kubelet_serving_cert(make_pki(cluster.config.data_dir / "stranger-pki"), "x")
    tls = CertPair(stranger.cert, stranger.key, cluster.config.data_dir / "pki" / "ca.crt")
    node = FakeNode(cluster.config.data_dir / "stranger-logs")
    server = await start_kubelet_server("127.0.0.1", 0, node.log_file_for, pods=node.lookup, tls=tls)
    try:
        await world.register_node("stranger", port=server.port)
        world.node = node  # the pod lives on the stranger's kubelet
        p = await world.run_pod("web", [running("app")], node="stranger")
        node.write(p, "app", 0, ["hi"])
        status, _, message = await world.error("web")
        assert status == 500 and "certificate verify failed" in message
        # insecureSkipTLSVerifyBackend: the kubelet's certificate is not checked, as in kube.
        assert await world.logs("web", insecureSkipTLSVerifyBackend="true") == (200, "hi\n")
    finally:
        await server.close()
