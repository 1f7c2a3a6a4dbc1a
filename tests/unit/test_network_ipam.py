"""Pod IPAM: sticky per pod, persisted across restarts, never handing one IP out twice, exhaustion."""

from __future__ import annotations

import json
import multiprocessing
import re
from pathlib import Path

import pytest

from ferry.cluster.network import IpamError, IpamExhausted, PodIpam


def test_first_ips_skip_network_and_gateway_and_are_sticky(tmp_path: Path) -> None:
    ipam = PodIpam("10.244.3.0/24", tmp_path / "ipam.json")
    assert ipam.gateway == "10.244.3.1"
    assert ipam.capacity == 253
    assert ipam.allocate("pod-a") == "10.244.3.2"
    assert ipam.allocate("pod-b") == "10.244.3.3"
    assert ipam.allocate("pod-a") == "10.244.3.2"  # the same pod keeps its IP
    assert ipam.allocations() == {"10.244.3.2": "pod-a", "10.244.3.3": "pod-b"}


def test_a_restart_keeps_the_ips_and_continues_after_the_last(tmp_path: Path) -> None:
    path = tmp_path / "ipam.json"
    first = PodIpam("10.244.0.0/24", path)
    a, b = first.allocate("a"), first.allocate("b")
    first.release("a")
    again = PodIpam("10.244.0.0/24", path)  # a new process reading the same file
    assert again.ip_of("b") == b
    assert again.ip_of("a") is None
    # the released IP is not reused at once: allocation continues after the last one handed out
    assert again.allocate("c") == "10.244.0.4"
    assert a == "10.244.0.2" and b == "10.244.0.3"
    state = json.loads(path.read_text())
    assert state == {
        "version": 1,
        "cidr": "10.244.0.0/24",
        "last": "10.244.0.4",
        "allocations": {"10.244.0.3": "b", "10.244.0.4": "c"},
    }
    assert not list(tmp_path.glob(".*.tmp")), "the atomic write left its temporary file"


def test_exhaustion_raises_and_a_release_makes_room(tmp_path: Path) -> None:
    ipam = PodIpam("10.244.9.0/29", tmp_path / "ipam.json")  # .2 .. .6: five pods
    ips = [ipam.allocate(f"pod-{i}") for i in range(5)]
    assert ips == [f"10.244.9.{n}" for n in range(2, 7)]
    with pytest.raises(IpamExhausted, match=r"all 5 are allocated"):
        ipam.allocate("pod-5")
    assert ipam.release("pod-2") == "10.244.9.4"
    assert ipam.release("pod-2") is None
    assert ipam.allocate("pod-5") == "10.244.9.4"


def test_wanted_ip_is_checked(tmp_path: Path) -> None:
    ipam = PodIpam("10.244.1.0/24", tmp_path / "ipam.json")
    assert ipam.allocate("a", want="10.244.1.77") == "10.244.1.77"
    with pytest.raises(IpamError, match="already allocated to pod a"):
        ipam.allocate("b", want="10.244.1.77")
    with pytest.raises(IpamError, match="must be a pod IP"):
        ipam.allocate("b", want="10.244.1.1")  # the gateway
    with pytest.raises(IpamError, match="must be a pod IP"):
        ipam.allocate("b", want="10.244.2.5")


def test_a_state_file_of_another_cidr_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ipam.json"
    PodIpam("10.244.0.0/24", path).allocate("a")
    with pytest.raises(IpamError, match=re.escape("is for pod CIDR 10.244.0.0/24, not 10.244.1.0/24")):
        PodIpam("10.244.1.0/24", path).allocate("b")
    path.write_text("{not json")
    with pytest.raises(IpamError, match="cannot be read"):
        PodIpam("10.244.0.0/24", path).allocations()


def _allocate_many(path: str, prefix: str, n: int) -> None:
    ipam = PodIpam("10.244.5.0/24", Path(path))
    for i in range(n):
        ipam.allocate(f"{prefix}-{i}")


def test_processes_allocating_at_once_never_share_an_ip(tmp_path: Path) -> None:
    path = tmp_path / "ipam.json"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_allocate_many, args=(str(path), f"p{k}", 40)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    allocations = PodIpam("10.244.5.0/24", path).allocations()
    assert len(allocations) == 160  # a lost update would leave fewer entries
    assert len(set(allocations.values())) == 160


def test_forget_removes_the_files(tmp_path: Path) -> None:
    ipam = PodIpam("10.244.0.0/24", tmp_path / "ipam.json")
    ipam.allocate("a")
    ipam.forget()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
