"""End-to-end: containers join the pod's network namespace (``ip netns add ferry-test-<hex>``).

Two containers of one pod share it: the second reaches the first over 127.0.0.1, both see the same
namespace (its inode), and it is not the host's. A container without a netns path uses the host's network.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from ferry.cluster.kubelet.runtime import RuncRuntime, parse_line
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, run

pytestmark = pytest.mark.e2e

# the fixtures this module uses, from the support module
busybox_image = support.busybox_image
netns = support.netns
runc_runtime = support.runc_runtime
spec_for = support.spec_for

NS_INODE = "ls -Li /proc/self/ns/net | cut -d' ' -f1"


def _lines(path: Path) -> list[str]:
    return [parse_line(x).content.decode() for x in path.read_bytes().splitlines()] if path.exists() else []


def test_two_containers_in_one_netns_talk_over_loopback(
    runc_runtime: RuncRuntime, spec_for: SpecFor, netns: Path
) -> None:
    # `sleep 30 |`: busybox nc quits when its stdin ends, which could be before the message arrives
    server = spec_for("server", args=[f"{NS_INODE}; sleep 30 | nc -l -p 7000"], netns_path=netns)
    send = "until echo ping-from-client | nc 127.0.0.1 7000; do sleep 0.05; done"  # until the server listens
    client = spec_for("client", args=[f"{NS_INODE}; {send}"], netns_path=netns)

    async def go() -> None:
        sid = await runc_runtime.create(server)
        await runc_runtime.start(sid)
        cid = await runc_runtime.create(client)
        await runc_runtime.start(cid)
        assert (await asyncio.wait_for(runc_runtime.wait(cid), 20)).exit_code == 0
        for _ in range(250):
            if "ping-from-client" in _lines(server.log_path):
                break
            await asyncio.sleep(0.02)
        await runc_runtime.kill(sid, signal.SIGKILL)
        assert (await asyncio.wait_for(runc_runtime.wait(sid), 20)).exit_code == 137
        for c in (sid, cid):
            await runc_runtime.delete(c)
        server_lines, client_lines = _lines(server.log_path), _lines(client.log_path)
        assert server_lines[1:] == ["ping-from-client"]
        assert server_lines[0] == client_lines[0] == str(os.stat(netns).st_ino)
        assert server_lines[0] != str(os.stat("/proc/self/ns/net").st_ino)

    run(go())


def test_without_a_netns_the_container_uses_the_host_network(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    async def go() -> None:
        spec = spec_for(args=[NS_INODE])
        cid = await runc_runtime.create(spec)
        await runc_runtime.start(cid)
        assert (await runc_runtime.wait(cid)).exit_code == 0
        await runc_runtime.delete(cid)
        assert _lines(spec.log_path) == [str(os.stat("/proc/self/ns/net").st_ino)]

    run(go())
