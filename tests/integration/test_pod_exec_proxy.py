"""pods/exec and pods/portforward through the API server's streaming proxy, against kubelets run in-process.

The exec tests play the runtime: the kubelet API (:func:`start_kubelet_server`) gets an ``exec_stream`` that runs
the command on the host with :func:`ferry.cluster.kubelet.runtime.interactive.spawn`, and records what it was
asked. The port-forward test's kubelet is a bare WebSocket server that echoes, to check that the proxy passes
subprotocol and binary messages through unchanged.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from ferry.cluster.apiserver.auth import Attributes, Decision
from ferry.cluster.kubelet.runtime import interactive
from ferry.cluster.kubelet.runtime.interactive import InteractiveExec
from ferry.cluster.kubelet.server import ensure_kubelet_serving_cert, start_kubelet_server
from tests.integration.conftest import Cluster
from tests.integration.pod_logs_support import LogWorld
from tests.unit.kubelet_server_support import FakeNode, running, waiting

V5 = "v5.channel.k8s.io"


@dataclass
class HostRuntime:
    calls: list[tuple[str, list[str], bool, bool]] = field(default_factory=list)

    async def exec_stream(
        self,
        cid: Any,
        argv: list[str],
        *,
        tty: bool,
        stdin: bool,
        stderr: bool = True,
        winsize: tuple[int, int] | None = None,
    ) -> InteractiveExec:
        self.calls.append((str(cid), argv, tty, stdin))
        return await interactive.spawn(argv, tty=tty, stdin=stdin, stderr=stderr, winsize=winsize)


@dataclass
class ExecWorld(LogWorld):
    runtime: HostRuntime = field(default_factory=HostRuntime)

    def url(self, sub: str, pod: str, query: list[tuple[str, str]]) -> str:
        base = self.api.server.replace("https://", "wss://")
        return f"{base}/api/v1/namespaces/{self.namespace}/pods/{pod}/{sub}?{urlencode(query)}"

    async def exec(self, pod: str, argv: list[str], *, stdin: bytes | None = None, **flags: str) -> Any:
        """Run ``argv`` over v5; ``(channel → bytes, status, close code)``."""
        query = [("command", a) for a in argv] + [("stdout", "true"), ("stderr", "true")]
        query += [(k, v) for k, v in flags.items()] + ([("stdin", "true")] if stdin is not None else [])
        headers = {"Authorization": f"Bearer {self.api.token}"}
        out: dict[int, bytes] = {}
        async with self.api.session.ws_connect(
            self.url("exec", pod, query), protocols=[V5], ssl=self.api.ssl, headers=headers
        ) as ws:
            assert ws.protocol == V5
            if stdin is not None:
                await ws.send_bytes(b"\x00" + stdin)
                await ws.send_bytes(b"\xff\x00")
            async for msg in ws:
                assert msg.type == aiohttp.WSMsgType.BINARY
                out[msg.data[0]] = out.get(msg.data[0], b"") + msg.data[1:]
            status = json.loads(out.pop(3))
            return out, status, ws.close_code


@pytest.fixture(name="world")
async def exec_world(cluster: Cluster) -> AsyncIterator[ExecWorld]:
    pki = cluster.config.data_dir / "pki"
    node = FakeNode(cluster.config.data_dir / "kubelet-logs")
    runtime = HostRuntime()
    server = await start_kubelet_server(
        "127.0.0.1",
        0,
        node.log_file_for,
        pods=node.lookup,
        tls=ensure_kubelet_serving_cert(pki, "node-x"),
        exec_stream=runtime.exec_stream,
    )
    try:
        w = ExecWorld(cluster.api, node, server, "node-x", "default", runtime)
        await w.register_node("node-x", port=server.port)
        yield w
    finally:
        await server.close()


async def test_exec_streams_stdout_stderr_and_a_non_zero_exit(world: ExecWorld) -> None:
    await world.run_pod("web", [running("app")])
    out, status, code = await world.exec("web", ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert out == {1: b"out\n", 2: b"err\n"}
    assert status == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command "
        "[sh -c echo out; echo err >&2; exit 3], exit code 3",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }
    assert code == 1000
    assert world.runtime.calls == [("app-0", ["sh", "-c", "echo out; echo err >&2; exit 3"], False, False)]


async def test_exec_feeds_stdin_until_the_close_signal(world: ExecWorld) -> None:
    await world.run_pod("web", [running("app")])
    out, status, code = await world.exec("web", ["sh", "-c", "cat; echo done"], stdin=b"a\nb\n")
    assert (out, status, code) == ({1: b"a\nb\ndone\n"}, {"metadata": {}, "status": "Success"}, 1000)


async def test_exec_with_tty_merges_streams_onto_one_terminal(world: ExecWorld) -> None:
    await world.run_pod("web", [running("app")])
    out, status, _ = await world.exec("web", ["sh", "-c", "test -t 0 && echo tty; echo e >&2"], tty="true")
    assert out == {1: b"tty\r\ne\r\n"}
    assert status["status"] == "Success"


async def test_pings_are_answered_through_the_proxy(world: ExecWorld) -> None:
    """kubectl pings every 5 s and gives up after 61 s without a pong."""
    await world.run_pod("web", [running("app")])
    query = [("command", "sh"), ("command", "-c"), ("command", "cat"), ("stdin", "true"), ("stdout", "true")]
    headers = {"Authorization": f"Bearer {world.api.token}"}
    async with world.api.session.ws_connect(
        world.url("exec", "web", query), protocols=[V5], ssl=world.api.ssl, headers=headers, autoping=False
    ) as ws:
        await ws.ping(b"are you there")
        pong = await ws.receive(timeout=10)
        assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"are you there")
        await ws.send_bytes(b"\x00still here\n")
        assert (await ws.receive(timeout=10)).data == b"\x01still here\n"
        await ws.send_bytes(b"\xff\x00")
        status = await ws.receive(timeout=10)
        assert json.loads(status.data[1:]) == {"metadata": {}, "status": "Success"}


async def _refusal(world: ExecWorld, sub: str, pod: str, query: list[tuple[str, str]]) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {world.api.token}"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await world.api.session.ws_connect(
            world.url(sub, pod, query), protocols=[V5], ssl=world.api.ssl, headers=headers
        )
    r = await world.api.get(
        world.url(sub, pod, query).replace("wss://", "https://").removeprefix(world.api.server),
        headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1"},
    )
    assert r.status == caught.value.status
    return r.status, r.raw.decode()


async def test_refusals_are_worded_as_kube_words_them(world: ExecWorld) -> None:
    await world.run_pod("web", [running("app")])
    await world.run_pod("early", [waiting("app", "ContainerCreating")])
    await world.run_pod("loose", [running("app")], node=None)
    cmd = [("command", "true"), ("stdout", "true")]
    status, body = await _refusal(world, "exec", "ghost", cmd)
    assert (status, json.loads(body)["message"]) == (404, 'pods "ghost" not found')
    status, body = await _refusal(world, "exec", "web", [*cmd, ("container", "nope")])
    assert (status, json.loads(body)["message"]) == (400, "container nope is not valid for pod web")
    status, body = await _refusal(world, "exec", "web", [("stdout", "true")])
    assert json.loads(body)["message"] == "you must specify at least one command for the container"
    status, body = await _refusal(world, "exec", "loose", cmd)
    assert (status, json.loads(body)["message"]) == (400, "pod loose does not have a host assigned")
    # the kubelet's own refusal is passed through as it wrote it (kubectl: "unable to upgrade connection: …")
    assert await _refusal(world, "exec", "early", cmd) == (500, 'container not found ("app")')
    status, body = await _refusal(world, "attach", "web", [("stdout", "true")])
    assert status == 400 and json.loads(body)["message"].startswith("ferry does not support attach")
    assert world.runtime.calls == []


async def test_a_plain_get_needs_an_upgrade_and_spdy_gets_a_clear_answer(world: ExecWorld) -> None:
    await world.run_pod("web", [running("app")])
    path = f"/api/v1/namespaces/default/pods/web/exec?{urlencode([('command', 'true'), ('stdout', 'true')])}"
    r = await world.api.get(path)
    assert (r.status, r.body["message"]) == (400, "Upgrade request required")
    r = await world.api.post(path, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1"})
    assert r.status == 400 and "over WebSocket only" in r.body["message"]
    assert world.runtime.calls == []


@dataclass
class NoCreate:
    """An authorizer that records every decision and refuses ``create``."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)

    def authorize(self, attrs: Attributes) -> Decision:
        self.seen.append((attrs.verb, attrs.resource, attrs.subresource))
        return Decision(attrs.verb != "create")


