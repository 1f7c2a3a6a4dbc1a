"""What each Dockerfile instruction does to the image config, and every error an instruction can raise."""

from __future__ import annotations

import pytest

from ferry.build import BuildError
from ferry.build.config import ImageConfig
from ferry.build.dockerfile import parse_dockerfile
from ferry.build.instructions import CopyStep, Recipe, evaluate, find_base


def run(
    text: str, *, build_args: dict[str, str] | None = None, base: ImageConfig | None = None
) -> tuple[ImageConfig, Recipe]:
    instrs = parse_dockerfile(text)
    args = build_args or {}
    _, _, meta, _ = find_base(instrs, args)
    config = base or ImageConfig()
    recipe = evaluate(instrs, config, build_args=args, meta_args=meta)
    return config, recipe


def error_of(text: str, **kwargs: dict[str, str]) -> str:
    with pytest.raises(BuildError) as exc:
        run(text, **kwargs)  # type: ignore[arg-type]
    return str(exc.value)


def copies(recipe: Recipe) -> list[CopyStep]:
    return [step for _, step in recipe.steps if step is not None]


def test_env_forms_and_substitution_use_the_environment_at_the_instruction_start() -> None:
    config, _ = run('FROM scratch\nENV A=1 B="two words"\nENV C=$A-${B} A=9\nENV LEGACY value with spaces\n')
    assert config.env == ["A=9", "B=two words", "C=1-two words", "LEGACY=value with spaces"]


def test_env_replaces_a_base_variable_in_place() -> None:
    base = ImageConfig(env=["PATH=/usr/bin", "LANG=C"])
    config, _ = run("FROM python\nENV PATH=/app/bin:$PATH\n", base=base)
    assert config.env == ["PATH=/app/bin:/usr/bin", "LANG=C"]


def test_arg_defaults_build_args_and_args_before_from() -> None:
    text = "ARG TAG=3.11\nARG REG\nFROM python:${TAG}\nARG TAG\nARG PORT=8000\nARG UNSET\nENV T=$TAG P=$PORT U=x${UNSET}x\n"
    instrs = parse_dockerfile(text)
    assert find_base(instrs, {})[0] == "python:3.11"
    assert find_base(instrs, {"TAG": "3.12"})[0] == "python:3.12"
    config, recipe = run(text, build_args={"PORT": "9000"})
    assert config.env == ["T=3.11", "P=9000", "U=xx"]
    assert recipe.used_args == {"PORT"}


def test_env_wins_over_arg_of_the_same_name() -> None:
    config, _ = run("FROM scratch\nARG V=arg\nENV V=env\nLABEL v=$V\n")
    assert config.labels == {"v": "env"}


def test_labels_workdir_user_expose_stopsignal_volume() -> None:
    config, _ = run(
        'FROM scratch\nARG P=8080\nLABEL a=1 "b c"=2\nWORKDIR /srv\nWORKDIR app\nWORKDIR ../x\nUSER 1000:1000\n'
        'EXPOSE $P 53/udp 9000-9001\nSTOPSIGNAL SIGTERM\nVOLUME ["/data"]\n'
    )
    assert config.labels == {"a": "1", "b c": "2"}
    assert config.working_dir == "/srv/x"
    assert config.user == "1000:1000"
    assert set(config.exposed_ports) == {"8080/tcp", "53/udp", "9000/tcp", "9001/tcp"}
    assert config.stop_signal == "SIGTERM"
    assert set(config.volumes) == {"/data"}


def test_entrypoint_and_cmd_exec_and_shell_forms_without_substitution() -> None:
    config, _ = run('FROM scratch\nENV X=1\nENTRYPOINT ["python3", "-m", "$X"]\nCMD serve --port $X\n')
    assert config.entrypoint == ["python3", "-m", "$X"]
    assert config.cmd == ["/bin/sh", "-c", "serve --port $X"]


def test_shell_instruction_changes_the_shell_form() -> None:
    config, _ = run('FROM scratch\nSHELL ["/bin/bash", "-lc"]\nCMD echo hi\n')
    assert config.cmd == ["/bin/bash", "-lc", "echo hi"]


def test_entrypoint_resets_an_inherited_cmd_but_not_one_set_earlier_in_this_file() -> None:
    config, _ = run('FROM python\nENTRYPOINT ["app"]\n', base=ImageConfig(cmd=["python3"]))
    assert config.cmd is None
    config, _ = run('FROM python\nCMD ["--help"]\nENTRYPOINT ["app"]\n', base=ImageConfig(cmd=["python3"]))
    assert config.cmd == ["--help"]


def test_healthcheck_and_maintainer_are_ignored_with_a_warning_naming_the_line() -> None:
    config, recipe = run("FROM scratch\nHEALTHCHECK CMD curl -f http://localhost/\nMAINTAINER me\n")
    assert recipe.warnings[0].startswith("Dockerfile:2: HEALTHCHECK is ignored")
    assert recipe.warnings[1].startswith("Dockerfile:3: MAINTAINER is ignored")
    assert "Healthcheck" not in config.extra_config


