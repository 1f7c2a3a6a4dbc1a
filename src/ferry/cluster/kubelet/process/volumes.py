"""A pod's volumes on the host, under ``<kubelet dir>/pods/<uid>/volumes/<name>``, and its /etc files.

:func:`prepare_volumes` writes each volume once per pod sync (idempotent; ConfigMap/Secret contents are
rewritten when they change, atomically per file):

* ``emptyDir``: an empty directory; ``medium: Memory`` is a **tmpfs** (as root) whose size is ``sizeLimit``
  (kube's SizeMemoryBackedVolumes; without one, the kernel's default of half the RAM, where kube takes the
  pod's memory limit or the node's allocatable), so writing past it fails with ENOSPC. A disk-backed
  ``sizeLimit`` is not enforced (kube's eviction manager would evict the pod). Without root, a plain directory;
* ``configMap`` / ``secret``: one file per key, or only ``items`` (``key`` → ``path``, per-item ``mode``),
  with ``defaultMode`` (default 0644); ``optional`` honoured;
* ``downwardAPI``: ``items`` of ``fieldRef`` (envs.field_value) and ``resourceFieldRef``;
* ``projected``: the sources above merged into one directory, and ``serviceAccountToken``: a bound token
  the API server accepts as the pod's service account (:mod:`.tokens`; renewed at 80 % of its lifetime), so
  kube's ``kube-api-access`` volume (token, ``ca.crt`` from the ``kube-root-ca.crt`` ConfigMap, ``namespace``
  from the downward API) works as on Kubernetes. Without a token source (``tokens=None``: unit tests) the
  token is the text ``ferry-placeholder-token``.

Other volume types (hostPath, persistentVolumeClaim...) raise :class:`VolumeError`
(``CreateContainerConfigError``). :func:`container_mounts` maps ``volumeMounts`` (``subPath``, ``readOnly``)
to runtime :class:`~ferry.cluster.kubelet.runtime.Mount` s, plus ``/etc/hosts`` and ``/etc/resolv.conf``
written by :func:`write_etc_files`.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
from pathlib import Path

from ferry.cluster.apiserver.satokens import TokenError
from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.kubelet.process.envs import EnvError, Lookup, field_value, parse_quantity, resource_value
from ferry.cluster.kubelet.process.tokens import PodTokens
from ferry.cluster.kubelet.runtime import Mount, rootfs
from ferry.cluster.kubelet.runtime.rootfs import mounts_under

MOUNT = shutil.which("mount") or "/usr/bin/mount"

PLACEHOLDER_TOKEN = "ferry-placeholder-token"


class VolumeError(Exception):
    """A volume cannot be prepared (missing source, unsupported type)."""


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _key_files(data: dict[str, bytes], src: Obj, default_mode: int) -> dict[str, tuple[bytes, int]]:
    items = src.get("items")
    if not items:
        return {k: (v, default_mode) for k, v in data.items()}
    out: dict[str, tuple[bytes, int]] = {}
    for item in items:
        key = str(item.get("key", ""))
        if key not in data:
            if src.get("optional"):
                continue
            raise VolumeError(f'configmap/secret key "{key}" not found')
        out[str(item.get("path", key))] = (data[key], int(item.get("mode", default_mode)))
    return out


async def _source_files(
    pod: Obj, src_type: str, src: Obj, lookup: Lookup, default_mode: int, tokens: PodTokens | None = None
) -> dict[str, tuple[bytes, int]]:
    ns = str(pod["metadata"].get("namespace", "default"))
    if src_type in ("configMap", "secret"):
        name = str(src.get("name") or src.get("secretName") or "")
        obj = await lookup("v1/configmaps" if src_type == "configMap" else "v1/secrets", ns, name)
        if obj is None:
            if src.get("optional"):
                return {}
            raise VolumeError(f'{src_type} "{name}" not found')
        if src_type == "secret":
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        else:
            data = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
            data |= {k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()}
        return _key_files(data, src, default_mode)
    if src_type == "downwardAPI":
        out: dict[str, tuple[bytes, int]] = {}
        for item in src.get("items") or []:
            mode = int(item.get("mode", default_mode))
            try:
                if "fieldRef" in item:
                    value = field_value(pod, str(item["fieldRef"].get("fieldPath", "")))
                else:
                    ref = item.get("resourceFieldRef") or {}
                    ctr: Obj = next(
                        (
                            c
                            for c in pod["spec"].get("containers") or []
                            if c["name"] == ref.get("containerName")
                        ),
                        {},
                    )
                    value = resource_value(ctr, ref, {})
            except EnvError as e:
                raise VolumeError(str(e)) from None
            out[str(item["path"])] = (value.encode(), mode)
        return out
    if src_type == "serviceAccountToken":
        try:
            token = PLACEHOLDER_TOKEN if tokens is None else await tokens.token(pod, src)
        except TokenError as e:
            raise VolumeError(str(e)) from None
        return {str(src.get("path", "token")): (token.encode(), default_mode)}
    raise VolumeError(f"unsupported projected source {src_type}")


async def prepare_volumes(
    pod: Obj, pod_dir: Path, lookup: Lookup, *, tokens: PodTokens | None = None
) -> dict[str, Path]:
    """Create or refresh every volume of ``pod``; returns volume name → host directory. ``tokens`` mints the
    projected service-account tokens."""
    out: dict[str, Path] = {}
    for vol in pod["spec"].get("volumes") or []:
        name = str(vol["name"])
        target = pod_dir / "volumes" / name
        kinds = [k for k in ("emptyDir", "configMap", "secret", "downwardAPI", "projected") if k in vol]
        if not kinds:
            raise VolumeError(f"volume {name}: type not supported by the process kubelet")
        kind, src = kinds[0], vol[kinds[0]] or {}
        target.mkdir(parents=True, exist_ok=True)
        if kind == "emptyDir":
            if (
                src.get("medium") == "Memory"
                and os.geteuid() == 0
                and target.resolve() not in mounts_under(target)
            ):
                await _mount_tmpfs(target, src.get("sizeLimit"))
            out[name] = target
            continue
        default_mode = int(src.get("defaultMode", 0o644))
        files: dict[str, tuple[bytes, int]] = {}
        if kind == "projected":
            for source in src.get("sources") or []:
                for st, s in source.items():
                    files |= await _source_files(pod, st, s or {}, lookup, default_mode, tokens)
        else:
            files = await _source_files(pod, kind, src, lookup, default_mode)
        for rel, (data, mode) in files.items():
            path = (target / rel).resolve()
            if not path.is_relative_to(target.resolve()):
                raise VolumeError(f"volume {name}: path {rel!r} leaves the volume")
            _write(path, data, mode)
        out[name] = target
    return out


def write_etc_files(pod_dir: Path, hosts: str, resolv: str) -> tuple[Path, Path]:
    etc = pod_dir / "etc"
    _write(etc / "hosts", hosts.encode(), 0o644)
    _write(etc / "resolv.conf", resolv.encode(), 0o644)
    return etc / "hosts", etc / "resolv.conf"


def container_mounts(container: Obj, volumes: dict[str, Path], etc: tuple[Path, Path]) -> list[Mount]:
    mounts = [Mount(etc[0], "/etc/hosts"), Mount(etc[1], "/etc/resolv.conf")]
    for vm in container.get("volumeMounts") or []:
        host = volumes.get(str(vm.get("name")))
        if host is None:
            raise VolumeError(f'volume "{vm.get("name")}" not found in the pod')
        if sub := vm.get("subPath"):
            host = host / str(sub)
            if not host.exists():
                host.mkdir(parents=True)
        mounts.append(Mount(host, str(vm["mountPath"]), read_only=bool(vm.get("readOnly"))))
    return mounts


async def _mount_tmpfs(target: Path, size_limit: object) -> None:
    options = "mode=0777"
    if size_limit is not None:
        try:
            options += f",size={max(1, int(parse_quantity(size_limit)))}"
        except (ValueError, TypeError) as e:
            raise VolumeError(f"emptyDir sizeLimit {size_limit!r}: {e}") from None
    done = await asyncio.to_thread(
        subprocess.run,
        [MOUNT, "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise VolumeError(f"mounting a tmpfs on {target}: {(done.stderr or done.stdout).strip()}")


def remove_pod_dir(pod_dir: Path) -> None:
    """Remove a pod's directory, unmounting what is mounted below it first (memory-backed emptyDirs)."""
    try:
        rootfs.release(pod_dir)
    except OSError:
        shutil.rmtree(pod_dir, ignore_errors=True)
