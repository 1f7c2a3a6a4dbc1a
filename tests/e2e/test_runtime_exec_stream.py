"""End-to-end: ``exec_stream`` (what ``kubectl exec`` runs) in a running container, on both runtimes.

Pipes keep stdout and stderr apart and carry stdin to EOF; a tty gives the command a terminal of the size asked
for, and a resize reaches it while it runs (runc: through runc's SIGWINCH handling, process: directly); the
exit code comes back; the runtime's scratch files (runc's pid and process files) are removed afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.cluster.kubelet.runtime import ContainerId, ContainerRuntimeError, ProcessRuntime, RuncRuntime
from ferry.cluster.kubelet.runtime.interactive import InteractiveExec
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, leftovers, run

pytestmark = pytest.mark.e2e

busybox_image = support.busybox_image
spec_for = support.spec_for

BB = "/bin/busybox"


@pytest.fixture(params=["runc", "process"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RuncRuntime | ProcessRuntime]:
    root = f"ferry-e2e-{uuid.uuid4().hex[:8]}"
    kind = RuncRuntime if request.param == "runc" else ProcessRuntime
    rt = kind(tmp_path / "state", cgroup_root=root, poll_seconds=0.01)
    try:
        yield rt
    finally:
        for cid in run(rt.list()):
            run(rt.delete(cid))
        left = leftovers(rt.state_dir, root)
        _rm_cgroups(root)
        assert left == {"runc": [], "bundles": [], "mounts": [], "cgroups": []}


def _rm_cgroups(root: str) -> None:
    from ferry.cluster.kubelet.runtime.cgroups import cgroup_v1_hierarchies

    for h in cgroup_v1_hierarchies():
        if (h / root).is_dir():
            for sub in sorted((h / root).glob("**/"), key=lambda p: len(p.parts), reverse=True):
                sub.rmdir()


async def _started(rt: RuncRuntime | ProcessRuntime, spec_for: SpecFor) -> ContainerId:
    spec = spec_for(command=[BB, "sleep", "60"])
    cid = await rt.create(spec)
    await rt.start(cid)
    return cid


async def _until(run_: InteractiveExec, text: bytes) -> bytes:
    out = b""
    while text not in out:
        chunk = await run_.read(run_.stdout)
        assert chunk, out
        out += chunk
    return out


async def _all(run_: InteractiveExec, fd: int) -> bytes:
    out = b""
    while chunk := await run_.read(fd):
        out += chunk
    return out


def test_pipes_stdin_and_exit_code(runtime: RuncRuntime | ProcessRuntime, spec_for: SpecFor) -> None:
    async def go() -> None:
        cid = await _started(runtime, spec_for)
        script = "cat; echo err >&2; exit 3"
        proc = await runtime.exec_stream(cid, [BB, "sh", "-c", script], tty=False, stdin=True)
        try:
            await proc.write(b"one\ntwo\n")
            proc.close_stdin()
            assert proc.stderr is not None
            out, err = await asyncio.gather(_all(proc, proc.stdout), _all(proc, proc.stderr))
            assert (out, err, await proc.wait()) == (b"one\ntwo\n", b"err\n", 3)
        finally:
            proc.close()
        directory = runtime.state_dir / "containers" / cid
        assert not list(directory.glob("exec-*")), list(directory.glob("exec-*"))

    run(go())


def test_tty_size_and_resize(runtime: RuncRuntime | ProcessRuntime, spec_for: SpecFor) -> None:
    async def go() -> None:
        cid = await _started(runtime, spec_for)
        script = "tty; stty size; while read x; do stty size; done; exit 6"
        proc = await runtime.exec_stream(
            cid, [BB, "sh", "-c", script], tty=True, stdin=True, winsize=(90, 25)
        )
        try:
            out = await _until(proc, b"25 90")
            assert b"/dev/pts/" in out
            proc.resize(120, 40)
            for _ in range(50):  # runc copies the size on its SIGWINCH, asynchronously: ask until it shows
                await proc.write(b"\r")
                out += await asyncio.wait_for(_until(proc, b"\n"), timeout=10)
                if b"40 120" in out:
                    break
            assert b"40 120" in out, out
            await proc.write(b"\x04")  # ^D: read fails, the loop ends
            await _all(proc, proc.stdout)
            assert await proc.wait() == 6
        finally:
            proc.close()

    run(go())


def test_a_stopped_container_refuses(runtime: RuncRuntime | ProcessRuntime, spec_for: SpecFor) -> None:
    async def go() -> None:
        cid = await runtime.create(spec_for(command=[BB, "true"]))
        await runtime.start(cid)
        await runtime.wait(cid)
        with pytest.raises(ContainerRuntimeError, match="is not running"):
            await runtime.exec_stream(cid, [BB, "true"], tty=False, stdin=False)

    run(go())
