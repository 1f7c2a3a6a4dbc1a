"""Running the host's network tools (iproute2, nft) and the network layer's exceptions.

Why the tools and not netlink from Python: pyroute2 is not a dependency, and iproute2 and nft are on every Linux
machine that can run pods at all. A command costs one exec (about 2 ms here); ``ip -batch -`` runs many lines in
one exec, so a pod sandbox costs three execs (host side, pod side, a check). Every command goes through a
:class:`Runner`, the seam the unit tests replace with a recording fake to assert the exact commands.

The exception tree of :mod:`ferry.cluster.network`::

    NetworkError                  anything this package raises on purpose
     ├── CommandError             a tool exited non-zero: argv, exit code and its stderr
     ├── IpamError                the IPAM state file is unusable (other CIDR, bad JSON)
     │    └── IpamExhausted       no free pod IP left in the node's pod CIDR
     └── DnsFormatError           a DNS message that cannot be decoded (the server answers FORMERR)
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "IP",
    "NFT",
    "CommandError",
    "CommandResult",
    "DnsFormatError",
    "IpamError",
    "IpamExhausted",
    "NetworkError",
    "Runner",
    "ip_batch",
    "run_command",
]

IP = shutil.which("ip") or "/usr/sbin/ip"
NFT = shutil.which("nft") or "/usr/sbin/nft"


class NetworkError(Exception):
    """Base of every error this package raises on purpose."""


class CommandError(NetworkError):
    """A host tool exited non-zero."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"{' '.join(self.argv)} exited {returncode}: {self.stderr}")


class IpamError(NetworkError):
    """The IPAM state cannot be used."""


class IpamExhausted(IpamError):
    """Every pod IP of the CIDR is allocated."""


class DnsFormatError(NetworkError):
    """A DNS message is malformed."""


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Runner(Protocol):
    """Runs one command; ``stdin`` is fed to it. Raises :class:`CommandError` on a non-zero exit when ``check``."""

    async def __call__(
        self, argv: Sequence[str], *, stdin: str | None = None, check: bool = True
    ) -> CommandResult: ...


async def run_command(argv: Sequence[str], *, stdin: str | None = None, check: bool = True) -> CommandResult:
    """The real :class:`Runner`: an asyncio subprocess, output captured, nothing inherited but the environment."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    rc = proc.returncode if proc.returncode is not None else -1
    result = CommandResult(tuple(argv), rc, out.decode(errors="replace"), err.decode(errors="replace"))
    if check and rc != 0:
        raise CommandError(argv, rc, result.stderr)
    return result


async def ip_batch(
    runner: Runner, lines: Sequence[str], *, netns: str | None = None, check: bool = True
) -> CommandResult:
    """Run ``ip`` lines in one exec (``ip [-n netns] -batch -``); iproute2 stops at the first failing line."""
    argv = [IP, *(["-n", netns] if netns else []), "-batch", "-"]
    return await runner(argv, stdin="".join(line + "\n" for line in lines), check=check)