def test_copy_steps_resolve_destination_against_workdir_and_read_flags() -> None:
    _, recipe = run(
        'FROM scratch\nWORKDIR /app\nCOPY a.py .\nCOPY --chown=1000:2000 --chmod=0750 ["b c", "d", "lib/"]\n'
        "ADD *.txt /docs/\nCOPY --chown=root x /x\nCOPY --chown=7 y /y\n"
    )
    steps = copies(recipe)
    assert [(s.sources, s.dest) for s in steps] == [
        (("a.py",), "/app/"),
        (("b c", "d"), "/app/lib/"),
        (("*.txt",), "/docs/"),
        (("x",), "/x"),
        (("y",), "/y"),
    ]
    assert (steps[1].uid, steps[1].gid, steps[1].chmod) == (1000, 2000, 0o750)
    assert (steps[3].uid, steps[3].gid) == (0, 0)
    assert (steps[4].uid, steps[4].gid) == (7, 7)


def test_copy_keeps_a_trailing_slash_of_a_relative_destination() -> None:
    _, recipe = run("FROM scratch\nWORKDIR /app\nCOPY a.py src/\n")
    assert copies(recipe)[0].dest == "/app/src/"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM scratch\nCOPY a.py /app\nRUN pip install -r requirements.txt\n",
         "Dockerfile:3: RUN is not supported: ferry builds without executing anything; install dependencies with a buildpack"),
        ("COPY a b\n", "Dockerfile:1: the Dockerfile must start with FROM (only ARG may come before it)"),
        ("ARG X\n", "Dockerfile: the Dockerfile has no FROM instruction"),
        ("FROM a AS b\nFROM scratch\n", "Dockerfile:2: multi-stage builds are not supported"),
        ("FROM a b\n", "Dockerfile:1: FROM takes one image"),
        ("FROM scratch\nONBUILD COPY a b\n", "Dockerfile:2: ONBUILD is not supported"),
        ("FROM scratch\nCOPY a\n", "Dockerfile:2: COPY needs at least one source and a destination"),
        ("FROM scratch\nCOPY --from=build /a /b\n", "Dockerfile:2: COPY --from is not supported"),
        ("FROM scratch\nADD https://x.org/a.tgz /a\n", "Dockerfile:2: ADD of a URL (https://x.org/a.tgz) is not supported"),
        ("FROM scratch\nADD vendor.tar.gz /v/\n", "Dockerfile:2: ADD of an archive (vendor.tar.gz) is not supported"),
        ("FROM scratch\nCOPY a b /dest\n", "Dockerfile:2: COPY with more than one source (or a wildcard) needs a directory"),
        ("FROM scratch\nCOPY *.py /dest\n", "Dockerfile:2: COPY with more than one source (or a wildcard) needs a directory"),
        ("FROM scratch\nCOPY --chown=app:app a /a\n", "Dockerfile:2: --chown=app:app: use numeric ids"),
        ("FROM scratch\nCOPY --chmod=rwx a /a\n", "Dockerfile:2: --chmod=rwx must be an octal mode"),
        ("FROM scratch\nEXPOSE http\n", "Dockerfile:2: EXPOSE: invalid port 'http'"),
        ("FROM scratch\nEXPOSE 70000\n", "Dockerfile:2: EXPOSE: invalid port '70000' (ports are 1-65535)"),
        ("FROM scratch\nENV\n", "Dockerfile:2: ENV needs at least one key=value"),
        ("FROM scratch\nENV A=1 B\n", "Dockerfile:2: ENV expects key=value pairs, got 'B'"),
        ("FROM scratch\nENV ONLYKEY\n", "Dockerfile:2: ENV ONLYKEY needs a value"),
        ("FROM scratch\nLABEL a=\"open\n", "Dockerfile:2: unterminated double quote"),
        ("FROM scratch\nWORKDIR ${X:?set X}\n", "Dockerfile:2: X: set X"),
        ("FROM scratch\nUSER \"\"\n", "Dockerfile:2: USER needs a user name or uid"),
        ("FROM scratch\nSHELL /bin/bash\n", "Dockerfile:2: SHELL must be a JSON array"),
        ("FROM scratch\nARG 1X=2\n", "Dockerfile:2: ARG name '1X' must be letters"),
        ("FROM scratch\nARG A B\n", "Dockerfile:2: ARG takes one NAME or NAME=default"),
    ],
)  # fmt: skip
def test_instruction_errors_name_the_line(text: str, message: str) -> None:
    assert error_of(text).startswith(message)


def test_run_error_says_what_to_do_instead() -> None:
    message = error_of("FROM scratch\nRUN make\n")
    assert "buildpack" in message and "COPY" in message
