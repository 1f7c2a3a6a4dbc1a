"""End-to-end: signals to a runc container and the exit codes the kubelet reports for them.

The container's command is PID 1 of its PID namespace: the kernel delivers it only the signals it handles.
A shell that traps SIGTERM exits with what its handler says (143 here, the convention); a SIGKILL always ends it
and is reported as 128+9 = 137 with ``signal`` 9; a SIGTERM to an init *without* a handler is ignored, which is
why the kubelet follows SIGTERM with SIGKILL after the grace period.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from ferry.cluster.kubelet.runtime import RuncRuntime, parse_line
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, run

pytestmark = pytest.mark.e2e

# the fixtures this module uses, from the support module
busybox_image = support.busybox_image
runc_runtime = support.runc_runtime
spec_for = support.spec_for

READY = "echo ready; while :; do sleep 0.1; done"
TRAPPED = "trap 'echo got TERM; exit 143' TERM; " + READY


async def _started(runtime: RuncRuntime, spec_for: SpecFor, script: str) -> tuple[str, object]:
    spec = spec_for(args=[script])
    cid = await runtime.create(spec)
    await runtime.start(cid)
    for _ in range(200):  # until the shell has installed its trap and said so
        if spec.log_path.exists() and b"ready" in spec.log_path.read_bytes():
            break
        await asyncio.sleep(0.02)
    assert (await runtime.state(cid)).status == "running"
    return cid, spec


def test_sigterm_handled_by_the_container_gives_143(runc_runtime: RuncRuntime, spec_for: SpecFor) -> None:
    async def go() -> None:
        cid, spec = await _started(runc_runtime, spec_for, TRAPPED)
        await runc_runtime.kill(cid, signal.SIGTERM)
        status = await asyncio.wait_for(runc_runtime.wait(cid), 10)
        assert (status.exit_code, status.reason, status.signal) == (143, "Error", None)
        lines = [parse_line(x).content for x in spec.log_path.read_bytes().splitlines()]  # type: ignore[attr-defined]
        assert lines == [b"ready", b"got TERM"]
        await runc_runtime.delete(cid)

    run(go())


def test_sigkill_gives_137_with_the_signal(runc_runtime: RuncRuntime, spec_for: SpecFor) -> None:
    async def go() -> None:
        cid, _ = await _started(runc_runtime, spec_for, READY)
        await runc_runtime.kill(cid, signal.SIGKILL)
        status = await asyncio.wait_for(runc_runtime.wait(cid), 10)
        assert (status.exit_code, status.reason, status.signal) == (137, "Error", 9)
        await runc_runtime.kill(cid, signal.SIGTERM)  # a stopped container: not an error
        await runc_runtime.delete(cid)

    run(go())


def test_sigterm_without_a_handler_is_ignored_by_pid_1_until_sigkill(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    async def go() -> None:
        cid, _ = await _started(runc_runtime, spec_for, READY)
        await runc_runtime.kill(cid, signal.SIGTERM)
        await asyncio.sleep(0.5)
        assert (await runc_runtime.state(cid)).status == "running"
        await runc_runtime.kill(cid, signal.SIGKILL)
        assert (await asyncio.wait_for(runc_runtime.wait(cid), 10)).exit_code == 137
        await runc_runtime.delete(cid)

    run(go())


def test_delete_of_a_running_container_stops_it_and_leaves_nothing(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    async def go() -> None:
        cid, _ = await _started(runc_runtime, spec_for, READY)
        pid = (await runc_runtime.state(cid)).pid
        assert pid is not None
        await runc_runtime.delete(cid)
        assert await runc_runtime.list() == []
        for _ in range(100):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split(") ", 1)[1].startswith("Z"):
                        break
            except FileNotFoundError:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"process {pid} still alive after delete")
        # the runc_runtime fixture asserts: no runc state, bundle, mount or cgroup left

    run(go())
