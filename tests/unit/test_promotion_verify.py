"""The verify gate's runner: a real shell, the FERRY_* variables, a timeout that kills the process group."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ferry.delivery.promotion import run_verify


def test_passes_on_exit_zero_with_the_environment_and_cwd(tmp_path: Path) -> None:
    script = 'test "$FERRY_ENV" = sit && test "$FERRY_SERVICE" = web && pwd > seen'
    assert run_verify(script, {"FERRY_ENV": "sit", "FERRY_SERVICE": "web"}, 10, tmp_path) == (True, "passed")
    assert (tmp_path / "seen").read_text().strip() == str(tmp_path)


def test_failure_reports_exit_status_and_last_output_line(tmp_path: Path) -> None:
    ok, detail = run_verify("echo checking; echo 'GET /health: 503' >&2; exit 3", {}, 10, tmp_path)
    assert (ok, detail) == (False, "exit status 3: GET /health: 503")


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    ok, detail = run_verify(f"sleep 60 & echo $! > {pidfile}; wait", {}, 0.5, tmp_path)
    assert (ok, detail) == (False, "timed out after 0.5s")
    child = int(pidfile.read_text())
    for _ in range(100):  # the grandchild gets SIGKILL with its group; wait until the kernel reaped it
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        raise AssertionError(f"verify's child {child} survived the timeout")
