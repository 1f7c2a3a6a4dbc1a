"""End-to-end: runc runs a busybox container built by ferry.build; its output lands in the CRI log, its exit
code and reason come back from ``wait``, and ``state`` follows created → running → stopped."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ferry.cluster.kubelet.runtime import RuncRuntime, parse_line, read_logs
from tests.e2e import test_runtime_runc_support as support
from tests.e2e.test_runtime_runc_support import SpecFor, run

pytestmark = pytest.mark.e2e

# the fixtures this module uses, from the support module
busybox_image = support.busybox_image
runc_runtime = support.runc_runtime
spec_for = support.spec_for


async def _run_to_end(runtime: RuncRuntime, spec_for: SpecFor, **kw: object):  # type: ignore[no-untyped-def]
    spec = spec_for(**kw)
    cid = await runtime.create(spec)
    assert (await runtime.state(cid)).status == "created"
    await runtime.start(cid)
    status = await runtime.wait(cid)
    state = await runtime.state(cid)
    await runtime.delete(cid)
    return spec, status, state


def test_image_default_command_prints_and_exits_zero(runc_runtime: RuncRuntime, spec_for: SpecFor) -> None:
    spec, status, state = run(_run_to_end(runc_runtime, spec_for))
    assert (status.exit_code, status.reason, status.signal) == (0, "Completed", None)
    assert state.status == "stopped" and state.exit == status
    assert status.started_at is not None and status.started_at <= status.finished_at <= time.time()
    records = [parse_line(line) for line in spec.log_path.read_bytes().splitlines()]
    assert [(r.stream, r.partial, r.content) for r in records] == [("stdout", False, b"hello from ferry")]
    assert abs(records[0].time_ns / 1e9 - status.finished_at) < 5


def test_exit_code_three_is_an_error_and_stderr_is_its_own_stream(
    runc_runtime: RuncRuntime, spec_for: SpecFor
) -> None:
    spec, status, _ = run(
        _run_to_end(
            runc_runtime, spec_for, args=["echo out; echo err >&2; printf tail-without-newline; exit 3"]
        )
    )
    assert (status.exit_code, status.reason) == (3, "Error")
    records = [parse_line(line) for line in spec.log_path.read_bytes().splitlines()]
    got = sorted((r.stream, r.partial, r.content) for r in records)
    assert got == [
        ("stderr", False, b"err"),
        ("stdout", False, b"out"),
        ("stdout", False, b"tail-without-newline"),
    ]


def test_logs_read_back_with_tail_and_timestamps(runc_runtime: RuncRuntime, spec_for: SpecFor) -> None:
    spec, status, _ = run(
        _run_to_end(runc_runtime, spec_for, args=["for i in 1 2 3 4 5; do echo line $i; done"])
    )
    assert status.exit_code == 0

    async def read(**kw: object) -> bytes:
        return b"".join([chunk async for chunk in read_logs(spec.log_path, **kw)])  # type: ignore[arg-type]

    assert run(read()) == b"line 1\nline 2\nline 3\nline 4\nline 5\n"
    assert run(read(tail=2)) == b"line 4\nline 5\n"
    stamped = run(read(tail=1, timestamps=True)).decode()
    assert stamped.endswith("Z line 5\n") and stamped[:2] == "20" and len(stamped.split(" ")[0]) == 30


def test_kubernetes_command_replaces_entrypoint_and_cmd(
    runc_runtime: RuncRuntime, spec_for: SpecFor, tmp_path: Path
) -> None:
    spec, status, _ = run(
        _run_to_end(
            runc_runtime,
            spec_for,
            command=[
                "/bin/busybox",
                "sh",
                "-c",
                'printf "%s\\n" "$0" "$@"; echo "$NAME"; pwd; id -u; id -g; hostname',
            ],
            args=["$(NAME)", "$(MISSING)", "$$(NAME)"],
            env=[("NAME", "web")],
            working_dir="/tmp",
            uid=1234,
            gid=1234,
        )
    )
    assert status.exit_code == 0, spec.log_path.read_text()
    lines = [parse_line(line).content.decode() for line in spec.log_path.read_bytes().splitlines()]
    assert lines == ["web", "$(MISSING)", "$(NAME)", "web", "/tmp", "1234", "1234", "web-1"]
