"""cgroup v1 files the runtimes write and read, on a fake hierarchy (a directory tree): limits, the OOM
counter, and removal of the leaf and the then-empty pod directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.cluster.kubelet.runtime import Cgroup, Resources
from ferry.cluster.kubelet.runtime.cgroups import cgroup_v1_hierarchies, cpu_quota_us

OOM_CONTROL = "oom_kill_disable 0\nunder_oom 0\noom_kill {n}\n"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    for controller in ("memory", "cpu", "pids", "freezer"):
        (tmp_path / controller).mkdir()
        (tmp_path / controller / "cgroup.procs").write_text("")
    return tmp_path


def test_create_writes_the_limits(base: Path) -> None:
    cg = Cgroup("ferry/pod-1/api", base=base)
    cg.create(Resources(memory_limit_bytes=32 * 1024 * 1024, cpu_limit_millicores=500, pids_limit=64))
    assert (base / "memory/ferry/pod-1/api/memory.limit_in_bytes").read_text() == "33554432"
    assert (base / "cpu/ferry/pod-1/api/cpu.cfs_quota_us").read_text() == "50000"
    assert (base / "cpu/ferry/pod-1/api/cpu.cfs_period_us").read_text() == "100000"
    assert (base / "pids/ferry/pod-1/api/pids.max").read_text() == "64"
    assert not (base / "freezer/ferry").exists()  # only the controllers with limits


def test_no_limits_writes_no_files(base: Path) -> None:
    Cgroup("ferry/pod-1/api", base=base).create(Resources())
    assert sorted(p.name for p in (base / "memory/ferry/pod-1/api").iterdir()) == []


def test_cpu_quota_is_kubelets_millicpu_to_quota() -> None:
    assert [cpu_quota_us(m) for m in (1, 10, 11, 100, 250, 1000, 3500)] == [
        1000,
        1000,
        1100,
        10000,
        25000,
        100000,
        350000,
    ]


def test_oom_counter(base: Path) -> None:
    cg = Cgroup("ferry/pod-1/api", base=base)
    assert cg.oom_kills() == 0  # not there (any more)
    cg.create(Resources())
    (cg.dir("memory") / "memory.oom_control").write_text(OOM_CONTROL.format(n=0))
    assert cg.oom_kills() == 0
    (cg.dir("memory") / "memory.oom_control").write_text(OOM_CONTROL.format(n=2))
    assert cg.oom_kills() == 2


def test_remove_takes_the_leaf_and_the_empty_pod_dir_but_not_a_sibling(base: Path) -> None:
    api = Cgroup("ferry/pod-1/api", base=base)
    sidecar = Cgroup("ferry/pod-1/sidecar", base=base)
    api.create(Resources())
    sidecar.create(Resources())
    api.remove()
    assert not (base / "memory/ferry/pod-1/api").exists()
    assert (base / "memory/ferry/pod-1/sidecar").is_dir()
    sidecar.remove()
    assert not (base / "memory/ferry/pod-1").exists()
    assert (base / "memory/ferry").is_dir()  # the root stays
    assert sidecar.exists() == []
    sidecar.remove()  # idempotent


@pytest.mark.parametrize("bad", ["", "ferry", "ferry/../etc", "/ferry/./x"])
def test_paths_need_pod_and_container(bad: str) -> None:
    with pytest.raises(ValueError):
        Cgroup(bad)


def test_hierarchies_are_read_from_the_mount_table(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "proc /proc proc rw 0 0\n"
        "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
        "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
        "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
    )
    assert cgroup_v1_hierarchies(mounts) == [Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/unified")]