async def test_a_websocket_exec_also_needs_create_on_pods_exec(world: ExecWorld, cluster: Cluster) -> None:
    await world.run_pod("web", [running("app")])
    authorizer = NoCreate()
    cluster.ctx.authorizer = authorizer
    headers = {"Authorization": f"Bearer {world.api.token}"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await world.api.session.ws_connect(
            world.url("exec", "web", [("command", "true"), ("stdout", "true")]),
            protocols=[V5],
            ssl=world.api.ssl,
            headers=headers,
        )
    assert caught.value.status == 403
    assert [s for s in authorizer.seen if s[1] == "pods"] == [
        ("get", "pods", "exec"),
        ("create", "pods", "exec"),
    ]
    assert world.runtime.calls == []


async def _echo_kubelet(cluster: Cluster) -> tuple[web.AppRunner, int, list[str]]:
    seen: list[str] = []

    async def forward(request: web.Request) -> web.WebSocketResponse:
        seen.append(request.path_qs)
        ws = web.WebSocketResponse(protocols=("SPDY/3.1+portforward.k8s.io",))
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
            else:
                await ws.send_str(msg.data.upper())
        return ws

    app = web.Application()
    app.router.add_get("/portForward/{namespace}/{pod}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    pair = ensure_kubelet_serving_cert(cluster.config.data_dir / "pki", "node-pf")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    return runner, int(runner.addresses[0][1]), seen


async def test_portforward_passes_the_subprotocol_and_raw_messages_through(
    world: ExecWorld, cluster: Cluster
) -> None:
    runner, port, seen = await _echo_kubelet(cluster)
    try:
        await world.register_node("node-pf", port=port)
        await world.run_pod("db", [running("pg")], node="node-pf")
        headers = {"Authorization": f"Bearer {world.api.token}"}
        async with world.api.session.ws_connect(
            world.url("portforward", "db", [("ports", "5432")]),
            protocols=["SPDY/3.1+portforward.k8s.io"],
            ssl=world.api.ssl,
            headers=headers,
        ) as ws:
            assert ws.protocol == "SPDY/3.1+portforward.k8s.io"
            await ws.send_bytes(b"\x80\x03\x00\x01raw")
            assert (await ws.receive()).data == b"war\x01\x00\x03\x80"
            await ws.send_str("text")
            assert (await ws.receive()).data == "TEXT"
        assert seen == ["/portForward/default/db?ports=5432"]
    finally:
        await runner.cleanup()
