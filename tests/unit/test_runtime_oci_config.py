"""``config.json`` generation (``oci.build_config``): golden fields for process, root, mounts, namespaces and
cgroup resources, and the host runtime binds of host-base images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ferry.cluster.kubelet.images import PulledImage
from ferry.cluster.kubelet.runtime import ContainerConfigError, ContainerSpec, Mount, Resources, build_config
from ferry.cluster.kubelet.runtime.oci import DEFAULT_CAPABILITIES, host_runtime_mounts
from ferry.registry.oci import parse_reference

MIB = 1024 * 1024


def image(rootfs: Path, **config: Any) -> PulledImage:
    ref = "127.0.0.1:5000/demo/api:1.0.0-abcdef0"
    cfg = {"Entrypoint": ["/bin/server"], "Cmd": ["--serve"], "Env": ["PATH=/bin", "MODE=prod"], **config}
    return PulledImage(ref, parse_reference(ref), "sha256:" + "a" * 64, {"config": cfg}, rootfs)


def spec(tmp_path: Path, **kw: Any) -> ContainerSpec:
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir(exist_ok=True)
    return ContainerSpec(
        pod_uid="6a1f-uid",
        pod_name="api-7d9f",
        pod_namespace="shop",
        name="api",
        image=kw.pop("image", None) or image(rootfs),
        log_path=tmp_path / "logs" / "api" / "0.log",
        **kw,
    )


def test_process_from_image_and_pod(tmp_path: Path) -> None:
    config = build_config(spec(tmp_path, args=["--port=$(PORT)"], env=[("PORT", "3000")], working_dir="/srv"))
    process = config["process"]
    assert process["args"] == ["/bin/server", "--port=3000"]
    assert process["env"] == ["PATH=/bin", "MODE=prod", "HOSTNAME=api-7d9f", "PORT=3000"]
    assert (process["cwd"], process["terminal"], process["noNewPrivileges"]) == ("/srv", False, True)
    assert process["user"] == {"uid": 0, "gid": 0, "additionalGids": [0]}
    assert process["capabilities"]["bounding"] == DEFAULT_CAPABILITIES
    assert "CAP_SYS_ADMIN" not in process["capabilities"]["effective"]
    assert "rlimits" not in process
    assert config["hostname"] == "api-7d9f"
    assert config["ociVersion"] == "1.0.2"


def test_working_dir_and_user_default_to_the_image(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1001:1002::/app:/bin/sh\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\nstaff:x:50:app\n")
    s = spec(tmp_path, image=image(rootfs, WorkingDir="/app", User="app"))
    assert build_config(s)["process"]["cwd"] == "/app"
    assert build_config(s)["process"]["user"] == {"uid": 1001, "gid": 1002, "additionalGids": [1002]}
    s = spec(tmp_path, image=image(rootfs, User="app:staff"))
    assert build_config(s)["process"]["user"]["gid"] == 50
    s = spec(tmp_path, image=image(rootfs, User="1001"))
    assert (build_config(s)["process"]["user"]["uid"], build_config(s)["process"]["user"]["gid"]) == (
        1001,
        1002,
    )
    s = spec(tmp_path, image=image(rootfs, User="app"), uid=7, gid=8)  # securityContext wins
    assert build_config(s)["process"]["user"] == {"uid": 7, "gid": 8, "additionalGids": [8]}
    with pytest.raises(ContainerConfigError, match="unable to find user nobody"):
        build_config(spec(tmp_path, image=image(rootfs, User="nobody")))


def test_root_and_mounts(tmp_path: Path) -> None:
    s = spec(
        tmp_path,
        read_only_root_filesystem=True,
        mounts=[
            Mount(tmp_path / "cm", "/etc/config", read_only=True),
            Mount(tmp_path / "empty", "/cache"),
            Mount(tmp_path / "resolv.conf", "/etc/resolv.conf", read_only=True),
        ],
    )
    config = build_config(s)
    assert config["root"] == {"path": "rootfs", "readonly": True}
    destinations = [m["destination"] for m in config["mounts"]]
    assert destinations == [
        "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
        "/etc/config", "/cache", "/etc/resolv.conf",
    ]  # fmt: skip
    by_dest = {m["destination"]: m for m in config["mounts"]}
    assert by_dest["/etc/config"] == {
        "destination": "/etc/config",
        "type": "bind",
        "source": str(tmp_path / "cm"),
        "options": ["rbind", "rprivate", "ro"],
    }
    assert by_dest["/cache"]["options"] == ["rbind", "rprivate", "rw"]
    assert "ro" in by_dest["/sys"]["options"] and by_dest["/proc"]["type"] == "proc"
    assert by_dest["/dev/shm"]["options"][-1] == "size=65536k"
    assert build_config(spec(tmp_path))["root"]["readonly"] is False


def test_namespaces_join_the_pod_netns_or_use_the_host(tmp_path: Path) -> None:
    joined = build_config(spec(tmp_path, netns_path=Path("/run/netns/ferry-pod-1")))["linux"]["namespaces"]
    assert joined == [
        {"type": "pid"},
        {"type": "mount"},
        {"type": "uts"},
        {"type": "ipc"},
        {"type": "network", "path": "/run/netns/ferry-pod-1"},
    ]
    host = build_config(spec(tmp_path))["linux"]["namespaces"]
    assert [n["type"] for n in host] == ["pid", "mount", "uts", "ipc"]


@pytest.mark.parametrize(
    ("millicores", "quota"),
    [(250, 25_000), (1000, 100_000), (1500, 150_000), (2, 1_000), (10, 1_000), (100, 10_000)],
)
def test_cgroup_resources(tmp_path: Path, millicores: int, quota: int) -> None:
    r = Resources(memory_limit_bytes=256 * MIB, cpu_limit_millicores=millicores, pids_limit=512)
    linux = build_config(spec(tmp_path, resources=r), cgroup_root="ferry")["linux"]
    assert linux["cgroupsPath"] == "/ferry/6a1f-uid/api"
    assert linux["resources"] == {
        "devices": [{"allow": False, "access": "rwm"}],
        "memory": {"limit": 268435456},
        "cpu": {"quota": quota, "period": 100000},
        "pids": {"limit": 512},
    }


def test_no_limits_no_resource_sections(tmp_path: Path) -> None:
    linux = build_config(spec(tmp_path))["linux"]
    assert linux["resources"] == {"devices": [{"allow": False, "access": "rwm"}]}
    assert "/proc/kcore" in linux["maskedPaths"] and "/proc/sys" in linux["readonlyPaths"]


def test_host_base_images_get_the_host_runtime_read_only(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    host_image = image(
        rootfs, Labels={"dev.ferry.image.base": "host", "dev.ferry.image.runtime": "python3.11"}
    )
    config = build_config(spec(tmp_path, image=host_image, mounts=[Mount(tmp_path / "v", "/usr/share/data")]))
    binds = [m for m in config["mounts"] if m["type"] == "bind"]
    runtime = [m for m in binds if m["destination"] != "/usr/share/data"]
    assert {m["destination"] for m in runtime} >= {"/usr", "/bin", "/lib"}
    assert all(m["options"][-1] == "ro" for m in runtime)
    assert binds[-1]["destination"] == "/usr/share/data"  # the kubelet's mounts come after: they can shadow
    by_dest = {m["destination"]: m["source"] for m in runtime}
    assert by_dest["/bin"] == str(Path("/bin").resolve())  # /bin -> usr/bin is bound from its target
    plain = build_config(spec(tmp_path))
    assert [m for m in plain["mounts"] if m["type"] == "bind"] == []
    forced = build_config(spec(tmp_path, host_runtime=True))
    assert len([m for m in forced["mounts"] if m["type"] == "bind"]) == len(runtime)


def test_host_runtime_mounts_cover_the_python_running_ferry() -> None:
    import sys

    mounts = host_runtime_mounts()
    covered = [m.container_path for m in mounts]
    prefix = Path(sys.base_prefix)
    assert any(prefix == Path(c) or Path(c) in prefix.parents for c in covered), (prefix, covered)
    assert all(m.read_only and m.host_path.exists() for m in mounts)
