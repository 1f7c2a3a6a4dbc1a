"""``ferry demo``: the main job on the embedded default, told step by step.

Today: start the embedded cluster (with its controllers and the simulated kubelet), apply the
``demo-api`` Deployment (story 1) with the real ``kubectl``, watch it roll out, update its image (a new
ReplicaSet, pods replaced gradually), roll back (the old ReplicaSet scaled back up), and scale (no new
ReplicaSet). Each later issue adds its
part of the story (controllers roll pods, real containers answer requests, CI builds and pushes, the
delivery side promotes through sit → qa → prod).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import click
from rich.console import Console
from rich.rule import Rule

console = Console(highlight=False, soft_wrap=True)


def _run(cmd: list[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    console.print(f"[bold cyan]$ {' '.join(cmd)}[/bold cyan]")
    proc = subprocess.run(cmd, env=env, text=True, capture_output=True)
    out = (proc.stdout + proc.stderr).rstrip()
    if out:
        console.print(out, markup=False)
    if check and proc.returncode != 0:
        raise click.ClickException(f"`{' '.join(cmd)}` exited with {proc.returncode}")
    return proc


def _ferry_command() -> str:
    """How the user can run ferry: the console script when it is on PATH, else through the interpreter."""
    return "ferry" if shutil.which("ferry") else f"{sys.executable} -m ferry"


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("~/.ferry/demo").expanduser(),
    show_default=True,
)
@click.option("--keep/--stop", default=True, show_default=True, help="Leave the cluster running afterwards.")
def demo(data_dir: Path, keep: bool) -> None:
    """Run ferry's story on the embedded cluster."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise click.ClickException("kubectl is not on PATH; the demo drives the real kubectl")
    data_dir = data_dir.expanduser().resolve()
    ferry = [sys.executable, "-m", "ferry"]
    env = dict(os.environ, KUBECONFIG=str(data_dir / "kubeconfig"))
    console.print(Rule("1. Start the embedded cluster"))
    _run([*ferry, "cluster", "down", "--data-dir", str(data_dir)], env)
    # The demo's own data dir starts empty, so the story is the same on every run.
    shutil.rmtree(data_dir, ignore_errors=True)
    _run(
        [
            *ferry,
            "cluster",
            "up",
            "--detach",
            "--data-dir",
            str(data_dir),
            "--listen",
            "127.0.0.1:0",
            "--nodes",
            "2",
        ],
        env,
    )
    cache = data_dir / "kubectl-cache"
    k = [kubectl, "--cache-dir", str(cache)]
    _run([*k, "version"], env)
    console.print(Rule("2. Apply the demo-api Deployment with kubectl"))
    manifest = resources.files("ferry.demo").joinpath("demo-api.yaml")
    with resources.as_file(manifest) as path:
        console.print(path.read_text(), markup=False)
        _run([*k, "apply", "-f", str(path)], env)
    _run([*k, "rollout", "status", "deployment/demo-api", "--timeout=60s"], env)
    console.print(Rule("3. Deployment -> ReplicaSet -> Pods"))
    _run([*k, "get", "deployments,replicasets,pods", "-o", "wide"], env)
    console.print(Rule("4. A new image changes .spec.template: a rolling update"))
    _run([*k, "set", "image", "deployment/demo-api", "demo-api=myrepo/demo-api:1.0.1"], env)
    _run([*k, "rollout", "status", "deployment/demo-api", "--timeout=60s"], env)
    _run([*k, "get", "replicasets", "-o", "wide"], env)
    _run([*k, "rollout", "history", "deployment/demo-api"], env)
    console.print(Rule("5. Rollback = the old ReplicaSet scaled back up"))
    _run([*k, "rollout", "undo", "deployment/demo-api"], env)
    _run([*k, "rollout", "status", "deployment/demo-api", "--timeout=60s"], env)
    _run([*k, "get", "replicasets", "-o", "wide"], env)
    _run([*k, "rollout", "history", "deployment/demo-api"], env)
    console.print(Rule("6. Changes outside the template do not roll: scaling"))
    _run([*k, "scale", "deployment/demo-api", "--replicas=4"], env)
    _run([*k, "rollout", "status", "deployment/demo-api", "--timeout=60s"], env)
    _run([*k, "get", "replicasets"], env)
    _run([*k, "describe", "deployment", "demo-api"], env)
    console.print(
        "\nPods here run on ferry's simulated kubelet (--runtime sim): they get real Kubernetes status\n"
        "(ContainerCreating -> Running, readiness, restarts) without processes. Real containers arrive with the\n"
        "process runtime."
    )
    if keep:
        console.print(
            f"\nThe cluster keeps running. Try: [bold]export KUBECONFIG={data_dir / 'kubeconfig'}; kubectl get deploy[/bold]"
        )
        console.print(f"Stop it with: [bold]{_ferry_command()} cluster down --data-dir {data_dir}[/bold]")
    else:
        _run([*ferry, "cluster", "down", "--data-dir", str(data_dir)], env)
