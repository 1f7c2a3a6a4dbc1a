"""Fakes of the network agent's unit tests (no tests here): informers that drive the agent's handlers and syncs,
a recording ``ip``/``nft`` runner, and backends on loopback addresses that greet with their name."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.cluster.controllers.runtime.fakes import FakeLister, RecordingRecorder
from ferry.cluster.network.agent import NODES, PODS, SERVICES, SLICES, NetworkAgent, NetworkAgentConfig
from ferry.cluster.network.hostcmd import CommandError, CommandResult


@dataclass
class Runner:
    """Records every command; answers exit 0 and ``outputs[argv]`` (or fails once per ``failures`` entry)."""

    calls: list[tuple[str, ...]] = field(default_factory=list)
    outputs: dict[tuple[str, ...], str] = field(default_factory=dict)
    failures: list[tuple[str, ...]] = field(default_factory=list)

    async def __call__(
        self, argv: Sequence[str], *, stdin: str | None = None, check: bool = True
    ) -> CommandResult:
        args = (Path(argv[0]).name, *argv[1:])
        self.calls.append(args)
        if args in self.failures:
            self.failures.remove(args)
            if check:
                raise CommandError(argv, 2, "RTNETLINK answers: File exists")
            return CommandResult(tuple(argv), 2, "", "RTNETLINK answers: File exists")
        return CommandResult(tuple(argv), 0, self.outputs.get(args, ""), "")

    def saw(self, *args: str) -> bool:
        return tuple(args) in self.calls


class Informers:
    """The agent's informers in a test: put objects, fire its handlers, run the syncs of the keys they return."""

    def __init__(self) -> None:
        self.listers = {r: FakeLister() for r in (SERVICES, SLICES, PODS, NODES)}
        self.agent: NetworkAgent | None = None
        self.keys: list[str] = []

    async def _fire(self, keys: Any) -> None:
        assert self.agent is not None
        for key in keys or ():
            self.keys.append(key)
            await self.agent.sync(key)

    async def add(self, resource: str, obj: dict[str, Any]) -> None:
        obj = copy.deepcopy(obj)
        self.listers[resource].put(obj)
        assert self.agent is not None
        await self._fire(self.agent.handlers()[resource].on_add(obj))  # type: ignore[misc]

    async def update(self, resource: str, obj: dict[str, Any]) -> None:
        m = obj["metadata"]
        old = self.listers[resource].get(m.get("namespace"), m["name"])
        assert old is not None
        new = copy.deepcopy(obj)
        self.listers[resource].put(new)
        assert self.agent is not None
        await self._fire(self.agent.handlers()[resource].on_update(old, new))  # type: ignore[misc]

    async def resync(self, resource: str, obj: dict[str, Any]) -> None:
        m = obj["metadata"]
        cached = self.listers[resource].get(m.get("namespace"), m["name"])
        assert self.agent is not None and cached is not None
        await self._fire(self.agent.handlers()[resource].on_update(cached, cached))  # type: ignore[misc]

    async def delete(self, resource: str, obj: dict[str, Any]) -> None:
        m = obj["metadata"]
        old = self.listers[resource].get(m.get("namespace"), m["name"])
        self.listers[resource].remove(m.get("namespace"), m["name"])
        assert self.agent is not None and old is not None
        await self._fire(self.agent.handlers()[resource].on_delete(old))  # type: ignore[misc]


def make_agent(
    tmp: Path, informers: Informers, runner: Runner, *, uid: int = 0, **config: Any
) -> tuple[NetworkAgent, RecordingRecorder]:
    settings: dict[str, Any] = dict(
        state_dir=tmp / "network",
        pod_cidr="10.244.7.0/24",
        dns_host="127.0.0.1",
        dns_port=0,
        dns_upstreams=(),
        setup_retry_seconds=0.01,
    )
    settings.update(config)
    recorder = RecordingRecorder()
    agent = NetworkAgent(
        NetworkAgentConfig(**settings),
        services=informers.listers[SERVICES],
        slices=informers.listers[SLICES],
        pods=informers.listers[PODS],
        nodes=informers.listers[NODES],
        recorder=recorder,
        runner=runner,
        euid=lambda: uid,
    )
    informers.agent = agent
    return agent, recorder


async def until(check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def greeters(*hosts: str) -> AsyncIterator[int]:
    """Servers on ``hosts`` (one port free on all) that write their host and close: which backend answered."""

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(str(writer.get_extra_info("sockname")[0]).encode())
        await writer.drain()
        writer.close()

    from tests.unit.test_network_proxy import free_port

    port = free_port(*hosts)
    servers = [await asyncio.start_server(greet, h, port) for h in hosts]
    try:
        yield port
    finally:
        for s in servers:
            s.close()
            await s.wait_closed()


async def who(host: str, port: int) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        return (await asyncio.wait_for(reader.read(), 5)).decode()
    finally:
        writer.close()
