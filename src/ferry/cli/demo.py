"""``ferry demo`` (``make demo``): stories 1, 3 and 4 on the embedded cluster with real pods, unattended.

The demo is told by ``ferry.demo``: it shells out to ``ferry``, ``kubectl``, ``git`` and ``curl`` and prints
every command with its output, so each step can be typed again by hand. In order (docs/demo.md):

1. a fresh data dir: the app repo (a copy of examples/, five services) and the config repo, in git;
2. ``ferry cluster up --runtime process --gitops <app repo>``: real pods, the registry, the GitOps reconciler;
3. ``ferry ci`` builds and pushes all five; demo-api 1.0.0 is promoted sit → qa → prod (approval for prod);
4. "the merged PR": demo-api 1.0.1, built alone, promoted; the prod rollout runs under traffic;
5. ``ferry rollback demo-api --env prod`` under traffic, back to 1.0.0;
6. story 3: four services in sit; a change to order-service rolls only order-service;
7. ``ferry cluster down`` unless ``--keep`` (or ``DEMO_KEEP=1``).

Any step that does not do what the story says stops the demo with one line naming the step and a non-zero
exit; failed requests under traffic are reported with their numbers and also make the exit non-zero.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import click
from rich.console import Console
from rich.rule import Rule

from ferry.demo.isolation import four_services
from ferry.demo.shell import DemoFailed, Shell
from ferry.demo.story import Story
from ferry.demo.workspace import Workspace, examples_dir

console = Console(highlight=False, soft_wrap=True)
NEEDED = ("kubectl", "git", "curl", "node")
# Without root the process runtime still runs pods, as plain host processes on the host's network (no pod
# network, ClusterIPs or cluster DNS): two demo-api replicas would both bind :3000, and a rolling update needs
# two pods at once. Say so at once rather than fail at the first rollout.
NOT_ROOT = (
    "the demo needs root: without it, pods run as plain processes on the host's network (no pod IPs, ClusterIPs "
    "or cluster DNS), so replicas of one service cannot run side by side; run `sudo make demo` (docs/demo.md)"
)


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("~/.ferry/demo").expanduser(),
    show_default=True,
    help="Emptied at the start; the cluster, the app repo and the config repo live here (FERRY_HOME).",
)
@click.option(
    "--keep",
    is_flag=True,
    envvar="DEMO_KEEP",
    help="Leave the cluster running afterwards (also DEMO_KEEP=1). Default: stop it.",
)
def demo(data_dir: Path, keep: bool) -> None:
    """Tell ferry's stories 1, 3 and 4 on the embedded cluster with real pods."""
    if os.geteuid() != 0:
        raise click.ClickException(NOT_ROOT)
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        raise click.ClickException(f"the demo needs {', '.join(missing)} on PATH")
    examples = examples_dir()
    if examples is None:
        raise click.ClickException("examples/ not found: run the demo from a source checkout of ferry")
    root = data_dir.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    shell = Shell(console, Workspace.environ(root), root / "work" / "shop")
    ws = Workspace(root, shell)
    started = time.monotonic()
    story = Story(ws)
    failure: DemoFailed | None = None
    cluster_started = False
    try:
        shell.step(
            "Two git repositories",
            "ferry works from git: code and charts in one, what runs where in the other",
        )
        ws.clean()
        ws.create_repos(examples)
        shell.step(
            "Start the embedded cluster: real pods, a registry, the GitOps reconciler",
            "one command gives a Kubernetes API, a node running pods, an OCI registry and ferry reconcile",
        )
        cluster_started = True
        ws.start_cluster()
        ws.point_at_registry()
        ws.install_webhook_hook()
        first = story.first_release()
        first_records = ws.records_dir()
        story.merged_pr(first)
        story.rollback(first)
        four_services(ws, first_records)
        shell.end_step()
    except DemoFailed as e:
        failure = e
        shell.end_step()
    finally:
        if cluster_started and not keep:
            console.print(Rule("Stop everything (--keep leaves it running)"))
            try:
                ws.stop_cluster()
            except DemoFailed as e:
                failure = failure or e
    _summary(shell, story, time.monotonic() - started)
    if keep and cluster_started:
        console.print(
            f"The cluster keeps running: [bold]export FERRY_HOME={root} KUBECONFIG={ws.cluster / 'kubeconfig'}[/bold]"
        )
        console.print(f"  cd {ws.app}; ferry status; kubectl get pods -A")
        console.print(f"  stop it: ferry cluster down --data-dir {ws.cluster}")
    if failure is not None:
        raise click.ClickException(f"the demo failed at {failure}")
    bad = [c for c in story.checks if not c.ok]
    if bad:
        raise click.ClickException("; ".join(c.verdict() for c in bad))


def _summary(shell: Shell, story: Story, total: float) -> None:
    console.print()
    console.print(Rule("[bold]Summary[/bold]"))
    for name, seconds in shell.timings:
        console.print(f"  {seconds:6.1f} s  {name}", markup=False)
    console.print(f"  {total:6.1f} s  in total; where the time went:")
    for what, seconds, count in shell.slowest():
        console.print(f"  {seconds:6.1f} s  {what} ({count}x)", markup=False)
    for check in story.checks:
        style = "green" if check.ok else "bold red"
        console.print(f"  [{style}]{check.verdict()}[/{style}]")
