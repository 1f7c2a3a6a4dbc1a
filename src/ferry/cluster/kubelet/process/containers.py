"""Turning one pod-spec container into a runtime :class:`ContainerSpec`, pulling its image, running hooks.

:func:`build_spec` resolves the env (:mod:`.envs`), the mounts (:mod:`.volumes`), ``resources.limits``
(memory bytes, cpu millicores), ``securityContext`` (``runAsUser``/``runAsGroup`` of the container, else the
pod's; ``readOnlyRootFilesystem``), ``command``/``args``/``workingDir``, the pod's netns and hostname, and the
CRI log path ``<pod dir>/logs/<container>/<restartCount>.log``. :func:`pull_policy` is kube's default
(``Always`` for ``:latest`` or no tag, else ``IfNotPresent``). :func:`run_handler` runs a lifecycle handler
(``exec`` through ``exec_sync``, ``httpGet`` to the pod IP) within a timeout, as preStop needs; :func:`post_start` runs
the postStart hook.

The images glue is :func:`pull`: ``IfNotPresent`` and ``Never`` use an image this node already pulled
(``Pulled``: "already present on machine"), ``Always`` pulls at every container start (the blobs are cached,
only the manifest is fetched again); a failure is ``ErrImagePull`` (``Failed`` event), and while the back-off
(10 s doubling to 300 s, :class:`~ferry.cluster.kubelet.behaviour.Backoff`) is live, ``ImagePullBackOff``
(``BackOff`` event); ``Never`` without the image is ``ErrImageNeverPull``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.cluster.controllers.runtime.types import Obj
from ferry.cluster.kubelet.images import ImagePullError, PulledImage
from ferry.cluster.kubelet.process.envs import parse_quantity
from ferry.cluster.kubelet.process.probes import ExecFn, check_probe
from ferry.cluster.kubelet.process.status import CtrState
from ferry.cluster.kubelet.runtime import (
    ContainerId,
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerSpec,
    Mount,
    Resources,
    log_path,
)

if TYPE_CHECKING:
    from ferry.cluster.kubelet.process.kubelet import ProcessKubelet

PULL_RETRY_SECONDS = 10.0
HOOK_TIMEOUT_SECONDS = 30.0  # the least a postStart hook gets (kube: no bound for exec hooks)


def pull_policy(container: Obj) -> str:
    policy = container.get("imagePullPolicy")
    if policy in ("Always", "IfNotPresent", "Never"):
        return str(policy)
    image = str(container.get("image", ""))
    name = image.split("@")[0].rsplit("/", 1)[-1]
    if "@" in image:
        return "IfNotPresent"
    return "Always" if ":" not in name or name.endswith(":latest") else "IfNotPresent"


def resources(container: Obj) -> Resources:
    limits = (container.get("resources") or {}).get("limits") or {}
    mem = int(parse_quantity(limits["memory"])) if "memory" in limits else None
    cpu = math.ceil(parse_quantity(limits["cpu"]) * 1000) if "cpu" in limits else None
    return Resources(memory_limit_bytes=mem, cpu_limit_millicores=cpu)


def _security(pod: Obj, container: Obj, key: str) -> Any:
    ctr = (container.get("securityContext") or {}).get(key)
    return ctr if ctr is not None else ((pod["spec"].get("securityContext") or {}).get(key))


def build_spec(
    pod: Obj,
    container: Obj,
    image: PulledImage,
    *,
    env: list[tuple[str, str]],
    mounts: list[Mount],
    pod_dir: Path,
    restart_count: int,
    netns_path: str | None,
) -> ContainerSpec:
    meta, sc = pod["metadata"], container.get("securityContext") or {}
    uid, gid = _security(pod, container, "runAsUser"), _security(pod, container, "runAsGroup")
    hostname = str(pod["spec"].get("hostname") or meta["name"])[:63]
    return ContainerSpec(
        pod_uid=str(meta["uid"]),
        pod_name=str(meta["name"]),
        pod_namespace=str(meta.get("namespace", "default")),
        name=str(container["name"]),
        image=image,
        log_path=log_path(pod_dir / "logs", str(container["name"]), restart_count),
        command=list(container["command"]) if container.get("command") else None,
        args=list(container["args"]) if container.get("args") else None,
        env=env,
        working_dir=container.get("workingDir") or None,
        uid=int(uid) if uid is not None else None,
        gid=int(gid) if gid is not None else None,
        mounts=mounts,
        read_only_root_filesystem=bool(sc.get("readOnlyRootFilesystem")),
        resources=resources(container),
        netns_path=Path(netns_path) if netns_path else None,
        hostname=hostname,
    )


async def run_handler(
    handler: Obj, *, host: str, ports: list[Obj], exec_fn: ExecFn, timeout: float
) -> tuple[bool, str]:
    """Run a lifecycle handler (exec or httpGet) like a probe with ``timeout``; (success, message)."""
    probe = dict(handler) | {"timeoutSeconds": max(1, int(timeout))}
    if "sleep" in handler:
        await asyncio.sleep(min(float(handler["sleep"].get("seconds") or 0), timeout))
        return True, ""
    return await check_probe(probe, host=host, ports=ports, exec_fn=exec_fn)


async def pull(
    k: ProcessKubelet, obj: Obj, c: CtrState, spec: Obj, *, have: PulledImage | None
) -> tuple[PulledImage | None, float]:
    """The container's image per ``imagePullPolicy`` (``have``: what this pod's container ran before);
    ``(None, retry at)`` on failure, with the waiting reason and events kubelet gives."""
    policy, image, now = pull_policy(spec), c.image, time.time()
    cached = k.pulled.get(image)
    if cached is not None and (policy != "Always" or have is not None):
        k.event(obj, "Normal", "Pulled", f'Container image "{image}" already present on machine')
        return cached, now
    if policy == "Never":
        c.waiting = (
            "ErrImageNeverPull",
            f'Container image "{image}" is not present with pull policy of Never',
        )
        k.event(obj, "Warning", "ErrImageNeverPull", c.waiting[1])
        return None, now + PULL_RETRY_SECONDS
    k.event(obj, "Normal", "Pulling", f'Pulling image "{image}"')
    try:
        pulled = await k.images.pull(image)
    except ImagePullError as e:
        if c.pull.live(now) and c.waiting[0] in ("ErrImagePull", "ImagePullBackOff"):
            c.pull.next(now, now)
            c.waiting = ("ImagePullBackOff", f'Back-off pulling image "{image}": {e}')
            k.event(obj, "Normal", "BackOff", f'Back-off pulling image "{image}"')
        else:
            c.pull.next(now, now)
            c.waiting = ("ErrImagePull", str(e))
            k.event(obj, "Warning", "Failed", f'Failed to pull image "{image}": {e}')
        return None, now + c.pull.delay
    k.event(obj, "Normal", "Pulled", f'Successfully pulled image "{image}" in {time.time() - now:.3f}s')
    k.pulled[image] = pulled
    return pulled, now


async def kill(runtime: ContainerRuntime, cid: ContainerId, grace: float) -> None:
    """SIGTERM, then SIGKILL once ``grace`` seconds have passed without an exit."""
    with contextlib.suppress(ContainerRuntimeError):
        await runtime.kill(cid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runtime.wait(cid), grace)
            return
        await runtime.kill(cid, signal.SIGKILL)


def _go_quoted(text: str) -> str:
    """Go's ``%q`` for the texts kube quotes in messages (JSON's escaping agrees for what hooks print)."""
    return json.dumps(text, ensure_ascii=False)


def _exec_in(k: ProcessKubelet, cid: ContainerId) -> ExecFn:
    async def exec_fn(argv: list[str], timeout: float) -> tuple[int, bytes]:
        r = await k.runtime.exec_sync(cid, argv, timeout_seconds=timeout)
        return r.exit_code, r.stdout + r.stderr

    return exec_fn


async def post_start(k: ProcessKubelet, obj: Obj, c: CtrState, spec: Obj, *, host: str) -> str | None:
    """Run the container's ``postStart`` hook right after its start, as kube's ``startContainer`` does: the
    container counts as running only once the hook completed. A failure is a ``FailedPostStartHook`` event with
    kube's message (``pkg/kubelet/lifecycle/handlers.go``), and the instance is killed (SIGTERM, SIGKILL after
    the grace period), so the restart policy and its back-off apply; returns that message, None otherwise.

    kube gives an exec hook no timeout; ferry bounds every hook by ``max(30 s, terminationGracePeriodSeconds)``
    so that a hung hook cannot hold the pod worker for ever. An httpGet hook fails on a connection error or a
    status of 400 and above, as a probe does."""
    hook = (spec.get("lifecycle") or {}).get("postStart")
    if not hook:
        return None
    cid = ContainerId(c.cid)
    grace = float(obj["spec"].get("terminationGracePeriodSeconds", 30) or 0)
    timeout = max(HOOK_TIMEOUT_SECONDS, grace)
    meta = obj["metadata"]
    where = f'for Container "{c.name}" in Pod "{meta["name"]}_{meta.get("namespace", "default")}({meta.get("uid", "")})"'
    if "exec" in hook:
        argv = [str(a) for a in hook["exec"].get("command") or []]
        try:
            code, out = await _exec_in(k, cid)(argv, timeout)
            error = "" if code == 0 else f"command '{' '.join(argv)}' exited with {code}: "
        except ContainerRuntimeError as e:
            out, error = b"", str(e) or "the container is not running"
        if not error:
            return None
        message = f"Exec lifecycle hook ([{' '.join(argv)}]) {where} failed - error: {error}, message: {_go_quoted(out.decode(errors='replace'))}"
    else:
        ports = list(spec.get("ports") or [])
        ok, error = await run_handler(hook, host=host, ports=ports, exec_fn=_exec_in(k, cid), timeout=timeout)
        if ok:
            return None
        path = (hook.get("httpGet") or {}).get("path", "")
        message = f"HTTP lifecycle hook ({path}) {where} failed - error: {error}"
    k.event(obj, "Warning", "FailedPostStartHook", message)
    await kill(k.runtime, cid, grace)
    return message


async def stop_container(
    k: ProcessKubelet, obj: Obj | None, c: CtrState, spec: Obj, *, host: str, grace: float
) -> None:
    """Stop a running instance for the pod's deletion: ``Killing`` event, the preStop hook (within the grace
    period; a failure is a ``FailedPreStopHook`` event), SIGTERM, SIGKILL when the grace period is over."""
    cid, deadline = ContainerId(c.cid), time.time() + grace
    if obj is not None:
        k.event(obj, "Normal", "Killing", f"Stopping container {c.name}")
    hook = (spec.get("lifecycle") or {}).get("preStop") if grace > 0 else None
    if hook:
        ports = list(spec.get("ports") or [])
        ok, msg = await run_handler(hook, host=host, ports=ports, exec_fn=_exec_in(k, cid), timeout=grace)
        if not ok and obj is not None:
            k.event(obj, "Warning", "FailedPreStopHook", f"PreStopHook failed: {msg}")
    await kill(k.runtime, cid, max(0.0, deadline - time.time()))
    with contextlib.suppress(TimeoutError, ContainerRuntimeError):
        await asyncio.wait_for(k.runtime.wait(cid), 5.0)
