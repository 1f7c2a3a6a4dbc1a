"""``ferry ci``: affected services → test → build → tag ``<version>-<sha7>`` → push → build records.

Exit status, for CI systems: 0 every affected service was tested, built and pushed (or nothing was affected);
1 a service failed its tests, build or push (the others still ran unless ``--fail-fast``), or the registry is
down; 2 a usage or configuration error (bad ``ferry.yaml``, unknown ``--service``, bad ``--since``, dirty work
tree): nothing was run.

Progress goes to stderr (rich on a terminal, plain lines otherwise); stdout carries the result: a summary
table, or with ``--output json`` one JSON document with every build record.

The builder and the registry client are imported when the command runs, not when the CLI loads, so
``ferry --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ferry.build.ci.pipeline import Pusher, exit_code, make_tag
from ferry.build.ci.plan import CiConfigError, Plan, make_plan
from ferry.build.ci.progress import PlainReporter, RichReporter, describe_plan, write_summary
from ferry.build.ci.records import BuildRecord, records_dir, write_last_success
from ferry.build.project import ProjectError, read_version, registry_problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
USERNAME_ENV, PASSWORD_ENV = "FERRY_REGISTRY_USERNAME", "FERRY_REGISTRY_PASSWORD"


@click.command()
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The monorepo (any directory inside the git work tree; ferry.yaml is at its root).",
)
@click.option(
    "--since", metavar="REV", help="Start of the commit range. Default: the last successful run's commit."
)
@click.option("--service", "services", metavar="NAME", multiple=True, help="Only this service (repeatable).")
@click.option("--all", "all_services", is_flag=True, help="Every service, changed or not.")
@click.option("--registry", metavar="HOST:PORT[/NS]", help="Push here instead of ferry.yaml's registry.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failing service.")
@click.option("--allow-dirty", is_flag=True, help="Build uncommitted changes (tags get '-dirty').")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--dry-run", is_flag=True, help="Show the affected services and their tags; run nothing.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Builder layer cache. Default: <repo>/.ferry/cache/build.",
)
def ci(
    repo: Path,
    since: str | None,
    services: tuple[str, ...],
    all_services: bool,
    registry: str | None,
    fail_fast: bool,
    allow_dirty: bool,
    output: str,
    dry_run: bool,
    cache_dir: Path | None,
) -> None:
    """Test, build and push the services a commit range affects.

    Images are tagged <version>-<sha7> (never latest) and build records are written to
    .ferry/ci/<sha7>/<service>.json. Exit status: 0 all good, 1 a service failed, 2 usage/config error.
    """
    problem = registry_problem(registry) if registry else None
    if problem:
        click.echo(f"error: --registry: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        plan = make_plan(repo, since=since, only=services, all_services=all_services, allow_dirty=allow_dirty)
    except CiConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    tty = sys.stderr.isatty()
    header = describe_plan(plan.affected, plan.commit.sha, len(plan.project.services))
    if plan.dirty:
        header.append(
            f"warning: building {len(plan.dirty)} uncommitted file(s); tags end in {plan.tag_suffix!r}"
        )
    if dry_run:
        _dry_run(plan, header, registry, output)
        return
    reporter: PlainReporter | RichReporter = (
        RichReporter(Console(stderr=True)) if tty else PlainReporter(sys.stderr)
    )
    reporter.header(header)
    try:
        records = asyncio.run(_run(plan, reporter, registry, fail_fast, cache_dir))
    except ProjectError as exc:
        reporter.close()
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        reporter.close()
        if os.environ.get("FERRY_DEBUG"):
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    finally:
        reporter.close()
    code = exit_code(records)
    if code == EXIT_OK and plan.records_last_success:
        write_last_success(plan.root, plan.commit.sha)
    if output == "json":
        doc = {
            "gitSha": plan.commit.sha,
            "since": plan.affected.since,
            "recordsDir": str(records_dir(plan.root, plan.commit.sha)) if records else None,
            "records": records,
            "exitCode": code,
        }
        click.echo(json.dumps(doc, indent=2))
    elif records:
        write_summary(records, sys.stdout, rich=sys.stdout.isatty())
    else:
        click.echo("nothing to do: no service is affected")
    failed = [r["service"] for r in records if r.get("status") == "failed"]
    if failed:
        click.echo(f"error: {len(failed)} service(s) failed: {', '.join(failed)}", err=True)
    sys.exit(code)


async def _run(
    plan: Plan, reporter: Any, registry: str | None, fail_fast: bool, cache_dir: Path | None
) -> list[BuildRecord]:
    from ferry.build import build_image  # type: ignore[attr-defined,unused-ignore]
    from ferry.build.ci.pipeline import PipelineOptions, run_pipeline
    from ferry.registry.client import RegistryClient

    username, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)

    def client_factory(host: str) -> AbstractAsyncContextManager[Pusher]:
        client: AbstractAsyncContextManager[Pusher] = RegistryClient(
            host, username=username, password=password
        )
        return client

    options = PipelineOptions(
        fail_fast=fail_fast,
        registry_override=registry,
        cache_dir=cache_dir or plan.root / ".ferry" / "cache" / "build",
        tag_suffix=plan.tag_suffix,
        build_options={
            "registry_client_factory": lambda host: RegistryClient(host, username=username, password=password)
        },
    )
    return await run_pipeline(
        plan.project,
        plan.services,
        plan.commit,
        builder=build_image,
        client_factory=client_factory,
        reporter=reporter,
        options=options,
    )


def _dry_run(plan: Plan, header: list[str], registry: str | None, output: str) -> None:
    rows: list[dict[str, Any]] = []
    for service in plan.services:
        row: dict[str, Any] = {"service": service.name, "reason": plan.affected.reasons[service.name]}
        try:
            host, repo = plan.project.repository(service, registry_override=registry)
            version = read_version(service, plan.root)
            tag = make_tag(version, plan.commit, plan.tag_suffix)
            row.update(version=version, tag=tag, image=f"{host}/{repo}:{tag}", test=service.test)
        except ProjectError as exc:
            row["error"] = str(exc)
        rows.append(row)
    if output == "json":
        click.echo(
            json.dumps(
                {"dryRun": True, "gitSha": plan.commit.sha, "since": plan.affected.since, "services": rows},
                indent=2,
            )
        )
        return
    for line in header:
        click.echo(line)
    for row in rows:
        what = row.get("image") or f"error: {row.get('error')}"
        click.echo(f"would test, build and push {row['service']}: {what}")
