"""``ferry registry serve|gc|passwd``: the embedded OCI registry on its own.

``serve`` runs in the foreground until Ctrl-C or SIGTERM, which stop it cleanly (in-flight requests get a
short grace period; everything acknowledged is already on disk). ``gc`` collects garbage in a data
directory no registry is serving. ``passwd`` prints a ``user:pbkdf2_sha256$...`` line for ``--htpasswd``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ferry.registry.server import RegistrySettings

DEFAULT_DATA_DIR = Path(os.environ.get("FERRY_HOME", "~/.ferry")).expanduser() / "registry"


def _parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}", param_hint="--listen")
    return host.strip("[]") or "127.0.0.1", int(port)


@click.group()
def registry() -> None:
    """Serve and maintain the embedded OCI registry."""


@registry.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where blobs, manifests and tags are stored.",
)
@click.option(
    "--listen", default="127.0.0.1:5000", show_default=True, help="HOST:PORT (port 0: any free port)."
)
@click.option(
    "--htpasswd",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Require auth: user:hash lines (pbkdf2_sha256$..., {SHA}..., or plain).",
)
@click.option("--allow-latest", is_flag=True, help="Accept pushes of the tag `latest`.")
@click.option("--mutable-tags", is_flag=True, help="Let a push move an existing tag to another digest.")
def serve(data_dir: Path, listen: str, htpasswd: Path | None, allow_latest: bool, mutable_tags: bool) -> None:
    """Serve the registry in the foreground and print its URL."""
    from ferry.registry.server import RegistrySettings, RepositoryPolicy, load_htpasswd

    host, port = _parse_listen(listen)
    settings = RegistrySettings(
        data_dir=data_dir.expanduser().resolve(),
        host=host,
        port=port,
        users=load_htpasswd(htpasswd) if htpasswd else None,
        default_policy=RepositoryPolicy(immutable_tags=not mutable_tags, allow_latest=allow_latest),
    )
    asyncio.run(_serve(settings))


async def _serve(settings: RegistrySettings) -> None:
    from ferry.registry.server import start_registry

    running = await start_registry(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    policy = settings.default_policy
    rules = [
        "tags immutable" if policy.immutable_tags else "tags mutable",
        "latest allowed" if policy.allow_latest else "latest refused",
        "auth on" if settings.users is not None else "no auth",
    ]
    click.echo(f"ferry registry serving on {running.url} ({', '.join(rules)}; data in {settings.data_dir})")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await running.stop()
    click.echo("ferry registry stopped")


@registry.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="The registry's data directory (no registry may be serving it).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option(
    "--delete-untagged", is_flag=True, help="Also delete manifests no tag reaches (and their blobs)."
)
def gc(data_dir: Path, dry_run: bool, delete_untagged: bool) -> None:
    """Delete blobs no manifest references (and stale uploads)."""
    from ferry.registry.server import collect_garbage

    report = collect_garbage(
        data_dir.expanduser().resolve(), dry_run=dry_run, delete_untagged=delete_untagged
    )
    click.echo(report.summary())


@registry.command()
@click.argument("user")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of prompting.")
def passwd(user: str, password_stdin: bool) -> None:
    """Print an htpasswd line (salted PBKDF2-SHA256) for USER."""
    from ferry.registry.server import hash_password

    if ":" in user or not user:
        raise click.BadParameter("must be non-empty and contain no ':'", param_hint="USER")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.BadParameter("must not be empty", param_hint="password")
    click.echo(f"{user}:{hash_password(password)}")


__all__ = ["gc", "passwd", "registry", "serve"]
