"""End-to-end: the container's root filesystem and mounts.

* the root is a copy-on-write view: the container writes, the image's unpacked root stays untouched;
* ``readOnlyRootFilesystem`` makes writing to ``/`` fail (``Read-only file system``) while a writable volume
  still takes writes;
* a kubelet mount is visible at its container path, read-only when asked; ``/etc/hosts`` given by the kubelet
  is what the container reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ferry.cluster.kubelet.runtime import Mount, RuncRuntime, parse_line
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, run

pytestmark = pytest.mark.e2e

# the fixtures this module uses, from the support module
busybox_image = support.busybox_image
runc_runtime = support.runc_runtime
spec_for = support.spec_for


async def _run(runtime: RuncRuntime, spec_for: SpecFor, script: str, **kw: object) -> tuple[int, list[str]]:
    spec = spec_for(args=[script], **kw)
    cid = await runtime.create(spec)
    await runtime.start(cid)
    status = await runtime.wait(cid)
    await runtime.delete(cid)
    return status.exit_code, [parse_line(x).content.decode() for x in spec.log_path.read_bytes().splitlines()]


def test_writes_go_to_the_container_not_to_the_image(runc_runtime: RuncRuntime, spec_for: SpecFor) -> None:
    before = sorted(str(p) for p in spec_for().image.rootfs.rglob("*"))
    code, lines = run(
        _run(runc_runtime, spec_for, "echo data > /work/new && cat /work/new && rm /bin/busybox; echo $?")
    )
    assert (code, lines) == (0, ["data", "0"])
    assert sorted(str(p) for p in spec_for().image.rootfs.rglob("*")) == before
    assert (spec_for().image.rootfs / "bin" / "busybox").is_file()


def test_read_only_root_filesystem_refuses_writes(
    runc_runtime: RuncRuntime, spec_for: SpecFor, tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    code, lines = run(
        _run(
            runc_runtime,
            spec_for,
            "touch /x 2>&1; echo root=$?; echo kept > /data/out; echo volume=$?",
            read_only_root_filesystem=True,
            mounts=[Mount(volume, "/data")],
        )
    )
    assert code == 0
    assert lines == ["touch: /x: Read-only file system", "root=1", "volume=0"]
    assert (volume / "out").read_text() == "kept\n"


def test_mounts_are_visible_and_read_only_when_asked(
    runc_runtime: RuncRuntime, spec_for: SpecFor, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "greeting").write_text("hi from a volume\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("10.244.0.7 web-1\n")
    code, lines = run(
        _run(
            runc_runtime,
            spec_for,
            "cat /etc/config/greeting; cat /etc/hosts; touch /etc/config/x 2>&1; echo $?",
            mounts=[Mount(config, "/etc/config", read_only=True), Mount(hosts, "/etc/hosts", read_only=True)],
        )
    )
    assert (code, lines) == (
        0,
        ["hi from a volume", "10.244.0.7 web-1", "touch: /etc/config/x: Read-only file system", "1"],
    )
    assert sorted(p.name for p in config.iterdir()) == ["greeting"]


def test_without_overlay_the_root_is_a_copy_with_the_same_behaviour(
    tmp_path: Path, spec_for: SpecFor, runc_runtime: RuncRuntime
) -> None:
    copying = RuncRuntime(
        runc_runtime.state_dir, cgroup_root=runc_runtime.cgroup_root, allow_overlay=False, poll_seconds=0.01
    )
    before = sorted(str(p) for p in spec_for().image.rootfs.rglob("*"))

    async def go() -> str:
        spec = spec_for(args=["echo data > /work/new && cat /work/new"])
        cid = await copying.create(spec)
        mode = json.loads((copying.containers / cid / "meta.json").read_text())["rootfs"]
        await copying.start(cid)
        assert (await copying.wait(cid)).exit_code == 0
        await copying.delete(cid)
        assert [parse_line(x).content for x in spec.log_path.read_bytes().splitlines()] == [b"data"]
        return str(mode)

    assert run(go()) == "copy"

    async def default_mode() -> str:
        cid = await runc_runtime.create(spec_for("overlaid"))
        mode = json.loads((runc_runtime.containers / cid / "meta.json").read_text())["rootfs"]
        await runc_runtime.delete(cid)
        return str(mode)

    assert run(default_mode()) == "overlay"  # the default where overlayfs works, as here
    assert sorted(str(p) for p in spec_for().image.rootfs.rglob("*")) == before
