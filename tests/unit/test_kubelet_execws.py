"""The kubelet's exec endpoint without I/O (query, container, status wording) and interactive exec on the host."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from ferry.cluster.kubelet.runtime import interactive
from ferry.cluster.kubelet.server.execws import (
    ExecOptions,
    ExecRequestError,
    exit_status,
    internal_error,
    parse_exec_options,
    running_container_id,
)
from tests.unit.kubelet_server_support import running, terminated, waiting


def _q(*pairs: tuple[str, str]) -> MultiDict[str]:
    return MultiDict(pairs)


def test_query_repeats_command_and_reads_flags() -> None:
    opts = parse_exec_options(
        _q(("command", "sh"), ("command", "-c"), ("command", "echo a b"), ("stdin", "true"), ("stdout", "1"))
    )
    assert opts == ExecOptions(["sh", "-c", "echo a b"], stdin=True, stdout=True, stderr=False, tty=False)


def test_tty_folds_stderr_into_the_terminal() -> None:
    opts = parse_exec_options(_q(("command", "sh"), ("stderr", "true"), ("tty", "true")))
    assert (opts.tty, opts.stderr) == (True, False)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ((("command", "sh"),), "you must specify at least 1 of stdin, stdout, stderr"),
        ((("stdout", "true"),), "you must specify at least one command for the container"),
        ((("command", "sh"), ("stdout", "yes")), 'strconv.ParseBool: parsing "yes": invalid syntax'),
    ],
)
def test_bad_queries_are_400_in_the_kubelets_words(pairs: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(ExecRequestError) as caught:
        parse_exec_options(_q(*pairs))
    assert (caught.value.status, caught.value.message) == (400, message)


def test_only_a_running_container_can_be_exec_ed() -> None:
    pod = {
        "status": {
            "containerStatuses": [running("app", 2), waiting("init", "PodInitializing"), terminated("t")]
        }
    }
    assert running_container_id(pod, "app") == "app-2"
    for name in ("init", "t", "ghost"):
        with pytest.raises(ExecRequestError) as caught:
            running_container_id(pod, name)
        assert (caught.value.status, caught.value.message) == (500, f'container not found ("{name}")')


def test_status_for_channel_3() -> None:
    assert exit_status(0, ["true"]) == {"metadata": {}, "status": "Success"}
    failed = exit_status(130, ["sh", "-c", "kill -INT $$"])
    assert failed["reason"] == "NonZeroExitCode"
    assert failed["details"] == {"causes": [{"reason": "ExitCode", "message": "130"}]}
    assert failed["message"].endswith("error executing command [sh -c kill -INT $$], exit code 130")
    err = internal_error("container x is not running")
    assert (err["reason"], err["code"]) == ("InternalError", 500)
    assert (
        err["message"]
        == "Internal error occurred: error executing command in container: container x is not running"
    )


async def test_pipes_keep_stdout_and_stderr_apart_and_stdin_ends_on_close() -> None:
    run = await interactive.spawn(["sh", "-c", "cat; echo err >&2; exit 4"], tty=False, stdin=True)
    try:
        await run.write(b"in\n")
        run.close_stdin()
        assert run.stderr is not None
        assert await _all(run, run.stdout) == b"in\n"
        assert await _all(run, run.stderr) == b"err\n"
        assert await run.wait() == 4
    finally:
        run.close()


async def test_a_pty_starts_with_the_given_size_and_follows_resizes() -> None:
    run = await interactive.spawn(
        ["sh", "-c", "stty size; read x; stty size"], tty=True, stdin=True, winsize=(100, 20)
    )
    try:
        first = b""
        while b"20 100" not in first:
            first += await run.read(run.stdout)
        run.resize(132, 41)
        await run.write(b"go\n")
        rest = await _all(run, run.stdout)
        assert b"41 132" in rest, rest
        assert await run.wait() == 0
        assert run.stderr is None
    finally:
        run.close()


async def _all(run: interactive.InteractiveExec, fd: int) -> bytes:
    out = b""
    while chunk := await run.read(fd):
        out += chunk
    return out
