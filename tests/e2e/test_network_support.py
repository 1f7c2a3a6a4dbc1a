"""Fixtures of the network end-to-end tests (no tests here): a node network with a unique prefix and CIDR, pods
running servers inside their netns, and before/after snapshots of the host's network configuration.

Everything a test creates is named ``ferry<3 hex>…`` (links, netns, the nft table) and removed by the fixture,
also when the test fails; processes are the ones the test started, stopped by their pid. The snapshot check
asserts that nothing carrying the test's prefix is left, that the host's own links, addresses, routes and netns
are exactly as before, that ``ip_forward`` is back, and that ``iptables -S`` and ``nft list ruleset`` are exactly
as before. Entries with "ferry" in them are left out of the host comparison: other sessions' tests (the
container runtime's ``ferry-test-*`` netns) come and go while ours run.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ferry.cluster.network import NodeNetwork, NodeNetworkConfig, PodNetwork

pytestmark = pytest.mark.e2e


def sh(*argv: str, check: bool = True) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr}")
    return proc.stdout


@dataclass(frozen=True)
class Snapshot:
    links: frozenset[str]
    addrs: frozenset[str]
    routes: frozenset[str]
    netns: frozenset[str]
    iptables: str
    nft: str
    ip_forward: str

    @classmethod
    def take(cls) -> Snapshot:
        links = {line.split(":")[1].strip().split("@")[0] for line in sh("ip", "-o", "link").splitlines()}
        addrs = {" ".join(line.split()[1:4]) for line in sh("ip", "-o", "addr").splitlines()}
        return cls(
            links=frozenset(links),
            addrs=frozenset(addrs),
            routes=frozenset(sh("ip", "route").splitlines()),
            netns=frozenset(
                line.split()[0] for line in sh("ip", "netns", "list").splitlines() if line.strip()
            ),
            iptables=sh("iptables", "-S") + sh("iptables", "-t", "nat", "-S"),
            nft=sh("nft", "list", "ruleset"),
            ip_forward=Path("/proc/sys/net/ipv4/ip_forward").read_text(),
        )

    def assert_restored(self, before: Snapshot, prefix: str) -> None:
        ours = [x for x in (*self.links, *self.netns, *self.addrs, *self.routes, self.nft) if prefix in x]
        assert ours == [], f"left behind: {ours}"
        for kind in ("links", "addrs", "routes", "netns"):
            was, now = host_only(getattr(before, kind)), host_only(getattr(self, kind))
            assert was == now, f"host {kind} changed: gone {sorted(was - now)}, new {sorted(now - was)}"
        assert self.iptables == before.iptables
        assert self.nft == before.nft
        assert self.ip_forward == before.ip_forward


def host_only(entries: frozenset[str]) -> frozenset[str]:
    """The host's own entries: without anything of a ferry test (ours, or another session's running meanwhile)."""
    return frozenset(e for e in entries if "ferry" not in e)


def free_cidr() -> str:
    """A /24 of 10.244.0.0/16 that no host route touches."""
    routes = sh("ip", "route").split()
    for _ in range(100):
        cidr = ipaddress.IPv4Network(f"10.244.{100 + secrets.randbelow(150)}.0/24")
        if not any(r.startswith(str(cidr.network_address)[:-1]) for r in routes):
            return str(cidr)
    raise AssertionError("no free /24 in 10.244.0.0/16")


@dataclass
class Node:
    net: NodeNetwork
    prefix: str
    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    async def pod(self, name: str, *, port: int = 3000) -> PodNetwork:
        """A pod sandbox with ``python3 -m http.server`` on 0.0.0.0:``port`` serving ``/who`` = ``name``."""
        pod = await self.net.create_pod_network(f"{secrets.token_hex(4)}-{name}")
        root = self.tmp / f"www-{name}"
        root.mkdir()
        (root / "who").write_text(name)
        self.spawn(
            pod, "python3", "-m", "http.server", str(port), "--bind", "0.0.0.0", "--directory", str(root)
        )
        wait_listening(pod, port)
        return pod

    def spawn(self, pod: PodNetwork, *argv: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", pod.netns_name, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop_processes(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # the group of a process this test started
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def wait_listening(pod: PodNetwork, port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        out = sh("ip", "netns", "exec", pod.netns_name, "ss", "-Hltn", f"sport = :{port}", check=False)
        if out.strip():
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} in {pod.netns_name}")


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    before = Snapshot.take()
    prefix = "ferry" + secrets.token_hex(2)[:3]
    net = NodeNetwork(
        NodeNetworkConfig(pod_cidr=free_cidr(), state_dir=tmp_path / "network", name_prefix=prefix)
    )
    n = Node(net, prefix, tmp_path)
    try:
        await net.setup_node()
        yield n
    finally:
        n.stop_processes()
        await net.teardown_node()
        Snapshot.take().assert_restored(before, prefix)


def http_get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return str(resp.read().decode())


async def get_from_host(url: str) -> str:
    return await asyncio.to_thread(http_get, url)


GET_SCRIPT = "import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=5).read().decode())"


async def in_pod(pod: PodNetwork, *argv: str, timeout: float = 20.0) -> str:
    """Run a command in the pod's netns without blocking the event loop (the proxy and DNS live in it)."""
    proc = await asyncio.create_subprocess_exec(
        "ip",
        "netns",
        "exec",
        pod.netns_name,
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{argv} in {pod.netns_name} exited {proc.returncode}: {err.decode()}")
    return out.decode().strip()


async def get_from_pod(pod: PodNetwork, url: str) -> str:
    return await in_pod(pod, sys.executable, "-c", GET_SCRIPT, url)


def iter_lines(text: str) -> Iterator[str]:
    yield from (line for line in text.splitlines() if line.strip())
