"""The process argv from image ENTRYPOINT/CMD and pod command/args, exactly as Kubernetes documents it
("Define a Command and Arguments for a Container": the table of four cases), with ``$(VAR)`` expansion."""

from __future__ import annotations

import pytest

from ferry.cluster.kubelet.runtime import ContainerConfigError, process_args
from ferry.cluster.kubelet.runtime.spec import expand, merge_env

ENTRYPOINT = ["/ep-1", "foo"]
CMD = ["bar"]


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        # the table in the Kubernetes docs: image Entrypoint [/ep-1 foo], Cmd [bar]
        (None, None, ["/ep-1", "foo", "bar"]),
        (["/ep-2"], None, ["/ep-2"]),  # command only: the image's Cmd is ignored too
        (None, ["zoo", "boo"], ["/ep-1", "foo", "zoo", "boo"]),  # args only: Entrypoint + args
        (["/ep-2"], ["zoo", "boo"], ["/ep-2", "zoo", "boo"]),  # both: command + args
        ([], [], ["/ep-1", "foo", "bar"]),  # empty lists are "not set", as in the API
    ],
)
def test_kubernetes_command_and_args_table(
    command: list[str] | None, args: list[str] | None, expected: list[str]
) -> None:
    assert process_args(ENTRYPOINT, CMD, command, args, {}) == expected


def test_args_without_entrypoint_run_as_the_command() -> None:
    assert process_args([], ["sh"], None, ["echo", "hi"], {}) == ["echo", "hi"]


def test_nothing_to_run_is_a_config_error() -> None:
    with pytest.raises(ContainerConfigError, match="no command specified"):
        process_args([], [], None, None, {})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$(NAME)", "web"),
        ("a-$(NAME)-$(PORT)", "a-web-3000"),
        ("$(MISSING)", "$(MISSING)"),
        ("$$(NAME)", "$(NAME)"),
        ("$$$(NAME)", "$web"),
        ("$NAME", "$NAME"),
        ("$(", "$("),
        ("cost: $$5", "cost: $5"),
    ],
)
def test_dollar_paren_expansion(value: str, expected: str) -> None:
    assert expand(value, {"NAME": "web", "PORT": "3000"}) == expected


def test_expansion_uses_the_merged_env_in_command_and_args() -> None:
    env = dict(merge_env(["PORT=80", "MODE=image"], [("PORT", "3000")], hostname="web-1"))
    assert process_args([], [], ["serve", "--port=$(PORT)"], ["$(MODE)", "$(HOSTNAME)"], env) == [
        "serve",
        "--port=3000",
        "image",
        "web-1",
    ]


def test_env_merge_order_overrides_path_default_and_hostname() -> None:
    merged = merge_env(["A=1", "B=image", "EMPTY="], [("B", "pod"), ("C", "3"), ("A", "x=y")], hostname="h")
    assert merged == [
        ("A", "x=y"),
        ("B", "pod"),
        ("EMPTY", ""),
        ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        ("HOSTNAME", "h"),
        ("C", "3"),
    ]
    assert dict(merge_env(["PATH=/app/bin"], [], hostname="h"))["PATH"] == "/app/bin"


def test_exit_status_as_the_kubelets_terminated_state() -> None:
    from ferry.cluster.kubelet.runtime import ExitStatus

    oom = ExitStatus(137, "OOMKilled", started_at=1_795_757_400.9, finished_at=1_795_757_460.2, signal=9)
    assert oom.terminated("runc://ferry-0123456789ab") == {
        "exitCode": 137,
        "reason": "OOMKilled",
        "startedAt": "2026-11-27T05:30:00Z",
        "finishedAt": "2026-11-27T05:31:00Z",
        "containerID": "runc://ferry-0123456789ab",
    }
    never = ExitStatus(
        128, "StartError", started_at=None, finished_at=1_795_757_400.0, message="exec: no such file"
    )
    assert never.terminated("runc://x")["message"] == "exec: no such file"
    assert never.terminated("runc://x")["startedAt"] == "2026-11-27T05:30:00Z"
