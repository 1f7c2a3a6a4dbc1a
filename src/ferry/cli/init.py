"""``ferry init [DIR]``: scaffold ``ferry.yaml`` and a config repo for an existing repository.

The work is in ``ferry.delivery.scaffold``; this module turns its result into lines on stdout and its
errors into one line on stderr with exit status 2 (nothing written).
"""

from __future__ import annotations

from pathlib import Path

import click

from ferry.delivery.scaffold import DEFAULT_REGISTRY, ScaffoldError, apply, plan

EXIT_USAGE = 2


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing ferry.yaml.")
@click.option(
    "--app", metavar="NAME", help="Application name; namespaces are <app>-<env>. Default: DIR's name."
)
@click.option(
    "--config-repo",
    metavar="PATH",
    default="deploy",
    show_default=True,
    help="Where to create the config repo (relative to DIR); kept if it exists.",
)
@click.option("--registry", metavar="HOST:PORT[/NS]", default=DEFAULT_REGISTRY, show_default=True)
def init(directory: Path, force: bool, app: str | None, config_repo: str, registry: str) -> None:
    """Write ferry.yaml (services from services/*, charts from helm/*) and create the config repo.

    Environments sit, qa and prod on the embedded cluster; prod needs an approval.
    """
    try:
        scaffold = apply(plan(directory, app=app, config_repo=config_repo, registry=registry, force=force))
    except ScaffoldError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    for item in scaffold.created:
        click.echo(f"created {item}")
    if not scaffold.created[1:]:
        click.echo(f"kept    {scaffold.config_repo} (already there)")
    for s in scaffold.services:
        chart = s.chart or f"no chart yet (helm/{s.name})"
        click.echo(f"service {s.name}: {s.language}, {chart}")
    if not scaffold.services:
        click.echo("no services found under services/*: add them to ferry.yaml by hand")
    for orphan in scaffold.orphan_charts:
        click.echo(f"note    {orphan}: a chart with no service of that name (set a service's `chart:`)")
    click.echo(f"app {scaffold.app}: environments sit → qa → prod, namespaces {scaffold.app}-<env>")
