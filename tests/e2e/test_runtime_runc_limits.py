"""End-to-end: cgroup v1 limits of a runc container, and OOMKilled detected from the cgroup.

The limits are read back from the live cgroup ``<root>/<pod uid>/<container>`` while the container runs. The
OOM case stores 100 MB in a shell variable under a 32 MiB limit: the kernel's OOM killer takes the shell (the
container's init), ``memory.oom_control`` counts it, and ``wait`` answers ``OOMKilled`` with 137. The same
command without a limit completes, so it is the limit that kills it.
"""

from __future__ import annotations

import asyncio

import pytest

from ferry.cluster.kubelet.runtime import Resources, RuncRuntime
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, run

pytestmark = pytest.mark.e2e

# the fixtures this module uses, from the support module
busybox_image = support.busybox_image
runc_runtime = support.runc_runtime
spec_for = support.spec_for

HOG = 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived ${#x}'
MIB = 1024 * 1024


def test_memory_cpu_and_pids_limits_are_in_the_container_cgroup(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    async def go() -> None:
        spec = spec_for(
            args=["sleep 30"],
            resources=Resources(memory_limit_bytes=64 * MIB, cpu_limit_millicores=250, pids_limit=42),
        )
        cid = await runc_runtime.create(spec)
        await runc_runtime.start(cid)
        cgroup = runc_runtime.cgroup(cid)
        assert cgroup.relpath == f"{runc_runtime.cgroup_root}/{spec.pod_uid}/app"
        read = lambda c, f: (cgroup.dir(c) / f).read_text().strip()  # noqa: E731
        assert read("memory", "memory.limit_in_bytes") == str(64 * MIB)
        assert (read("cpu", "cpu.cfs_quota_us"), read("cpu", "cpu.cfs_period_us")) == ("25000", "100000")
        assert read("pids", "pids.max") == "42"
        pid = (await runc_runtime.state(cid)).pid
        assert str(pid) in read("memory", "cgroup.procs").split()
        await runc_runtime.delete(cid)

    run(go())


def test_allocating_past_the_memory_limit_is_oomkilled_137(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    async def go() -> None:
        spec = spec_for(args=[HOG], resources=Resources(memory_limit_bytes=32 * MIB))
        cid = await runc_runtime.create(spec)
        await runc_runtime.start(cid)
        status = await asyncio.wait_for(runc_runtime.wait(cid), 60)
        assert (status.exit_code, status.reason, status.signal) == (137, "OOMKilled", 9)
        assert runc_runtime.cgroup(cid).oom_kills() >= 1
        assert b"survived" not in spec.log_path.read_bytes()
        await runc_runtime.delete(cid)

    run(go())


def test_the_same_allocation_without_a_limit_completes(runc_runtime: RuncRuntime, spec_for: SpecFor) -> None:
    async def go() -> None:
        spec = spec_for(args=[HOG])
        cid = await runc_runtime.create(spec)
        await runc_runtime.start(cid)
        status = await asyncio.wait_for(runc_runtime.wait(cid), 60)
        assert (status.exit_code, status.reason) == (0, "Completed")
        assert spec.log_path.read_bytes().endswith(b" survived 100000000\n")
        await runc_runtime.delete(cid)

    run(go())
