"""``ferry``: the command line (click + rich).

Errors end as one readable line on stderr plus a non-zero exit code, never a traceback
(``FERRY_DEBUG=1`` shows it).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ferry import __version__
from ferry.cli.build import build
from ferry.cli.ci import ci
from ferry.cli.cluster import cluster
from ferry.cli.demo import demo
from ferry.cli.deploy import deploy, history, rollback
from ferry.cli.init import init
from ferry.cli.promote import approve, promote, reject, status
from ferry.cli.reconcile import reconcile, sync
from ferry.cli.registry import registry


class FerryGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (
            click.ClickException,
            click.exceptions.Exit,
            click.exceptions.Abort,
            SystemExit,
            KeyboardInterrupt,
        ):
            raise
        except Exception as e:
            if os.environ.get("FERRY_DEBUG"):
                raise
            click.echo(f"error: {e}", err=True)
            sys.exit(1)


@click.group(cls=FerryGroup)
@click.version_option(__version__, prog_name="ferry")
def main() -> None:
    """ferry takes a merged pull request to production on Kubernetes, safely, and shows every step."""


main.add_command(build)
main.add_command(ci)
main.add_command(cluster)
main.add_command(demo)
main.add_command(init)
for _command in (deploy, history, rollback, approve, promote, reject, status, reconcile, sync):
    main.add_command(_command)
main.add_command(registry)
