"""NodeNetwork against a recording runner: the exact ip/nft commands, rollback on failure, the inventory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ferry.cluster.network import CommandError, NodeNetwork, NodeNetworkConfig
from ferry.cluster.network.hostcmd import IP, NFT, CommandResult

UID = "5f2c9a1e-0000-4000-8000-000000000001"


@dataclass
class Recorder:
    """Answers every command with success, except the ones in ``fail`` (by a substring of the command line)."""

    fail: set[str] = field(default_factory=set)
    missing_links: bool = True
    calls: list[str] = field(default_factory=list)

    async def __call__(
        self, argv: Sequence[str], *, stdin: str | None = None, check: bool = True
    ) -> CommandResult:
        line = " ".join(argv).replace(IP, "ip").replace(NFT, "nft")
        if stdin:
            line += " <<< " + " | ".join(x.strip() for x in stdin.strip().splitlines())
        self.calls.append(line)
        rc = 1 if any(f in line for f in self.fail) else 0
        if self.missing_links and line.startswith("ip -o link show"):
            rc = 1
        if rc and check:
            raise CommandError(argv, rc, "RTNETLINK answers: Operation not supported")
        return CommandResult(tuple(argv), rc, "", "")


def node(tmp_path: Path, recorder: Recorder, **kw: object) -> NodeNetwork:
    cfg = NodeNetworkConfig(pod_cidr="10.244.7.0/24", state_dir=tmp_path, proc_sys=tmp_path / "sys", **kw)  # type: ignore[arg-type]
    return NodeNetwork(cfg, runner=recorder)


async def test_setup_node_falls_back_to_a_bridge_without_dummy(tmp_path: Path) -> None:
    rec = Recorder(fail={"type dummy"})
    await node(tmp_path, rec).setup_node()
    assert rec.calls == [
        "ip -o link show dev ferry0",
        "ip link add name ferry0 mtu 1500 type bridge",
        "ip addr replace 10.244.7.1/24 dev ferry0",
        "ip link set dev ferry0 up",
        "ip -o link show dev ferry-svc0",
        "ip link add name ferry-svc0 type dummy",
        "ip -o link show dev ferry-svc0",  # a lost race would have left it there: it is not
        "ip link add name ferry-svc0 type bridge",
        "ip link set dev ferry-svc0 up",
    ]


class RacingRecorder(Recorder):
    """Another process creates the links between our 'does it exist' and our 'add'."""

    def __init__(self) -> None:
        super().__init__(fail=set())
        self.made: set[str] = set()

    async def __call__(
        self, argv: Sequence[str], *, stdin: str | None = None, check: bool = True
    ) -> CommandResult:
        line = " ".join(argv).replace(IP, "ip")
        self.calls.append(line)
        name = line.split()[-1] if "link show" in line else (line.split()[4] if " link add " in line else "")
        if "link show" in line:
            rc = 0 if name in self.made else 1
            if name not in self.made:
                self.made.add(name)  # the other process wins the race right after our check
            return CommandResult(tuple(argv), rc, "", "")
        if " link add " in line:
            if check:
                raise CommandError(argv, 2, "RTNETLINK answers: File exists")
            return CommandResult(tuple(argv), 2, "", "RTNETLINK answers: File exists")
        return CommandResult(tuple(argv), 0, "", "")


async def test_losing_the_setup_race_to_the_other_node_agent_is_fine(tmp_path: Path) -> None:
    rec = RacingRecorder()
    await node(tmp_path, rec).setup_node()  # no CommandError: "File exists" means the link is there
    assert "ip link add name ferry0 mtu 1500 type bridge" in rec.calls
    assert rec.calls[-1] == "ip link set dev ferry-svc0 up"


async def test_pod_sandbox_commands_and_names(tmp_path: Path) -> None:
    rec = Recorder()
    net = node(tmp_path, rec)
    pod = await net.create_pod_network(UID)
    assert (pod.ip, pod.gateway, pod.prefix_len, pod.netns_name) == (
        "10.244.7.2",
        "10.244.7.1",
        24,
        "ferry-5f2c9a1e",
    )
    assert pod.netns_path == "/run/netns/ferry-5f2c9a1e"
    assert len(pod.host_veth) == 15 and pod.host_veth.startswith("ferryv")
    veth = pod.host_veth
    assert rec.calls == [
        f"ip link del dev {veth}",  # leftovers of an interrupted attempt
        "ip -batch - <<< netns add ferry-5f2c9a1e"
        f" | link add name {veth} mtu 1500 type veth peer name eth0 mtu 1500 netns ferry-5f2c9a1e"
        f" | link set dev {veth} master ferry0 up",
        "ip -n ferry-5f2c9a1e -batch - <<< link set dev lo up | addr add 10.244.7.2/24 dev eth0"
        " | link set dev eth0 up | route add default via 10.244.7.1 dev eth0",
    ]
    rec.calls.clear()
    await net.delete_pod_network(UID)
    assert rec.calls == [f"ip link del dev {veth}"]
    assert net.ipam.allocations() == {}


async def test_a_failed_sandbox_is_rolled_back_and_its_ip_released(tmp_path: Path) -> None:
    rec = Recorder(fail={"route add default"})
    net = node(tmp_path, rec)
    with pytest.raises(CommandError, match="exited 1"):
        await net.create_pod_network(UID)
    assert rec.calls[-1].startswith("ip link del dev ferryv")
    assert net.ipam.allocations() == {}


async def test_teardown_removes_the_inventory_and_restores_ip_forward(tmp_path: Path) -> None:
    (tmp_path / "sys/net/ipv4").mkdir(parents=True)
    forward = tmp_path / "sys/net/ipv4/ip_forward"
    forward.write_text("0\n")
    rec = Recorder()
    net = node(tmp_path, rec, outbound_nat=True)
    await net.setup_node()
    assert forward.read_text() == "1\n"
    assert rec.calls[-1] == (
        "nft -f - <<< table ip ferry_nat { | chain postrouting { | type nat hook postrouting priority srcnat;"
        " policy accept; | ip saddr 10.244.7.0/24 ip daddr != 10.244.7.0/24 masquerade | } | }"
    )
    await net.create_pod_network(UID)
    await net.create_pod_network("other-pod")
    rec.calls.clear()
    rec.missing_links = False  # the bridge and the service link exist now
    await net.teardown_node()
    deletes = [c for c in rec.calls if " del" in c or "delete" in c]
    assert len([c for c in deletes if c.startswith("ip link del dev ferryv")]) == 2
    assert deletes[-3:] == [
        "ip link del dev ferry0",
        "ip link del dev ferry-svc0",
        "nft delete table ip ferry_nat",
    ]
    assert forward.read_text() == "0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sys"]  # state files gone


def test_a_prefix_too_long_for_interface_names_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at most 8 characters"):
        node(tmp_path, Recorder(), name_prefix="ferry-test")
