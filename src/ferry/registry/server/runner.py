"""Running the registry inside the caller's event loop: `start_registry` → `RunningRegistry.stop()`.

`start_registry` binds (port 0 picks a free port and `url` says which), serves, and returns at once, so
tests, benchmarks and `ferry cluster up` run a registry next to their own work. It takes an exclusive
`flock` on `<data_dir>/registry.lock` for as long as it runs: two registries on one directory would race
their tag checks, and `collect_garbage` must not sweep under a live registry. The kernel drops the lock
when the process dies, even by kill -9, so a restart after a crash never finds a stale lock.

Access logging is off (it costs a tenth of the throughput); errors are still logged.
"""

from __future__ import annotations

import fcntl
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aiohttp import web

from ferry.registry.server.app import make_app
from ferry.registry.server.durable import ensure_dir
from ferry.registry.server.policy import RegistrySettings

__all__ = ["RegistryLocked", "RunningRegistry", "data_lock", "start_registry"]


class RegistryLocked(Exception):
    """Another process is serving (or collecting garbage in) this data directory."""


def data_lock(data_dir: Path, purpose: str) -> IO[str]:
    """Take `<data_dir>/registry.lock` exclusively (no waiting); the returned file holds it until closed."""
    ensure_dir(data_dir)
    f = open(data_dir / "registry.lock", "a+")  # noqa: SIM115 - held until the caller closes it
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "?"
        f.close()
        raise RegistryLocked(
            f"cannot {purpose}: {data_dir} is in use by another registry process ({holder})"
        ) from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}\n")
    f.flush()
    return f


@dataclass
class RunningRegistry:
    """A registry serving in this event loop."""

    settings: RegistrySettings
    host: str
    port: int
    _runner: web.AppRunner
    _lock: IO[str]

    @property
    def host_port(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host_port}"

    async def stop(self) -> None:
        """Stop serving (in-flight requests get a short grace period) and release the data directory."""
        try:
            await self._runner.cleanup()
        finally:
            self._lock.close()


async def start_registry(settings: RegistrySettings) -> RunningRegistry:
    """Serve the registry on `settings.host:settings.port` until `stop()`."""
    lock = data_lock(settings.data_dir, "start the registry")
    try:
        app = make_app(settings)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        port = settings.port
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        for sock in sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                port = sock.getsockname()[1]
                break
        return RunningRegistry(settings, settings.host, port, runner, lock)
    except BaseException:
        lock.close()
        raise
