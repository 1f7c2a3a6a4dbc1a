"""The process runtime's path mapping (no chroot): mounts, image-only top-level dirs, image files, host paths."""

from __future__ import annotations

from pathlib import Path

from ferry.cluster.kubelet.images import PulledImage
from ferry.cluster.kubelet.runtime import ContainerSpec, Mount
from ferry.cluster.kubelet.runtime.process import path_mappings, remap
from ferry.registry.oci import parse_reference


def _spec(rootfs: Path, mounts: list[Mount]) -> ContainerSpec:
    ref = "127.0.0.1:5000/a/b:1.0.0-abcdef0"
    image = PulledImage(ref, parse_reference(ref), "sha256:" + "b" * 64, {"config": {}}, rootfs)
    return ContainerSpec("uid", "pod", "ns", "c", image, rootfs.parent / "0.log", mounts=mounts)


def test_mappings_and_remap(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "app-ferry-only" / "src").mkdir(parents=True)
    (rootfs / "bin").mkdir()
    (rootfs / "bin" / "busybox").write_text("")
    volume = tmp_path / "vol"
    spec = _spec(rootfs, [Mount(volume, "/etc/config"), Mount(volume / "nested", "/etc/config/nested/")])
    m = path_mappings(spec)
    assert m[0] == ("/etc/config/nested", str(volume / "nested"))  # longest first
    assert ("/app-ferry-only", str(rootfs / "app-ferry-only")) in m
    assert ("/bin", str(rootfs / "bin")) not in m  # the host has /bin: no blanket mapping

    assert remap("/etc/config", m) == str(volume)
    assert remap("/etc/config/a.yaml", m) == str(volume / "a.yaml")
    assert remap("/etc/config/nested/x", m) == str(volume / "nested" / "x")
    assert remap("/etc/configs", m) == "/etc/configs"
    assert remap("/app-ferry-only/later.txt", m) == str(rootfs / "app-ferry-only" / "later.txt")
    assert remap("/bin/busybox", m, rootfs=rootfs) == str(rootfs / "bin" / "busybox")  # the image's file
    assert remap("/bin/true", m, rootfs=rootfs) == "/bin/true"  # not in the image: the host's
    assert remap("relative/x", m, rootfs=rootfs) == "relative/x"
    assert remap("/", m, rootfs=rootfs) == "/"


def test_lists_of_paths_map_part_by_part_other_values_whole(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "app-ferry-only").mkdir(parents=True)
    m = path_mappings(_spec(rootfs, []))
    app = str(rootfs / "app-ferry-only")
    assert (
        remap("/app-ferry-only:/app-ferry-only/.deps:/usr/lib", m, lists=True)
        == f"{app}:{app}/.deps:/usr/lib"
    )
    assert remap("tcp://10.96.0.10:53", m, lists=True) == "tcp://10.96.0.10:53"
    assert remap("a:/app-ferry-only", m, lists=True) == "a:/app-ferry-only"
