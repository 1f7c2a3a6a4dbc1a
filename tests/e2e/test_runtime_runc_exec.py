"""End-to-end: ``exec_sync`` (CRI ExecSync, what exec probes and exec hooks use) in a running container.

The command runs inside the container as its main process does: same env, working dir, user, files, network
namespace and cgroup. Its exit code and output come back; a timeout kills it (``timed_out``) and the container
keeps running; a stopped container refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from ferry.cluster.kubelet.runtime import ContainerRuntimeError, Mount, RuncRuntime
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, run

pytestmark = pytest.mark.e2e

# the fixtures this module uses, from the support module
busybox_image = support.busybox_image
netns = support.netns
runc_runtime = support.runc_runtime
spec_for = support.spec_for

MAIN = "echo ready > /data/ready; while :; do sleep 0.1; done"


def test_exec_sees_the_containers_env_files_user_and_netns(
    runc_runtime: RuncRuntime, spec_for: SpecFor, netns: Path, tmp_path: Path
) -> None:
    async def go() -> None:
        data = tmp_path / "data"
        data.mkdir(mode=0o777)
        data.chmod(0o777)
        spec = spec_for(
            args=[MAIN],
            env=[("PROBE_TOKEN", "s3cret")],
            uid=1000,
            gid=1000,
            netns_path=netns,
            mounts=[Mount(data, "/data")],
        )
        cid = await runc_runtime.create(spec)
        await runc_runtime.start(cid)
        script = (
            "cat /data/ready; echo $PROBE_TOKEN; pwd; id -u; ls -Li /proc/self/ns/net | cut -d' ' -f1; exit 4"
        )
        for _ in range(100):
            result = await runc_runtime.exec_sync(cid, ["/bin/sh", "-c", script], timeout_seconds=10)
            if result.stdout.startswith(b"ready"):
                break
            await asyncio.sleep(0.02)
        assert (result.exit_code, result.timed_out, result.stderr) == (4, False, b"")
        assert result.stdout.decode().splitlines() == [
            "ready",
            "s3cret",
            "/work",
            "1000",
            str(os.stat(netns).st_ino),
        ]
        err = await runc_runtime.exec_sync(cid, ["sh", "-c", "echo oops >&2; exit 0"], timeout_seconds=10)
        assert (err.exit_code, err.stdout, err.stderr) == (0, b"", b"oops\n")
        await runc_runtime.kill(cid, signal.SIGKILL)
        await runc_runtime.wait(cid)
        with pytest.raises(ContainerRuntimeError, match="is not running"):
            await runc_runtime.exec_sync(cid, ["true"], timeout_seconds=5)
        await runc_runtime.delete(cid)

    run(go())


def test_exec_timeout_kills_the_command_not_the_container(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    async def go() -> None:
        cid = await runc_runtime.create(spec_for(args=["while :; do sleep 0.1; done"]))
        await runc_runtime.start(cid)
        began = time.monotonic()
        result = await runc_runtime.exec_sync(
            cid, ["sh", "-c", "echo started; sleep 30"], timeout_seconds=0.5
        )
        assert time.monotonic() - began < 5
        assert (result.timed_out, result.exit_code) == (True, 137)
        assert result.stdout == b"started\n"
        assert (await runc_runtime.state(cid)).status == "running"
        cmdlines = []
        for pid in runc_runtime.cgroup(cid).pids():  # what is still alive in the container (zombies leave it)
            with contextlib.suppress(FileNotFoundError):
                cmdlines.append(Path(f"/proc/{pid}/cmdline").read_bytes())
        assert b"sleep\x0030\x00" not in cmdlines and cmdlines
        await runc_runtime.delete(cid)

    run(go())
