"""The network agent's lifetime: no root → it only says so; the pod CIDR from the Node; setup retried; stale
ClusterIPs of a previous run removed before the proxy starts; a teardown that survives the manager's cancel."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ferry.cluster.network.agent import NODES, SERVICES
from tests.unit.test_network_agent_support import Informers, Runner, make_agent, until
from tests.unit.test_network_support import service

SHOW_SVC = ("ip", "-o", "-4", "addr", "show", "dev", "ferry-svc0")


async def test_without_root_it_reports_and_does_nothing(tmp_path: Path) -> None:
    informers, runner = Informers(), Runner()
    agent, recorder = make_agent(tmp_path, informers, runner, uid=1000)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    await until(lambda: agent.state == "disabled")
    await informers.add(SERVICES, service("web", ip="127.0.0.10"))  # still fed, never served
    stop.set()
    await asyncio.wait_for(task, 5)
    assert runner.calls == []
    assert agent.reason == "not running as root (uid 1000)"
    assert recorder.events == [
        (
            "None/ferry-node-1",
            "Warning",
            "NetworkAgentDisabled",
            "not running as root (uid 1000): this node serves no ClusterIPs, NodePorts or cluster DNS",
        )
    ]
    assert not (tmp_path / "network").exists()


async def test_the_pod_cidr_comes_from_the_node_once_it_has_one(tmp_path: Path) -> None:
    informers, runner = Informers(), Runner()
    agent, recorder = make_agent(tmp_path, informers, runner, pod_cidr=None)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await until(lambda: agent.state == "waiting")
        await informers.add(NODES, {"metadata": {"name": "other-node"}, "spec": {"podCIDR": "10.244.1.0/24"}})
        await informers.add(NODES, {"metadata": {"name": "ferry-node-1"}, "spec": {}})
        await asyncio.sleep(0.05)
        assert agent.state == "waiting" and runner.calls == []
        await informers.update(
            NODES, {"metadata": {"name": "ferry-node-1"}, "spec": {"podCIDR": "10.244.9.0/24"}}
        )
        await until(lambda: agent.state == "running")
        assert runner.saw("ip", "addr", "replace", "10.244.9.1/24", "dev", "ferry0")
        assert recorder.events[-1][:3] == ("None/ferry-node-1", "Normal", "Starting")
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_a_failed_node_setup_is_retried(tmp_path: Path) -> None:
    informers, runner = Informers(), Runner()
    runner.failures.append(("ip", "link", "set", "dev", "ferry0", "up"))  # e.g. the kubelet raced us
    agent, _ = make_agent(tmp_path, informers, runner)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await until(lambda: agent.state == "running")
        assert runner.calls.count(("ip", "link", "set", "dev", "ferry0", "up")) == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_a_restart_removes_addresses_of_services_deleted_meanwhile_before_serving(
    tmp_path: Path,
) -> None:
    informers, runner = Informers(), Runner()
    agent, _ = make_agent(tmp_path, informers, runner)
    informers.listers[SERVICES].put(service("web", ip="127.0.0.10"))  # in the cache before run starts
    runner.outputs[SHOW_SVC] = (
        "7: ferry-svc0    inet 127.0.0.10/32 scope global ferry-svc0\\       valid_lft forever\n"
        "7: ferry-svc0    inet 127.0.0.99/32 scope global ferry-svc0\\       valid_lft forever\n"
    )
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await until(lambda: agent.state == "running")
        delete_stale = runner.calls.index(("ip", "addr", "del", "127.0.0.99/32", "dev", "ferry-svc0"))
        add_live = runner.calls.index(("ip", "addr", "replace", "127.0.0.10/32", "dev", "ferry-svc0"))
        assert runner.calls.index(SHOW_SVC) < delete_stale < add_live
        assert not runner.saw("ip", "addr", "del", "127.0.0.10/32", "dev", "ferry-svc0")
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_stop_then_cancel_still_tears_the_node_down(tmp_path: Path) -> None:
    informers, runner = Informers(), Runner()
    agent, _ = make_agent(tmp_path, informers, runner)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    await until(lambda: agent.state == "running")
    await informers.add(SERVICES, service("web", ip="127.0.0.10"))
    await agent.proxy.synced()  # type: ignore[union-attr]
    stop.set()
    task.cancel()  # what the controller manager does right after setting stop
    await asyncio.gather(task, return_exceptions=True)
    assert agent.state == "stopped" and agent.proxy is None and agent.dns is None
    assert runner.saw("ip", "link", "del", "dev", "ferry0")
    assert runner.saw("ip", "link", "del", "dev", "ferry-svc0")
    assert not runner.saw("ip", "addr", "del", "127.0.0.10/32", "dev", "ferry-svc0")  # went with the link
    assert not (tmp_path / "network" / "node.json").exists()


async def test_without_teardown_on_stop_the_node_stays_and_only_the_addresses_go(tmp_path: Path) -> None:
    informers, runner = Informers(), Runner()
    agent, _ = make_agent(tmp_path, informers, runner, teardown_on_stop=False)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    await until(lambda: agent.state == "running")
    await informers.add(SERVICES, service("web", ip="127.0.0.10"))
    await agent.proxy.synced()  # type: ignore[union-attr]
    stop.set()
    await asyncio.wait_for(task, 5)
    assert runner.saw("ip", "addr", "del", "127.0.0.10/32", "dev", "ferry-svc0")
    assert not any(c[:3] == ("ip", "link", "del") for c in runner.calls)
    assert (tmp_path / "network" / "node.json").exists()


async def test_a_cancel_while_setting_up_still_tears_down_what_was_made(tmp_path: Path) -> None:
    informers, runner = Informers(), Runner()
    runner.failures.append(("ip", "link", "set", "dev", "ferry0", "up"))
    agent, _ = make_agent(tmp_path, informers, runner, setup_retry_seconds=30.0)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    await until(lambda: agent.reason.startswith("node setup failed"))
    stop.set()
    task.cancel()  # lands inside the setup's back-off wait
    await asyncio.gather(task, return_exceptions=True)
    assert agent.state == "stopped"
    assert runner.saw("ip", "link", "del", "dev", "ferry0")
    assert not (tmp_path / "network" / "node.json").exists()


async def test_a_teardown_raced_by_the_kubelet_is_finished_on_a_second_pass(tmp_path: Path) -> None:
    informers, runner = Informers(), Runner()
    agent, _ = make_agent(tmp_path, informers, runner)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    await until(lambda: agent.state == "running")
    runner.failures.append(("ip", "link", "del", "dev", "ferry0"))  # "Cannot find device": deleted meanwhile
    stop.set()
    await asyncio.wait_for(task, 5)
    assert runner.calls.count(("ip", "link", "del", "dev", "ferry-svc0")) == 1
    assert not (tmp_path / "network" / "node.json").exists()


def test_the_spec_builds_the_agent_from_a_config_made_in_the_child(tmp_path: Path) -> None:
    from ferry.cluster.controllers.runtime.fakes import FakeClock, RecordingRecorder
    from ferry.cluster.controllers.runtime.manager import ControllerContext
    from ferry.cluster.network.agent import NetworkAgent, NetworkAgentConfig, network_agent

    made: list[str] = []

    def config() -> NetworkAgentConfig:
        made.append("config")
        return NetworkAgentConfig(state_dir=tmp_path / "network", name_prefix="fx1")

    spec = network_agent(config)
    assert (spec.name, spec.workers, made) == ("kube-proxy", 2, [])
    informers = Informers()

    class Factory:
        def informer(self, resource: str) -> object:
            return informers.listers[resource]

    ctx = ControllerContext("kube-proxy", None, RecordingRecorder(), FakeClock(), Factory())  # type: ignore[arg-type]
    agent = spec.build(ctx)
    assert isinstance(agent, NetworkAgent) and made == ["config"]
    assert agent.config.name_prefix == "fx1" and set(agent.handlers()) == {
        SERVICES,
        NODES,
        *informers.listers,
    }
