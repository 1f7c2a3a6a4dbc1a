"""The demo's narrator: numbered steps, each with a one-line "why", and the real commands it runs, printed as
a user would type them (``ferry ...``, ``kubectl ...``, ``git ...``) together with their output.

The demo drives ferry only through its command line and kubectl, so everything it shows can be typed again by
hand; ``ferry`` is run as ``<this python> -m ferry`` so the demo works from a virtualenv that is not on PATH.
A command that fails (or, with ``expect_fail``, one that succeeds) raises :class:`DemoFailed` naming the step,
which ``ferry demo`` turns into its one-line error.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

__all__ = ["DemoFailed", "Shell"]

SHOW_SECONDS = 1.0  # commands that take longer get their duration printed


class DemoFailed(Exception):
    """A step of the demo did not do what the story says; the message is one readable line."""


@dataclass
class Shell:
    console: Console
    env: dict[str, str]
    cwd: Path
    step_name: str = ""
    step_started: float = 0.0
    timings: list[tuple[str, float]] = field(default_factory=list)
    commands: list[tuple[str, float]] = field(default_factory=list)  # (what, seconds), see spent()
    _number: int = 0

    # -- narration -----------------------------------------------------------------------------------------
    def step(self, title: str, why: str) -> None:
        """Start a numbered step: a rule with the title, then why it matters."""
        self.end_step()
        self._number += 1
        self.step_name = f"{self._number}. {title}"
        self.step_started = time.monotonic()
        self.console.print()
        self.console.print(Rule(f"[bold]{self.step_name}[/bold]"))
        self.console.print(f"[italic]why: {why}[/italic]")

    def end_step(self) -> None:
        if self.step_name:
            self.timings.append((self.step_name, time.monotonic() - self.step_started))
            self.step_name = ""

    def say(self, text: str) -> None:
        self.console.print(f"[green]>[/green] {text}")

    def spent(self, what: str, seconds: float) -> None:
        """Account time to ``what`` (``ferry promote``, ``kubectl``, ``waiting for the reconciler``)."""
        self.commands.append((what, seconds))

    def slowest(self, n: int = 6) -> list[tuple[str, float, int]]:
        """Where the time went: (what, total seconds, count), largest first."""
        totals: dict[str, tuple[float, int]] = {}
        for what, seconds in self.commands:
            total, count = totals.get(what, (0.0, 0))
            totals[what] = (total + seconds, count + 1)
        ranked = sorted(totals.items(), key=lambda kv: -kv[1][0])
        return [(what, total, count) for what, (total, count) in ranked[:n]]

    def fail(self, reason: str) -> DemoFailed:
        return DemoFailed(f"step {self.step_name or '?'}: {reason}")

    # -- commands ------------------------------------------------------------------------------------------
    def run(
        self,
        cmd: Sequence[str],
        *,
        cwd: Path | None = None,
        expect_fail: bool = False,
        show: Callable[[str], str] | None = None,
        input: str | None = None,
        timeout: float = 600.0,
        stderr_first: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Print ``$ cmd``, run it, print its output (through ``show`` if given) and check its exit status.

        Output is stdout then stderr; ``stderr_first`` for commands that log progress on stderr and print
        their result on stdout (``ferry ci``)."""
        where = cwd or self.cwd
        prefix = "" if where == self.cwd else f"(cd {where}) "
        self.console.print(f"[bold cyan]$ {prefix}{shlex.join(cmd)}[/bold cyan]")
        argv = [sys.executable, "-m", "ferry", *cmd[1:]] if cmd[0] == "ferry" else list(cmd)
        started = time.monotonic()
        try:
            proc = subprocess.run(
                argv, cwd=where, env=self.env, text=True, capture_output=True, input=input, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise self.fail(f"`{shlex.join(cmd)}` did not finish within {timeout:.0f} s") from None
        took = time.monotonic() - started
        self.spent(" ".join(cmd[:2]) if cmd[0] == "ferry" else cmd[0], took)
        out = (proc.stderr + proc.stdout if stderr_first else proc.stdout + proc.stderr).rstrip()
        if show is not None:
            out = show(out)
        if out:
            self.console.print(out, markup=False, highlight=False)
        if took >= SHOW_SECONDS:
            self.console.print(f"[dim]({took:.1f} s)[/dim]")
        if expect_fail and proc.returncode == 0:
            raise self.fail(f"`{shlex.join(cmd)}` was expected to be refused, and it succeeded")
        if not expect_fail and proc.returncode != 0:
            last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["no output"]
            raise self.fail(f"`{shlex.join(cmd)}` exited with {proc.returncode}: {last[0]}")
        return proc

    def quiet(self, cmd: Sequence[str], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command the story does not need to show (a poll, a lookup); failures are the caller's."""
        argv = [sys.executable, "-m", "ferry", *cmd[1:]] if cmd[0] == "ferry" else list(cmd)
        return subprocess.run(
            argv, cwd=cwd or self.cwd, env=self.env, text=True, capture_output=True, timeout=60
        )


def head_and_tail(keep_head: int, keep_tail: int) -> Callable[[str], str]:
    """A ``show`` filter for long outputs: the first and last lines, with a count of what was left out."""

    def show(text: str) -> str:
        lines = text.splitlines()
        if len(lines) <= keep_head + keep_tail + 1:
            return text
        hidden = len(lines) - keep_head - keep_tail
        tail = lines[len(lines) - keep_tail :]
        return "\n".join([*lines[:keep_head], f"  … ({hidden} more lines)", *tail])

    return show
