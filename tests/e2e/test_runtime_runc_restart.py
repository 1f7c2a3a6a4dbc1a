"""End-to-end: containers outlive the kubelet's runtime object (the shim owns them, the state is on disk).

A second ``RuncRuntime`` on the same state directory (what a restarted kubelet makes) lists the container,
sees it running, reads the logs it keeps writing, stops it and gets its exit code. A spec that cannot run
fails at ``create`` with nothing left behind, and a missing executable is a ``StartError`` with runc's message.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest

from ferry.cluster.kubelet.runtime import ContainerConfigError, RuncRuntime, StartError, parse_line
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, run

pytestmark = pytest.mark.e2e

# the fixtures this module uses, from the support module
busybox_image = support.busybox_image
runc_runtime = support.runc_runtime
spec_for = support.spec_for


def test_a_new_runtime_object_takes_over_running_containers(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    spec = spec_for(
        args=["trap 'echo bye; exit 0' TERM; i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.05; done"]
    )

    async def first() -> str:
        cid = await runc_runtime.create(spec)
        await runc_runtime.start(cid)
        return cid

    cid = run(first())  # that event loop (and everything the runtime object had in memory) is gone now

    async def second() -> None:
        again = RuncRuntime(runc_runtime.state_dir, cgroup_root=runc_runtime.cgroup_root)
        assert await again.list() == [cid]
        assert (await again.state(cid)).status == "running"
        size = spec.log_path.stat().st_size
        await asyncio.sleep(0.3)
        assert spec.log_path.stat().st_size > size  # the shim still writes the logs
        await again.kill(cid, signal.SIGTERM)
        status = await asyncio.wait_for(again.wait(cid), 10)
        assert (status.exit_code, status.reason) == (0, "Completed")
        lines = [parse_line(x).content for x in spec.log_path.read_bytes().splitlines()]
        assert lines[0] == b"tick 0" and lines[-1] == b"bye" and len(lines) >= 5
        await again.delete(cid)

    run(second())


def test_a_spec_without_any_command_fails_at_create_and_leaves_nothing(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    image = spec_for().image
    empty = type(image)(image.image, image.reference, image.digest, {"config": {}}, image.rootfs)
    with pytest.raises(ContainerConfigError, match="no command specified"):
        run(runc_runtime.create(spec_for(image=empty)))
    assert run(runc_runtime.list()) == []


def test_a_missing_executable_is_a_start_error_with_runcs_message(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    spec = spec_for(command=["/no/such/binary"])
    with pytest.raises(StartError, match=r'exec: "/no/such/binary": stat /no/such/binary: no such file'):
        run(runc_runtime.create(spec))  # runc 1.1 looks the executable up at create
    assert run(runc_runtime.list()) == []
    assert (
        b"/no/such/binary" in spec.log_path.read_bytes()
    )  # runc's stderr is the container's: kubectl logs shows it


def test_a_lost_shim_makes_the_exit_unknown(runc_runtime: RuncRuntime, spec_for: SpecFor) -> None:
    async def go() -> None:
        spec = spec_for(args=["sleep 30"])
        cid = await runc_runtime.create(spec)
        await runc_runtime.start(cid)
        created = json.loads((runc_runtime.containers / cid / "created.json").read_text())
        os.kill(created["shim_pid"], signal.SIGKILL)  # the shim this test started, nothing else
        status = await asyncio.wait_for(runc_runtime.wait(cid), 10)
        assert (status.exit_code, status.reason) == (137, "ContainerStatusUnknown")
        await runc_runtime.delete(cid)  # the orphaned container goes too

    run(go())
