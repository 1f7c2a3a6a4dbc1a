"""End-to-end: the fallback runtime, plain host processes, on the same busybox image.

What it promises (``ProcessRuntime`` docstring): logs and exit codes like runc's (a process killed by SIGTERM
is 143; it is not a PID 1, so the default action applies), image paths mapped onto the unpacked root, the
pod's network namespace joined, cgroup v1 limits with OOMKilled detected, ``describe()`` saying it is not
isolated, and nothing left after ``delete``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.cluster.kubelet.images import PulledImage
from ferry.cluster.kubelet.runtime import Mount, ProcessRuntime, Resources, choose_runtime, parse_line
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, leftovers, run

pytestmark = pytest.mark.e2e

# the fixtures this module uses, from the support module
busybox_image = support.busybox_image
netns = support.netns
spec_for = support.spec_for


@pytest.fixture
def process_runtime(tmp_path: Path) -> Iterator[ProcessRuntime]:
    root = f"ferry-e2e-{uuid.uuid4().hex[:8]}"
    runtime = ProcessRuntime(tmp_path / "pstate", cgroup_root=root, poll_seconds=0.01)
    try:
        yield runtime
    finally:
        for cid in asyncio.run(runtime.list()):
            asyncio.run(runtime.delete(cid))
        left = leftovers(runtime.state_dir, root)
        from ferry.cluster.kubelet.runtime.cgroups import cgroup_v1_hierarchies

        for h in cgroup_v1_hierarchies():
            if (h / root).is_dir():
                (h / root).rmdir()
        assert left == {"runc": [], "bundles": [], "mounts": [], "cgroups": []}


@pytest.fixture
def app_image(busybox_image: PulledImage, tmp_path: Path) -> PulledImage:
    """The busybox root plus ``/app/run.sh``: an image path the host does not have."""
    root = tmp_path / "app-rootfs"
    shutil.copytree(busybox_image.rootfs, root, symlinks=True)
    (root / "app").mkdir()
    (root / "app" / "run.sh").write_text('echo "script in $(pwd) says $GREETING"\n')
    config = {
        "config": {
            "Entrypoint": ["/bin/busybox", "sh"],
            "Cmd": ["/app/run.sh"],
            "Env": ["GREETING=ferry"],
            "WorkingDir": "/app",
        }
    }
    return PulledImage(busybox_image.image, busybox_image.reference, busybox_image.digest, config, root)


def _lines(path: Path) -> list[str]:
    return [parse_line(x).content.decode() for x in path.read_bytes().splitlines()]


def test_describe_says_it_is_not_isolated(process_runtime: ProcessRuntime, tmp_path: Path) -> None:
    assert "NOT isolated" in process_runtime.describe()
    assert choose_runtime(tmp_path / "auto").name == "runc"  # root with runc here: auto picks runc
    assert choose_runtime(tmp_path / "p", prefer="process").name == "process"


def test_image_paths_run_from_the_unpacked_root(
    process_runtime: ProcessRuntime, spec_for: SpecFor, app_image: PulledImage
) -> None:
    async def go() -> None:
        spec = spec_for(image=app_image)
        cid = await process_runtime.create(spec)
        assert (await process_runtime.state(cid)).status == "created"
        await process_runtime.start(cid)
        status = await process_runtime.wait(cid)
        await process_runtime.delete(cid)
        assert (status.exit_code, status.reason) == (0, "Completed")
        assert _lines(spec.log_path) == [f"script in {app_image.rootfs}/app says ferry"]

    run(go())


def test_exit_codes_sigterm_143_and_mounts(
    process_runtime: ProcessRuntime, spec_for: SpecFor, tmp_path: Path
) -> None:
    volume = tmp_path / "vol"
    volume.mkdir()
    (volume / "x").write_text("from the volume\n")

    async def go() -> None:
        spec = spec_for(
            "a", args=['cat "$0"; exit 3', "/etc/cfg/x"], mounts=[Mount(volume, "/etc/cfg", read_only=True)]
        )
        cid = await process_runtime.create(spec)
        await process_runtime.start(cid)
        assert (await process_runtime.wait(cid)).exit_code == 3
        assert _lines(spec.log_path) == ["from the volume"]
        await process_runtime.delete(cid)

        spec = spec_for("b", args=["echo up; sleep 30; echo never"])
        cid = await process_runtime.create(spec)
        await process_runtime.start(cid)
        while not spec.log_path.exists() or b"up" not in spec.log_path.read_bytes():
            await asyncio.sleep(0.02)
        await process_runtime.kill(cid, signal.SIGTERM)
        status = await asyncio.wait_for(process_runtime.wait(cid), 10)
        assert (status.exit_code, status.signal, status.reason) == (143, 15, "Error")
        assert _lines(spec.log_path) == ["up"]
        await process_runtime.delete(cid)

    run(go())


def test_netns_and_oom(process_runtime: ProcessRuntime, spec_for: SpecFor, netns: Path) -> None:
    async def go() -> None:
        spec = spec_for("net", args=["ls -Li /proc/self/ns/net | cut -d' ' -f1"], netns_path=netns)
        cid = await process_runtime.create(spec)
        await process_runtime.start(cid)
        assert (await process_runtime.wait(cid)).exit_code == 0
        assert _lines(spec.log_path) == [str(os.stat(netns).st_ino)]
        await process_runtime.delete(cid)

        hog = 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived'
        spec = spec_for("hog", args=[hog], resources=Resources(memory_limit_bytes=32 * 1024 * 1024))
        cid = await process_runtime.create(spec)
        await process_runtime.start(cid)
        status = await asyncio.wait_for(process_runtime.wait(cid), 60)
        assert (status.exit_code, status.reason) == (137, "OOMKilled")
        await process_runtime.delete(cid)

    run(go())


def test_exec_sync_runs_like_the_main_process(
    process_runtime: ProcessRuntime, spec_for: SpecFor, app_image: PulledImage, netns: Path
) -> None:
    async def go() -> None:
        loop = ["/bin/busybox", "sh", "-c", "while :; do sleep 0.1; done"]  # the image's CMD is a script
        spec = spec_for(image=app_image, command=loop, netns_path=netns, env=[("K", "v")])
        cid = await process_runtime.create(spec)
        await process_runtime.start(cid)
        script = """echo $K; pwd; ls -Li /proc/self/ns/net | cut -d' ' -f1; cat "$0"; exit 5"""
        result = await process_runtime.exec_sync(cid, ["sh", "-c", script, "/app/run.sh"], timeout_seconds=10)
        assert result.exit_code == 5, result
        assert result.stdout.decode().splitlines() == [
            "v",
            f"{app_image.rootfs}/app",
            str(os.stat(netns).st_ino),
            'echo "script in $(pwd) says $GREETING"',
        ]
        slow = await process_runtime.exec_sync(
            cid, ["sh", "-c", "echo started; sleep 30"], timeout_seconds=0.3
        )
        assert (slow.timed_out, slow.exit_code, slow.stdout) == (True, 137, b"started\n")
        assert (await process_runtime.state(cid)).status == "running"
        await process_runtime.delete(cid)

    run(go())
