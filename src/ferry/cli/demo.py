"""``ferry demo``: the main job on the embedded default, told step by step.

Today it starts the embedded cluster, applies the ``demo-api`` Deployment (story 1) with the real
``kubectl``, and shows what the API server stored and how kubectl prints it. Each later issue adds its
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
    _run([*ferry, "cluster", "up", "--detach", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0"], env)
    cache = data_dir / "kubectl-cache"
    k = [kubectl, "--cache-dir", str(cache)]
    _run([*k, "version"], env)
    console.print(Rule("2. Apply the demo-api Deployment with kubectl"))
    manifest = resources.files("ferry.demo").joinpath("demo-api.yaml")
    with resources.as_file(manifest) as path:
        console.print(path.read_text(), markup=False)
        _run([*k, "apply", "-f", str(path)], env)
    console.print(Rule("3. What the API server stored"))
    _run([*k, "get", "deployments", "-o", "wide"], env)
    _run([*k, "get", "deployment", "demo-api", "-o", "yaml"], env)
    _run([*k, "describe", "deployment", "demo-api"], env)
    _run([*k, "get", "all", "-A"], env)
    console.print(
        "\nThe Deployment is stored with Kubernetes' defaults (strategy RollingUpdate 25%/25%, revisionHistoryLimit 10,\n"
        "progressDeadlineSeconds 600, imagePullPolicy IfNotPresent). The Deployment controller that creates its\n"
        "ReplicaSet and Pods arrives with the controllers; until then READY stays 0/2."
    )
    if keep:
        console.print(
            f"\nThe cluster keeps running. Try: [bold]export KUBECONFIG={data_dir / 'kubeconfig'}; kubectl get deploy[/bold]"
        )
        console.print(f"Stop it with: [bold]{_ferry_command()} cluster down --data-dir {data_dir}[/bold]")
    else:
        _run([*ferry, "cluster", "down", "--data-dir", str(data_dir)], env)
