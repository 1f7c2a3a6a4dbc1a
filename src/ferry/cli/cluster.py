"""``ferry cluster up|status|down``: the embedded Kubernetes-compatible cluster.

``up`` runs the cluster in the foreground (Ctrl-C stops it) or, with ``--detach``, starts it as a
background process that outlives the command, waits until it serves, and returns. Either way it prints
the ``export KUBECONFIG=...`` line to use with kubectl and Helm.
"""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click
from rich.console import Console

DEFAULT_DATA_DIR = Path(os.environ.get("FERRY_HOME", "~/.ferry")).expanduser() / "cluster"
console = Console(highlight=False, soft_wrap=True)


def _parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def _state(data_dir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((data_dir / "cluster.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state


def _lock_holder(data_dir: Path) -> int | None:
    """The pid of the cluster holding ``cluster.pid``'s lock, 0 if it holds it but wrote no pid yet,
    None when no cluster runs there.

    The ``flock`` a running cluster holds is the truth: the kernel drops it when the process dies, even by
    ``kill -9``, whereas ``cluster.json``/``cluster.pid`` may name a dead pid that another process reuses.
    """
    try:
        f = open(data_dir / "cluster.pid")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return None
    with f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = f.read().strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return None


def _probe(data_dir: Path, state: dict[str, Any], path: str = "/readyz") -> str | None:
    """GET a public endpoint over TLS with the cluster's CA; the body, or None when unreachable."""
    ctx = ssl.create_default_context(cafile=str(data_dir / "pki" / "ca.crt"))
    try:
        with urllib.request.urlopen(state["server"] + path, context=ctx, timeout=2) as resp:
            body: bytes = resp.read()
            return body.decode()
    except (OSError, ValueError):
        return None


@click.group()
def cluster() -> None:
    """Run the embedded Kubernetes-compatible cluster (no Docker, no downloads)."""


@cluster.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where the cluster keeps its state (objects, certificates, kubeconfig).",
)
@click.option(
    "--listen",
    default="127.0.0.1:6443",
    show_default=True,
    help="HOST:PORT to serve on (port 0: any free port).",
)
@click.option("--detach", is_flag=True, help="Run in the background and return once it serves.")
@click.option(
    "--compaction-window",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds of watch history kept; older resourceVersions get 410 Expired.",
)
@click.option(
    "--runtime",
    type=click.Choice(["process", "sim", "none"]),
    default="process",
    show_default=True,
    help="Node runtime: process (one node running real containers: runc isolation as root with runc; "
    "without them plain host processes, NOT isolated, which `kubectl describe node` and the log say), sim "
    "(simulated kubelets, pods get status without processes; for many nodes) or none (API only).",
)
@click.option(
    "--nodes",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Simulated nodes (--runtime sim).",
)
@click.option(
    "--registry",
    "registry_listen",
    default="auto",
    show_default=True,
    help="PORT (or HOST:PORT, host = --listen's) of the embedded OCI registry; auto: 5000, or any free "
    "port when --listen asks for one; off: no registry.",
)
@click.option(
    "--service-cidr",
    default="10.96.0.0/12",
    show_default=True,
    help="ClusterIPs are allocated from this range (kube-apiserver's --service-cluster-ip-range); the first "
    "address is the kubernetes Service.",
)
@click.option(
    "--gitops",
    "gitops_repo",
    metavar="APP_REPO",
    type=click.Path(exists=True, file_okay=False, resolve_path=True, path_type=Path),
    help="Also run the GitOps reconciler (ferry reconcile) for the app repository APP_REPO (where ferry.yaml "
    "is), supervised by the cluster, with a webhook on 127.0.0.1 (its address: ferry cluster status).",
)
@click.option(
    "--ingress",
    "ingress_listen",
    default="auto",
    show_default=True,
    help="PORT on 127.0.0.1 of the ingress proxy serving Ingresses (--runtime process); auto: 8080, or any free "
    "port when --listen asks for one (ferry cluster status shows it); off: no ingress.",
)
@click.option(
    "--controllers-in-process",
    is_flag=True,
    hidden=True,
    help="Run the controllers in the API server's process (for profiling both together).",
)
def up(
    data_dir: Path,
    listen: str,
    detach: bool,
    compaction_window: float,
    runtime: str,
    nodes: int,
    registry_listen: str,
    service_cidr: str,
    gitops_repo: Path | None,
    ingress_listen: str,
    controllers_in_process: bool,
) -> None:
    """Start the cluster and print how to point kubectl at it."""
    data_dir = data_dir.expanduser().resolve()
    host, port = _parse_listen(listen)
    registry_port = _registry_port(registry_listen, host, port)
    service_cidr = _service_cidr(service_cidr)
    ingress_port = _ingress_port(ingress_listen, port, runtime)
    if nodes > 1 and runtime != "sim":
        raise click.ClickException(f"--nodes {nodes} needs --runtime sim (--runtime {runtime} runs one node)")
    if gitops_repo is not None and not (gitops_repo / "ferry.yaml").is_file():
        raise click.BadParameter(f"{gitops_repo} has no ferry.yaml", param_hint="--gitops")
    holder = _lock_holder(data_dir)
    if holder is not None:
        state = _state(data_dir) or {}
        where = f", {state['server']}" if state.get("server") else ""
        raise click.ClickException(f"a cluster is already running on {data_dir} (pid {holder or '?'}{where})")
    if detach:
        _up_detached(data_dir, _argv_without_detach(click.get_current_context()))
        return
    from ferry.cluster.server import ClusterConfig, ClusterError, run_cluster

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = ClusterConfig(
        data_dir=data_dir,
        host=host,
        port=port,
        compaction_window_seconds=compaction_window,
        runtime=runtime,
        nodes=nodes,
        controllers_in_process=controllers_in_process,
        registry_port=registry_port,
        service_cidr=service_cidr,
        gitops_repo=gitops_repo,
        ingress_port=ingress_port,
    )

    def ready(url: str) -> None:
        console.print(f"ferry cluster serving on [bold]{url}[/bold] (data in {data_dir})")
        registry = (_state(data_dir) or {}).get("registry")
        if registry:
            console.print(f"registry serving on [bold]{registry}[/bold]")
        _print_gitops(_state(data_dir) or {})
        console.print(f"export KUBECONFIG={config.kubeconfig}")
        sys.stdout.flush()

    try:
        _run(run_cluster(config, ready=ready))
    except ClusterError as e:
        raise click.ClickException(str(e))


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop when it is installed (about a third more requests per second), else on asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def _registry_port(value: str, host: str, api_port: int) -> int | None:
    """``--registry``: None for off; a port (0 = any free one)."""
    if value == "off":
        return None
    if value == "auto":
        return 5000 if api_port != 0 else 0
    reg_host, sep, port = value.rpartition(":")
    if sep and reg_host.strip("[]") != host:
        raise click.BadParameter(
            f"the registry serves on the cluster's host {host}, not {reg_host}", param_hint="--registry"
        )
    if not port.isdigit() or int(port) > 65535:
        raise click.BadParameter(f"{value!r} is not PORT, HOST:PORT, auto or off", param_hint="--registry")
    return int(port)


def _ingress_port(value: str, api_port: int, runtime: str) -> int | None:
    """``--ingress``: None for off (and for runtimes without pods to route to); a port (0 = any free one)."""
    if value == "off" or (value == "auto" and runtime != "process"):
        return None
    if value == "auto":
        return 8080 if api_port != 0 else 0
    if not value.isdigit() or int(value) > 65535:
        raise click.BadParameter(f"{value!r} is not PORT, auto or off", param_hint="--ingress")
    if runtime != "process":
        raise click.BadParameter(
            f"the ingress routes to pods of --runtime process, not {runtime}", param_hint="--ingress"
        )
    return int(value)


def _ingress_url(data_dir: Path) -> str | None:
    """Where the ingress proxy listens, as its controller recorded it once listening (None: not yet, or off)."""
    try:
        url = json.loads((data_dir / "kubelet" / "network" / "ingress.json").read_text()).get("url")
    except (OSError, ValueError, AttributeError):
        return None
    return str(url) if url else None


def _service_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--service-cidr") from None
    if network.version != 4 or network.num_addresses < 16:
        raise click.BadParameter(
            "an IPv4 range of at least 16 addresses, e.g. 10.96.0.0/12", param_hint="--service-cidr"
        )
    return str(network)


def _print_gitops(state: dict[str, Any], *, status: bool = False) -> None:
    """The supervised reconciler (``--gitops``): its app repo, webhook and log; with ``status``, its pid."""
    gitops = state.get("gitops")
    if not gitops:
        return
    pid = ""
    if status:
        text = Path(gitops["pidFile"]).read_text().strip() if Path(gitops["pidFile"]).exists() else ""
        alive = text.isdigit() and Path(f"/proc/{text}").exists()
        pid = f" (pid {text})" if alive else " (not running; restarting, see the log)"
    console.print(
        f"gitops reconciler{pid}: repo {gitops['repo']}, webhook {gitops['webhook']}, log {gitops['log']}"
    )


def _argv_without_detach(ctx: click.Context) -> list[str]:
    """``cluster up``'s own options as given (defaults included), minus ``--detach``: the child's arguments."""
    argv: list[str] = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in (None, "detach", "help"):
            continue
        value = ctx.params.get(param.name)
        flag = max(param.opts, key=len)
        if param.is_flag:
            if value:
                argv.append(flag)
        elif value is not None:
            argv += [flag, str(value)]
    return argv


def _up_detached(data_dir: Path, argv: list[str]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "cluster.log"
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ferry", "cluster", "up", *argv],
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = _state(data_dir)
        if state and int(state.get("pid", 0)) == proc.pid and _probe(data_dir, state) is not None:
            console.print(
                f"ferry cluster serving on [bold]{state['server']}[/bold] (pid {proc.pid}, log {log_path})"
            )
            if state.get("registry"):
                console.print(f"registry serving on [bold]{state['registry']}[/bold]")
            _print_gitops(state)
            console.print(f"export KUBECONFIG={data_dir / 'kubeconfig'}")
            return
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] if log_path.exists() else []
            raise click.ClickException(
                f"the cluster exited during start-up: {tail[0] if tail else 'see ' + str(log_path)}"
            )
        time.sleep(0.1)
    raise click.ClickException(f"the cluster did not start within 60 s; see {log_path}")


@cluster.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True)
def status(data_dir: Path) -> None:
    """Say whether the cluster runs, where, and whether it is ready."""
    data_dir = data_dir.expanduser().resolve()
    state = _state(data_dir)
    if not state or _lock_holder(data_dir) is None:
        console.print(f"not running (data dir {data_dir})")
        sys.exit(3)
    ready = _probe(data_dir, state)
    version = _probe(data_dir, state, "/version")
    kube = json.loads(version).get("gitVersion", "?") if version else "?"
    console.print(
        f"running: pid {state['pid']}, {state['server']}, Kubernetes {kube}, ready: {'yes' if ready == 'ok' else 'no'}"
    )
    if state.get("registry"):
        console.print(f"registry: {state['registry']}")
    ingress = _ingress_url(data_dir)
    if ingress:
        console.print(f"ingress: {ingress}")
    _print_gitops(state, status=True)
    console.print(f"export KUBECONFIG={state['kubeconfig']}")
    if ready != "ok":
        sys.exit(1)


@cluster.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True)
@click.option(
    "--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for a clean stop."
)
def down(data_dir: Path, timeout: float) -> None:
    """Stop the cluster cleanly (its objects stay in the data dir for the next `up`)."""
    data_dir = data_dir.expanduser().resolve()
    pid = _lock_holder(data_dir)
    if pid is None:
        console.print("not running")
        return
    if pid == 0:
        raise click.ClickException(f"the cluster on {data_dir} is still starting; try again in a moment")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _lock_holder(data_dir) is None:
            console.print(f"stopped (pid {pid})")
            return
        time.sleep(0.1)
    raise click.ClickException(f"the cluster (pid {pid}) did not stop within {timeout:.0f} s")
