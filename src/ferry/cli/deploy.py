"""``ferry deploy``, ``ferry history`` and ``ferry rollback``: push deploys (way A) and their release records.

The work is in ``ferry.delivery.releases``; this module resolves the inputs, renders the app and reports.
Everything that can be checked without writing is checked first, in this order, so bad input changes nothing
in the cluster: ``ferry.yaml`` (unknown service or environment), the tag in the registry (a tag that does not
exist), the chart (a broken template, values failing its schema), the cluster (unreachable). Only then is a
release recorded and applied.

Progress goes to stdout: on a terminal a live table (rich) of each Deployment's new ReplicaSet, pods ready and
failing pods; otherwise one plain line per change, so CI logs stay readable. A failed rollout ends with
``error: rollout of <service> in <env> failed: <reason>; rolled back to v<N> (<tag>)`` and exit status 1.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ferry.delivery.apply import ClientConfig, LightkubeApi
from ferry.delivery.apps import app_name, client_config, render_app
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.pins import Pin, short_digest
from ferry.delivery.platform import Platform, load_platform
from ferry.delivery.releases import (
    DeployPlan,
    KubeReleaseStore,
    Outcome,
    Release,
    ReleaseError,
    RolloutObserver,
    holder_id,
    recover,
    rollback_target,
)
from ferry.delivery.releases import (
    deploy as run_deploy,
)
from ferry.registry.client import RegistryClient
from ferry.registry.oci import parse_reference

__all__ = ["deploy", "history", "rollback"]

T = TypeVar("T")
REPO_OPTION = click.option(
    "--repo",
    "repo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The app repository (with ferry.yaml).",
)


def _who() -> str:
    user = os.environ.get("FERRY_USER")
    if user:
        return user
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class _Reporter:
    """Plain lines (not a terminal) or a rich live table (a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self._live: Any = None

    def note(self, line: str) -> None:
        if self._live is not None:
            self._live.console.print(line, markup=False, highlight=False)  # `[web]` is text
        else:
            click.echo(line)

    def progress(self, observer: RolloutObserver) -> None:
        if not self.tty:
            for line in observer.lines():
                click.echo(line)
            return
        from rich.live import Live
        from rich.table import Table
        from rich.text import Text

        table = Table("deployment", "ready", "rollout", box=None)
        for row in observer.table():
            table.add_row(*(Text(cell) for cell in row))
        if self._live is None:
            self._live = Live(table, refresh_per_second=4, transient=True)
            self._live.start()
        else:
            self._live.update(table)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


async def _with_cluster(config: ClientConfig, body: Callable[[Any, Any], Awaitable[T]]) -> T:
    async with LightkubeApi.connect(config) as api, KubeReleaseStore.connect(config) as store:
        return await body(api, store)


async def _resolve_digest(image: str, tag: str) -> str:
    ref = parse_reference(image)
    async with RegistryClient(ref.registry) as registry:
        found = await registry.head_manifest(ref.repository, tag)
    if found is None:
        raise ReleaseError(f"tag {tag} not found in {ref.registry}/{ref.repository}")
    return found.digest


def _config_repo(platform: Platform) -> ConfigRepo | None:
    return ConfigRepo.for_platform(platform) if platform.config_repo is not None else None


def _finish(outcome: Outcome, reporter: _Reporter) -> None:
    reporter.close()
    if not outcome.ok:
        raise ReleaseError(outcome.message)
    click.echo(outcome.message)


@click.command()
@click.argument("service")
@click.option("--env", "env_name", required=True, help="The environment (ferry.yaml's environments).")
@click.option(
    "--tag", required=True, help="The image tag to deploy (its digest is looked up in the registry)."
)
@click.option("--digest", help="The image digest (sha256:...); skips the registry lookup.")
@click.option("--set", "set_values", multiple=True, metavar="KEY=VALUE", help="A chart value (repeatable).")
@click.option("--timeout", "timeout_seconds", type=float, default=300.0, show_default=True, help="Seconds.")
@click.option("--no-wait", is_flag=True, help="Apply and record; do not wait for health.")
@click.option("--force", is_flag=True, help="Deploy even into an environment delivered by GitOps.")
@REPO_OPTION
def deploy(
    service: str,
    env_name: str,
    tag: str,
    digest: str | None,
    set_values: tuple[str, ...],
    timeout_seconds: float,
    no_wait: bool,
    force: bool,
    repo_dir: Path,
) -> None:
    """Deploy SERVICE's image TAG to an environment, wait for it, and roll back if it fails."""
    platform = load_platform(repo_dir)
    env = platform.environment(env_name)
    svc = platform.service(service)
    if env.delivery == "gitops" and not force:
        raise ReleaseError(
            f"{env.name} is delivered by GitOps (ferry.yaml line {env.line}): promote instead "
            f"(ferry promote {svc.name} --to {env.name} ...) or set `delivery: push` on it; --force deploys "
            "anyway, and a self-healing reconciler will revert it"
        )
    resolved = digest or asyncio.run(_resolve_digest(svc.image, tag))
    pin = Pin(repository=svc.image, tag=tag, digest=resolved, promoted_by=_who())
    desired = render_app(platform, _config_repo(platform), env.name, svc.name, pin=pin, set_values=set_values)
    plan = DeployPlan(
        service=svc.name,
        env=env.name,
        namespace=env.namespace,
        app=desired.name,
        pin=pin,
        objects=desired.objects,
        who=_who(),
        set_values=set_values,
        config_revision=desired.revision,
    )
    reporter = _Reporter()

    async def body(api: Any, store: Any) -> Outcome:
        return await run_deploy(
            api, store, plan, holder=holder_id(), timeout_seconds=timeout_seconds, wait=not no_wait,
            reporter=reporter,
        )  # fmt: skip

    try:
        outcome = asyncio.run(_with_cluster(client_config(env), body))
    finally:
        reporter.close()
    _finish(outcome, reporter)


@click.command()
@click.argument("service")
@click.option("--env", "env_name", required=True, help="The environment.")
@click.option(
    "--to", "to_version", type=int, help="The revision to go back to (default: the previous good one)."
)
@click.option("--timeout", "timeout_seconds", type=float, default=300.0, show_default=True, help="Seconds.")
@click.option("--no-wait", is_flag=True, help="Apply and record; do not wait for health.")
@REPO_OPTION
def rollback(
    service: str, env_name: str, to_version: int | None, timeout_seconds: float, no_wait: bool, repo_dir: Path
) -> None:
    """Roll SERVICE back in an environment, the way the environment is delivered.

    Push: re-apply an earlier revision's manifest as a new revision (like helm rollback). GitOps: commit the
    previous good pin and reject the current digest (what `ferry reject --to-previous` does), so the reconciler
    applies it and nothing fights git.
    """
    platform = load_platform(repo_dir)
    env = platform.environment(env_name)
    svc = platform.service(service)
    if env.delivery == "gitops":
        if to_version is not None:
            raise ReleaseError(
                f"--to counts push releases; {env.name} is delivered by GitOps, where rollback commits the "
                "previous good pin (see ferry history of the config repo, or ferry reject --digest)"
            )
        from ferry.cli.promote import reject as reject_command

        click.get_current_context().invoke(
            reject_command, service=svc.name, env=env.name, to_previous=True, digest=None, repo=repo_dir
        )
        return
    reporter = _Reporter()
    holder = holder_id()

    async def body(api: Any, store: Any) -> Outcome:
        found = await recover(store, env.namespace, svc.name, holder=holder)
        target = rollback_target(found.releases, to=to_version)
        plan = DeployPlan(
            service=svc.name,
            env=env.name,
            namespace=env.namespace,
            app=app_name(env.name, svc.name),
            pin=Pin(repository=target.repository, tag=target.tag, digest=target.digest),
            objects=target.manifest,
            who=_who(),
            set_values=target.set_values,
            config_revision=target.config_revision,
            kind="rollback",
            source_version=target.version,
        )
        reporter.note(f"rolling {svc.name} in {env.name} back to v{target.version} ({target.tag})")
        return await run_deploy(
            api,
            store,
            plan,
            holder=holder,
            timeout_seconds=timeout_seconds,
            wait=not no_wait,
            reporter=reporter,
        )

    try:
        outcome = asyncio.run(_with_cluster(client_config(env), body))
    finally:
        reporter.close()
    _finish(outcome, reporter)


def _row(r: Release) -> dict[str, Any]:
    what = f"rollback to v{r.source_version}" if r.kind == "rollback" else r.kind
    return {
        "revision": r.version,
        "status": str(r.state),
        "tag": r.tag,
        "digest": r.digest,
        "updated": r.updated_at,
        "who": r.who,
        "kind": what,
        "rolledBackTo": r.rolled_back_to,
        "reason": r.reason,
    }


@click.command()
@click.argument("service")
@click.option("--env", "env_name", required=True, help="The environment.")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@REPO_OPTION
def history(service: str, env_name: str, output: str, repo_dir: Path) -> None:
    """SERVICE's releases in an environment, oldest first (interrupted ones are marked failed first)."""
    platform = load_platform(repo_dir)
    env = platform.environment(env_name)
    svc = platform.service(service)

    async def body(api: Any, store: Any) -> list[Release]:
        found = await recover(store, env.namespace, svc.name, holder=holder_id())
        for line in found.notes:
            click.echo(f"recovered {line}", err=True)
        return [r for r, _ in found.releases]

    releases = asyncio.run(_with_cluster(client_config(env), body))
    rows = [_row(r) for r in releases]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no releases of {svc.name} in {env.name}")
        return
    header = ("REVISION", "STATUS", "TAG", "DIGEST", "UPDATED", "WHO", "DESCRIPTION")
    lines = [header]
    for r in rows:
        desc = "; ".join(str(p) for p in (r["kind"], r["reason"]) if p)
        if r["rolledBackTo"]:
            desc += f"; rolled back to v{r['rolledBackTo']}"
        lines.append(
            (
                str(r["revision"]),
                r["status"],
                r["tag"],
                short_digest(r["digest"]),
                r["updated"],
                r["who"],
                desc,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    for line in lines:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + "  " + line[-1])
