"""The embedded cluster's process: store, API server, and (from the next issues) controllers and kubelet.

``run_cluster(config)`` is what ``ferry cluster up`` runs in the foreground. It owns one asyncio loop:

1. open the store (SQLite in the data dir), build the catalog, load CRDs already stored;
2. create TLS material and the admin token on first start; write ``kubeconfig`` and ``cluster.json``;
3. bootstrap the system namespaces and the ``kubernetes`` Service;
4. serve HTTPS; run the *components* (each an async task: today the CRD watcher; controllers, the
   kubelet, the registry join this list later) until SIGTERM/SIGINT;
5. stop components, stop serving, close the store (pending writes are flushed before it closes).

A data dir is used by one cluster process at a time: ``cluster.pid`` is locked with ``flock`` for the
lifetime of the process, so a second ``up`` on the same dir fails with a clear message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import gc
import json
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml
from aiohttp import web

from ferry.cluster.apiserver.app import build_app
from ferry.cluster.apiserver.auth import ADMIN, TokenAuthenticator
from ferry.cluster.apiserver.context import ApiContext, ServerSettings
from ferry.cluster.apiserver.satokens import ServiceAccountTokens, ensure_signing_key
from ferry.cluster.apiserver.tls import ensure_tls
from ferry.cluster.bootstrap import bootstrap, in_cluster_names
from ferry.cluster.controllers.garbagecollector import garbage_collector
from ferry.cluster.crds import watch_crds
from ferry.cluster.resources.catalog import Catalog
from ferry.cluster.store import Store
from ferry.registry.server import RegistryLocked, RegistrySettings, RunningRegistry, start_registry

log = logging.getLogger("ferry.cluster")

Component = Callable[[ApiContext, asyncio.Event], Coroutine[Any, Any, None]]
# Components every cluster runs; ClusterConfig.components adds more (tests add probes, later issues add
# the workload controllers and the kubelet).
BUILTIN_COMPONENTS: list[Component] = [garbage_collector]


class ClusterError(Exception):
    """A cluster cannot start or be reached; the message is one readable line."""


@dataclass
class ClusterConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 6443
    compaction_window_seconds: float = 300.0
    compaction_interval_seconds: float = 60.0
    service_cidr: str = "10.96.0.0/12"
    # The node runtime: "process" (one node of real containers: runc as root, else plain processes), "sim"
    # (simulated kubelets, `nodes` of them) or "none" (API server and garbage collector only).
    runtime: str = "process"
    nodes: int = 1
    # The controllers run in a child process of their own (the second core), as kube-controller-manager
    # does; in-process is for profiling them together with the API server.
    controllers_in_process: bool = False
    # The embedded OCI registry (ferry.registry.server), on the cluster's host; None: no registry; 0: any
    # free port (the CLI's `--registry auto` asks for 5000 when the API port is fixed). Data in <data_dir>/registry.
    registry_port: int | None = 0
    # The ingress proxy on <host>:<port> (--runtime process only; ferry.cluster.network.ingresscontroller); None:
    # off; 0: any free port (the port is then in <data_dir>/kubelet/network/ingress.json once it listens).
    ingress_port: int | None = None
    # `ferry cluster up --gitops APP_REPO`: supervise `ferry reconcile` for that app repo (a child process;
    # ferry.cluster.reconciler). None: no reconciler.
    gitops_repo: Path | None = None
    components: list[Component] = field(default_factory=list)

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "cluster.json"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "cluster.pid"


def _runtime_components(config: ClusterConfig) -> list[Component]:
    """The controller manager with the control plane and the chosen node runtime (none for "none")."""
    if config.runtime == "none":
        return []
    from ferry.cluster.controllers.registry import controllers_for
    from ferry.cluster.controllers.runtime.manager import controller_manager

    if not config.controllers_in_process:
        from ferry.cluster.controllers.process import controller_manager_process

        return [
            controller_manager_process(
                runtime=config.runtime,
                nodes=config.nodes,
                data_dir=config.data_dir,
                ingress_port=config.ingress_port,
            )
        ]
    specs = controllers_for(
        runtime=config.runtime, nodes=config.nodes, data_dir=config.data_dir, ingress_port=config.ingress_port
    )

    async def manager(ctx: ApiContext, stop: asyncio.Event) -> None:
        await controller_manager(ctx, stop, specs)

    return [manager]


async def _start_registry(config: ClusterConfig) -> RunningRegistry:
    settings = RegistrySettings(
        data_dir=config.data_dir / "registry", host=config.host, port=config.registry_port or 0
    )
    try:
        registry = await start_registry(settings)
    except RegistryLocked as e:
        raise ClusterError(str(e)) from None
    except OSError as e:
        raise ClusterError(
            f"cannot serve the registry on {config.host}:{config.registry_port}: {e.strerror or e}"
        ) from None
    log.info("registry serving on %s", registry.url)
    return registry


def _admin_token(data_dir: Path) -> str:
    path = data_dir / "admin.token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def kubeconfig_document(server: str, ca_pem: bytes, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "ferry",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": "ferry-admin", "user": {"token": token}}],
        "contexts": [
            {"name": "ferry", "context": {"cluster": "ferry", "user": "ferry-admin", "namespace": "default"}}
        ],
        "current-context": "ferry",
        "preferences": {},
    }


def _write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _lock(pid_file: Path) -> TextIO:
    f = open(pid_file, "a+")  # noqa: SIM115 - held open for the process lifetime
    # `ferry cluster status` takes a shared lock for an instant to ask whether a cluster runs; retry briefly
    # so that a start racing with it does not fail.
    deadline = time.monotonic() + 1.0
    while True:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.02)
                continue
            f.seek(0)
            other = f.read().strip()
            f.close()
            raise ClusterError(f"a cluster is already running on {pid_file.parent} (pid {other or '?'})")
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ClusterError(f"cannot listen on {host}:{port}: {e.strerror or e}")
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def run_cluster(
    config: ClusterConfig, *, stop: asyncio.Event | None = None, ready: Callable[[str], None] | None = None
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT); ``ready(server_url)`` is called once serving."""
    data = config.data_dir
    data.mkdir(parents=True, exist_ok=True)
    lock = _lock(config.pid_file)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    store = Store(
        data / "store.db",
        compaction_window_seconds=config.compaction_window_seconds,
        compaction_interval_seconds=config.compaction_interval_seconds,
    )
    await store.open()
    runner: web.AppRunner | None = None
    registry: RunningRegistry | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        # Pods reach this server as https://kubernetes.default.svc (or the Service's ClusterIP): those
        # names are in the serving certificate too, as kube-apiserver puts them there.
        tls = ensure_tls(data / "pki", hosts=[config.host, *in_cluster_names(config.service_cidr)])
        token = _admin_token(data)
        catalog = Catalog()
        settings = ServerSettings(service_cidr=config.service_cidr)
        sa_tokens = ServiceAccountTokens(ensure_signing_key(data / "pki"), store)
        authenticator = TokenAuthenticator({token: ADMIN}, verifiers=[sa_tokens.authenticate])
        ctx = ApiContext(store=store, catalog=catalog, authenticator=authenticator, settings=settings)
        app = build_app(ctx)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        sock = _listen(config.host, config.port)
        port = int(sock.getsockname()[1])
        site = web.SockSite(runner, sock, ssl_context=tls.server_context(), backlog=1024)
        await site.start()
        host_for_url = f"[{config.host}]" if ":" in config.host else config.host
        server_url = f"https://{host_for_url}:{port}"
        settings.server_address = f"{config.host}:{port}"
        settings.server_url = server_url
        settings.ca_file = str(tls.ca_cert)
        if config.registry_port is not None:
            registry = await _start_registry(config)
        crd_ready = asyncio.Event()
        tasks.append(asyncio.create_task(watch_crds(ctx, stop, crd_ready), name="crd-watcher"))
        await crd_ready.wait()
        await bootstrap(ctx.storage, catalog, host=config.host, port=port, service_cidr=config.service_cidr)
        for component in [*BUILTIN_COMPONENTS, *_runtime_components(config), *config.components]:
            tasks.append(
                asyncio.create_task(component(ctx, stop), name=getattr(component, "__name__", "component"))
            )
        _write_atomic(
            config.kubeconfig,
            yaml.safe_dump(kubeconfig_document(server_url, tls.ca_cert.read_bytes(), token)),
        )
        gitops_state: dict[str, str] | None = None
        if config.gitops_repo is not None:  # after the kubeconfig exists: the reconciler reads it at start
            from ferry.cluster.reconciler import gitops_component

            gitops, gitops_state = gitops_component(app_repo=config.gitops_repo, data_dir=data)
            tasks.append(asyncio.create_task(gitops(ctx, stop), name="gitops-reconciler"))
        _write_atomic(
            config.state_file,
            json.dumps(
                {
                    "pid": os.getpid(),
                    "server": server_url,
                    "port": port,
                    "host": config.host,
                    "kubeconfig": str(config.kubeconfig),
                    "registry": registry.host_port if registry is not None else None,
                    "gitops": gitops_state,
                }
            ),
        )
        # Long-lived objects (catalog, schemas, imported modules) need no more cyclic-GC scans, and a list of
        # 10,000 objects allocates enough containers to trigger collections every few milliseconds with the
        # default thresholds: freeze what exists and collect young objects less often.
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        log.info("serving on %s", server_url)
        if ready is not None:
            ready(server_url)
        await stop.wait()
    finally:
        stop.set()
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if runner is not None:
            await runner.cleanup()
        if registry is not None:
            await registry.stop()
        await store.close()
        with contextlib.suppress(FileNotFoundError):
            config.state_file.unlink()
        with contextlib.suppress(FileNotFoundError):
            config.pid_file.unlink()
        lock.close()
