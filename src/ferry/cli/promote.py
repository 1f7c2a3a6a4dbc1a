"""``ferry promote``, ``ferry approve``, ``ferry reject``, ``ferry status``: GitOps promotion from the command line.

The work is in ``ferry.delivery.promotion``; this module reads ``ferry.yaml`` (``--repo``, default ``.``),
opens the config repo it names, and prints. Every command changes the config repo only: a commit per pin or
approval, authored by the person running it (``FERRY_USER`` if set, else git's ``user.name``/``user.email``
in the app repository, else the login name). Refusals and bad input raise; the CLI group prints them as one
``error: ...`` line with exit status 1, and nothing is committed.

``ferry rollback <service> --env E --gitops`` is meant to route to ``ferry reject --to-previous`` once the
push-mode ``rollback`` (cli/deploy.py) and this module are merged.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.pins import short_digest
from ferry.delivery.platform import Platform, load_platform
from ferry.delivery.promotion import (
    ClusterObserver,
    Promotion,
    StatusRow,
    collect_status,
)
from ferry.delivery.promotion import (
    approve as approve_digest,
)
from ferry.delivery.promotion import (
    promote as promote_services,
)
from ferry.delivery.promotion import (
    reject as reject_digest,
)

__all__ = ["approve", "promote", "reject", "status"]

_REPO = click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The app repository (ferry.yaml at its root).",
)


def who_am_i(root: Path) -> str:
    """The author of the commits this command makes (see the module docstring)."""
    if os.environ.get("FERRY_USER"):
        return os.environ["FERRY_USER"]

    def config(key: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(root), "config", key], capture_output=True, text=True, check=False
        )
        return proc.stdout.strip()

    name, email = config("user.name"), config("user.email")
    if name:
        return f"{name} <{email}>" if email else name
    return getpass.getuser()


def _open(repo_dir: Path) -> tuple[Platform, ConfigRepo]:
    platform = load_platform(repo_dir)
    return platform, ConfigRepo.for_platform(platform)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@click.command()
@click.argument("services", nargs=-1, required=True)
@click.option("--to", "target", required=True, metavar="ENV", help="The environment to promote into.")
@click.option("--from", "source", metavar="ENV", help="The environment before it (the default).")
@click.option(
    "--build",
    type=click.Path(exists=True, path_type=Path),
    help="A build record from ferry ci (.ferry/ci/<sha7>/<service>.json, or that directory): enters the first environment.",
)
@click.option("--force", is_flag=True, help="Promote a digest the target environment has rejected.")
@click.option("--skip-approval", is_flag=True, help="Do not require ferry approve (recorded in the commit).")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_REPO
def promote(
    services: tuple[str, ...],
    target: str,
    source: str | None,
    build: Path | None,
    force: bool,
    skip_approval: bool,
    output: str,
    repo: Path,
) -> None:
    """Promote SERVICES into --to: the gates are checked for all of them, then one commit per service.

    Several services form a release set, promoted in dependency order. Gates: the source environment Healthy
    and Synced at the digest for soakSeconds, its verify command, an approval where asked, not rejected.
    """
    platform, config = _open(repo)
    who = who_am_i(platform.root)

    async def run() -> list[Promotion]:
        async with ClusterObserver(platform, config) as observer:
            return await promote_services(
                platform,
                config,
                list(services),
                target=target,
                source=source,
                build=build,
                observer=observer,
                who=who,
                now=_now(),
                force=force,
                skip_approval=skip_approval,
            )

    done = asyncio.run(run())
    if output == "json":
        click.echo(json.dumps([_promotion_json(p) for p in done], indent=2))
        return
    for p in done:
        what = f"{p.service} {p.pin.tag} ({short_digest(p.pin.digest)})"
        if p.noop:
            click.echo(f"{what}: already in {p.target}, nothing to commit")
            continue
        click.echo(f"promoted {what} {p.source} → {p.target}: commit {(p.commit or '')[:12]}")
        for g in p.gates:
            click.echo(f"  gate {g.gate}: {g.detail}")


def _promotion_json(p: Promotion) -> dict[str, object]:
    return {
        "service": p.service,
        "from": p.source,
        "to": p.target,
        "tag": p.pin.tag,
        "digest": p.pin.digest,
        "commit": p.commit,
        "noop": p.noop,
        "gates": [{"gate": g.gate, "passed": g.passed, "detail": g.detail} for g in p.gates],
    }


@click.command()
@click.argument("service")
@click.option("--env", "env", required=True, metavar="ENV", help="The environment that asks for approval.")
@click.option("--digest", required=True, metavar="sha256:...", help="The digest allowed in.")
@_REPO
def approve(service: str, env: str, digest: str, repo: Path) -> None:
    """Approve DIGEST of SERVICE for ENV: a commit to envs/<env>/<service>/approvals.yaml."""
    platform, config = _open(repo)
    approval, sha = approve_digest(
        platform, config, service, env, digest=digest, who=who_am_i(platform.root), now=_now()
    )
    what = f"{service} {approval.tag or ''} ({short_digest(digest)})".replace("  ", " ")
    if sha is None:
        click.echo(f"{what} was already approved for {env}")
    else:
        click.echo(f"approved {what} for {env} by {approval.approved_by}: commit {sha[:12]}")


@click.command()
@click.argument("service")
@click.option("--env", "env", required=True, metavar="ENV")
@click.option("--to-previous", is_flag=True, help="Roll back: commit the previous good pin.")
@click.option("--digest", metavar="sha256:...", help="The digest to reject (default: the one ENV runs).")
@_REPO
def reject(service: str, env: str, to_previous: bool, digest: str | None, repo: Path) -> None:
    """Reject a digest in ENV so it cannot be promoted there again without --force.

    With --to-previous (the GitOps rollback), the previous good pin is committed in the same commit.
    """
    platform, config = _open(repo)
    done = reject_digest(
        platform,
        config,
        service,
        env,
        who=who_am_i(platform.root),
        now=_now(),
        digest=digest,
        to_previous=to_previous,
    )
    bad = short_digest(done.digest)
    if done.restored is not None:
        back = f"{done.restored.tag} ({short_digest(done.restored.digest)})"
        click.echo(f"rejected {service} {bad} in {env}; back to {back}: commit {(done.commit or '')[:12]}")
    else:
        click.echo(f"rejected {service} {bad} in {env}: commit {(done.commit or '')[:12]}")


@click.command()
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_REPO
def status(output: str, repo: Path) -> None:
    """Every environment and service: version, digest, sync, health and the last change."""
    platform, config = _open(repo)

    async def run() -> list[StatusRow]:
        async with ClusterObserver(platform, config) as observer:
            return await collect_status(platform, config, observer)

    rows = asyncio.run(run())
    if output == "json":
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    header = ("ENV", "SERVICE", "VERSION", "DIGEST", "SYNC", "HEALTH", "LAST CHANGE")
    cells = [
        (
            r.env,
            r.service,
            r.tag or "-",
            r.short_digest,
            r.sync,
            r.health,
            f"{r.changed_at} {r.changed_by}: {r.change}" if r.commit else "-",
        )
        for r in rows
    ]
    if sys.stdout.isatty():
        table = Table(box=None, header_style="bold")
        for i, title in enumerate(header):
            table.add_column(title, no_wrap=i < len(header) - 1)
        for row in cells:
            table.add_row(*row)
        Console().print(table)
    else:
        widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header) - 1)]
        for row in [header, *cells]:
            click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    for r in rows:
        if r.reason and (r.health not in ("Healthy", "-") or r.sync not in ("Synced", "-")):
            click.echo(f"{r.env}/{r.service}: {r.reason}")
