"""``ferry reconcile`` (the GitOps loop) and ``ferry sync`` (sync one app now, whatever its policy).

``ferry reconcile`` runs until SIGINT/SIGTERM, logging one line per action to stderr; ``--once`` runs a single
tick, waits for the syncs it started and exits 1 if any app failed. The work is in ``ferry.delivery.gitops``.
``ferry sync`` prints the app's status after the sync and exits 1 when the sync failed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import click

EXIT_OK, EXIT_FAILED = 0, 1

_repo_option = click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The app repository (where ferry.yaml is); its configRepo names the config repo.",
)


def _logging() -> None:
    """One line per action from ferry; libraries (httpx's request lines) only when something is wrong."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("ferry").setLevel(logging.INFO)


@click.command()
@_repo_option
@click.option("--interval", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds.")
@click.option("--webhook", metavar="HOST:PORT", help="Serve POST /hooks/git here (an immediate refresh).")
@click.option("--once", is_flag=True, help="One pass: refresh, sync what changed or drifted, then exit.")
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--health-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds a sync waits for the app to become Healthy.",
)
@click.option(
    "--repo-url",
    metavar="URL",
    help="Clone the app repository from this git URL instead of --repo; fetched before every tick.",
)
def reconcile(
    repo: Path,
    interval: float,
    webhook: str | None,
    once: bool,
    concurrency: int,
    health_timeout: float,
    repo_url: str | None,
) -> None:
    """Watch the config repo and keep every (environment, service) app synced with it."""
    from ferry.delivery.configrepo import ConfigRepo
    from ferry.delivery.gitops import Clusters, Options, Reconciler, Webhook, parse_listen
    from ferry.delivery.gitops.apprepo import clone_app_repo
    from ferry.delivery.platform import load_platform

    listen = parse_listen(webhook) if webhook else None
    app_repo = clone_app_repo(repo_url) if repo_url else None
    platform = load_platform(app_repo.path if app_repo is not None else repo)
    config = ConfigRepo.for_platform(platform)
    options = Options(
        interval_seconds=interval, concurrency=concurrency, health_timeout_seconds=health_timeout
    )
    _logging()

    async def main() -> int:
        clusters = Clusters()
        refresh_app = app_repo.refresh if app_repo is not None else None
        reconciler = Reconciler(
            platform, config, clusters=clusters, options=options, before_refresh=refresh_app
        )
        hook = Webhook(lambda _: reconciler.poke(), secret=os.environ.get("FERRY_WEBHOOK_SECRET") or None)
        try:
            if once:
                await reconciler.tick()
                await reconciler.wait_idle()
                return EXIT_FAILED if reconciler.failed else EXIT_OK
            if listen is not None:
                await hook.start(*listen)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await reconciler.run(stop)
            logging.getLogger("ferry.reconcile").info("stopped")
            return EXIT_OK
        finally:
            await hook.close()
            await clusters.close()

    raise SystemExit(asyncio.run(main()))


@click.command()
@click.argument("service")
@click.option("--env", "env", required=True, metavar="ENV", help="The environment (e.g. qa).")
@_repo_option
@click.option("--health-timeout", type=click.FloatRange(min=0), default=60.0, show_default=True)
def sync(service: str, env: str, repo: Path, health_timeout: float) -> None:
    """Sync one app to the config repo's head now (also under a manual sync policy)."""
    from ferry.delivery.configrepo import ConfigRepo
    from ferry.delivery.gitops import Clusters, sync_now
    from ferry.delivery.platform import load_platform

    platform = load_platform(repo)
    platform.environment(env)
    platform.service(service)
    config = ConfigRepo.for_platform(platform)
    _logging()

    async def main() -> int:
        clusters = Clusters()
        try:
            status = await sync_now(
                platform, config, env, service, clusters=clusters, health_timeout_seconds=health_timeout
            )
        finally:
            await clusters.close()
        last = status.last_sync
        result = last.result if last else "Unknown"
        click.echo(
            f"{env}/{service}: {result} at {status.synced_revision[:7] or '-'}: {status.sync}, {status.health}"
        )
        if last is not None and last.message:
            click.echo(f"  {last.message}")
        return EXIT_OK if result == "Succeeded" else EXIT_FAILED

    raise SystemExit(asyncio.run(main()))
