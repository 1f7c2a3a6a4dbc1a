"""Running test commands and reading pass/fail counts from pytest, unittest and node --test."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from ferry.build.ci.testing import parse_summary, run_tests

from .ci_support import FAILING_TEST, PASSING_TEST, write


def dead(pid: int) -> bool:
    """True once `pid` is gone or a zombie (SIGKILL is asynchronous: give it a moment)."""
    for _ in range(100):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


NODE_FAILING = """\
const test = require('node:test');
const assert = require('node:assert');
test('adds', () => assert.equal(1 + 1, 2));
test('total is right', () => assert.equal(1 + 1, 3));
test('also fine', () => assert.ok(true));
"""

PYTEST_FAILING = """\
def test_ok():
    assert 1

def test_total():
    assert 1 + 1 == 3

def test_broken_fixture(nope):
    pass
"""


async def test_unittest_counts_and_failing_names(tmp_path: Path) -> None:
    write(tmp_path, {"tests/test_a.py": PASSING_TEST, "tests/test_b.py": FAILING_TEST})
    result = await run_tests("python3 -m unittest discover -s tests", tmp_path, timeout_seconds=60)
    assert not result.ok
    assert (result.passed, result.failed) == (3, 1)
    assert result.failures == ("test_b.T.test_total",)
    assert result.summary == "3 passed, 1 failed"
    assert "AssertionError: 2 != 3" in result.output


async def test_unittest_passing(tmp_path: Path) -> None:
    write(tmp_path, {"tests/test_a.py": PASSING_TEST})
    result = await run_tests("python3 -m unittest discover -s tests", tmp_path, timeout_seconds=60)
    assert result.ok and (result.passed, result.failed, result.failures) == (2, 0, ())
    assert not list(tmp_path.rglob("__pycache__")), "tests must not leave bytecode in the build context"


async def test_node_test_counts(tmp_path: Path) -> None:
    write(tmp_path, {"test/math.test.js": NODE_FAILING})
    result = await run_tests("node --test", tmp_path, timeout_seconds=60)
    assert not result.ok
    assert (result.passed, result.failed) == (2, 1)
    assert result.failures == ("total is right",)


async def test_pytest_counts(tmp_path: Path) -> None:
    write(tmp_path, {"test_x.py": PYTEST_FAILING})
    result = await run_tests(
        f"{sys.executable} -m pytest -q -p no:cacheprovider", tmp_path, timeout_seconds=60
    )
    assert not result.ok
    assert (result.passed, result.failed) == (1, 2)
    assert result.failures == ("test_x.py::test_total", "test_x.py::test_broken_fixture")


async def test_unknown_output_falls_back_to_the_exit_status(tmp_path: Path) -> None:
    ok = await run_tests("echo fine", tmp_path, timeout_seconds=60)
    bad = await run_tests("echo oops; exit 3", tmp_path, timeout_seconds=60)
    assert ok.ok and ok.passed is None and ok.summary == "passed"
    assert not bad.ok and bad.exit_code == 3 and bad.summary == "failed (exit status 3)"


async def test_a_hanging_test_is_killed_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    result = await run_tests(f"sleep 300 & echo $! > {pidfile}; wait", tmp_path, timeout_seconds=0.5)
    assert result.timed_out and not result.ok and result.exit_code is None
    assert dead(int(pidfile.read_text()))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("===== 3 passed, 1 skipped in 0.12s =====", (3, 0)),
        ("1 failed, 4 passed, 2 errors in 1.00s", (4, 3)),
        ("Ran 5 tests in 0.010s\n\nOK (skipped=1)", (4, 0)),
        ("Ran 5 tests in 0.010s\n\nFAILED (failures=1, errors=1)", (3, 2)),
        ("\u2139 tests 4\n\u2139 pass 3\n\u2139 fail 1\n\u2139 cancelled 0", (3, 1)),
        ("# tests 2\n# pass 2\n# fail 0", (2, 0)),
        ("all good", (None, None)),
    ],
)
def test_summary_lines(output: str, expected: tuple[int | None, int | None]) -> None:
    assert parse_summary(output)[:2] == expected


async def test_a_server_left_running_by_passing_tests_does_not_hang_the_run(tmp_path: Path) -> None:
    pidfile = tmp_path / "server.pid"
    result = await run_tests(f"sleep 300 & echo $! > {pidfile}; echo done", tmp_path, timeout_seconds=60)
    assert result.ok and not result.timed_out
    assert result.output == "done\n"
    assert dead(int(pidfile.read_text()))
