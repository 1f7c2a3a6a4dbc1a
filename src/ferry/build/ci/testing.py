"""Running a service's test command and reading what it says.

The command from `ferry.yaml` runs through `/bin/sh -c` in the service's directory, in a new session (process
group), with stdout and stderr merged and captured. On timeout the whole group is killed, so a test that
started a server does not outlive it. The exit status decides pass or fail; the counts are read from the
summary lines of the runners people actually use, when present:

    pytest        `3 passed, 1 failed in 0.12s` (and `FAILED tests/test_x.py::test_y - ...` lines)
    unittest      `Ran 4 tests in 0.001s` + `FAILED (failures=1, errors=1, skipped=1)` (and `FAIL: test_y (...)`)
    node --test   TAP `# pass 3` / `# fail 1` or spec `\u2139 pass 3` (and `not ok 2 - name`)

`PYTHONDONTWRITEBYTECODE=1` is set for the tests: `__pycache__` files written into the service directory
would end up in the image's build context, and their embedded source mtimes would make the build differ
from one checkout to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TestResult", "parse_summary", "run_tests"]

OUTPUT_TAIL_LINES = 40
POLL_SECONDS = 0.05
READ_GRACE_SECONDS = 5.0  # after the group is killed, how long the rest of the output may take

_PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")
_PYTEST_LINE = re.compile(r"^=*\s*(?:\d+ \w+(?:, )?)+.* in [\d.]+s")
_PYTEST_FAILED = re.compile(r"^(?:FAILED|ERROR) ([^\s(]\S*)")
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ")
_UNITTEST_STATUS = re.compile(r"^(OK|FAILED)(?: \((.*)\))?\s*$")
_UNITTEST_FAILED = re.compile(r"^(?:FAIL|ERROR): (\S+)(?: \((\S+)\))?")
_NODE_COUNT = re.compile("^(?:#|\u2139) (tests|pass|fail|cancelled|skipped|todo) (\\d+)\\s*$")
_NODE_FAILED = re.compile(r"^\s*not ok \d+ - (.+?)(?: # .*)?$")


@dataclass(frozen=True)
class TestResult:
    command: str
    exit_code: int | None  # None: killed on timeout
    passed: int | None  # None: no summary the parser knows
    failed: int | None
    duration_seconds: float
    output: str
    failures: tuple[str, ...] = ()
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def summary(self) -> str:
        """One line: `3 passed, 1 failed` / `timed out after 600s` / `exit status 2`."""
        if self.timed_out:
            return f"timed out after {self.duration_seconds:.0f}s"
        counts = []
        if self.passed is not None:
            counts.append(f"{self.passed} passed")
        if self.failed:
            counts.append(f"{self.failed} failed")
        text = ", ".join(counts) or ("passed" if self.ok else "failed")
        if not self.ok and self.failed is None:
            text += f" (exit status {self.exit_code})"
        return text

    def tail(self, lines: int = OUTPUT_TAIL_LINES) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def parse_summary(output: str) -> tuple[int | None, int | None, tuple[str, ...]]:
    """(passed, failed, failing test names) from a test runner's output; None counts when not recognised."""
    lines = output.splitlines()
    failures: list[str] = []
    for line in lines:
        for pattern in (_PYTEST_FAILED, _UNITTEST_FAILED, _NODE_FAILED):
            m = pattern.match(line)
            if m:
                failures.append((m.group(m.lastindex or 1)).strip())
                break
    names = tuple(dict.fromkeys(failures))
    for parse in (_parse_node, _parse_unittest, _parse_pytest):
        counts = parse(lines)
        if counts is not None:
            return counts[0], counts[1], names
    return None, None, names


def _parse_pytest(lines: list[str]) -> tuple[int, int] | None:
    for line in reversed(lines):
        if _PYTEST_LINE.match(line.strip()):
            counts = {kind: int(n) for n, kind in _PYTEST_COUNT.findall(line)}
            failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
            return counts.get("passed", 0) + counts.get("xfailed", 0), failed
    return None


def _parse_unittest(lines: list[str]) -> tuple[int, int] | None:
    ran: int | None = None
    for line in lines:
        m = _UNITTEST_RAN.match(line.strip())
        if m:
            ran = int(m.group(1))
            continue
        s = _UNITTEST_STATUS.match(line.strip())
        if s and ran is not None:
            details = dict(
                (k.strip(), int(v))
                for k, _, v in (part.partition("=") for part in (s.group(2) or "").split(","))
                if v
            )
            failed = (
                details.get("failures", 0) + details.get("errors", 0) + details.get("unexpected successes", 0)
            )
            skipped = details.get("skipped", 0)
            return ran - failed - skipped, failed
    return None


def _parse_node(lines: list[str]) -> tuple[int, int] | None:
    counts: dict[str, int] = {}
    for line in lines:
        m = _NODE_COUNT.match(line.strip())
        if m:
            counts[m.group(1)] = int(m.group(2))
    if "pass" not in counts or "fail" not in counts:
        return None
    return counts["pass"], counts["fail"] + counts.get("cancelled", 0)


async def run_tests(command: str, cwd: Path, *, timeout_seconds: float) -> TestResult:
    """Run `command` in `cwd`; never raises for a failing or hanging command."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", CI=os.environ.get("CI", "true"))
    env.pop("NODE_TEST_CONTEXT", None)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        command,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    stdout = proc.stdout
    assert stdout is not None
    chunks: list[bytes] = []

    async def pump() -> None:
        while chunk := await stdout.read(1 << 16):
            chunks.append(chunk)

    reader = asyncio.ensure_future(pump())
    timed_out = False
    try:
        # Poll instead of `proc.wait()`: on Python 3.11 that also waits for the pipe to close, which a
        # background process left by the tests would keep open until the timeout.
        deadline = started + timeout_seconds
        while proc.returncode is None:
            if time.monotonic() >= deadline:
                timed_out = True
                break
            await asyncio.sleep(POLL_SECONDS)
    finally:
        # The command is over, out of time or cancelled: end whatever is left in its group, which also
        # closes the pipe that a leftover background process would otherwise hold open forever.
        _kill_group(proc.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, timeout=READ_GRACE_SECONDS)
        if proc.returncode is None:
            await proc.wait()
    raw = b"".join(chunks)
    duration = time.monotonic() - started
    output = raw.decode("utf-8", errors="replace")
    passed, failed, failures = parse_summary(output)
    return TestResult(
        command=command,
        exit_code=None if timed_out else proc.returncode,
        passed=passed,
        failed=failed,
        duration_seconds=duration,
        output=output,
        failures=failures,
        timed_out=timed_out,
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
