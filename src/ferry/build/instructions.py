"""What each Dockerfile instruction does to the image being built (the meaning; `dockerfile` is the grammar).

Only a single stage without RUN is supported: ferry never executes anything while building. `evaluate` walks the
instructions after `FROM` in order and changes the `ImageConfig` the way `docker build` would (ENV replaces a
variable in place, ENTRYPOINT resets an inherited CMD unless this Dockerfile set CMD earlier, relative WORKDIR is
joined to the current one, ...). COPY and ADD become `CopyStep`s, carried out later by `ferry.build.context`
against the build context: each one becomes a layer.

Substitution follows Docker: ARGs (build args override defaults; ARGs declared before FROM are visible in FROM and,
when re-declared without a value, after it) and ENVs are visible to ADD, COPY, ENV, EXPOSE, LABEL, STOPSIGNAL,
USER, VOLUME and WORKDIR; ENTRYPOINT and CMD are never substituted (the shell does it at run time).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ferry.build.config import ImageConfig
from ferry.build.dockerfile import Instruction, json_form, split_flags
from ferry.build.errors import BuildError
from ferry.build.shellwords import WordError, process_word, process_words, split_words

__all__ = ["CopyStep", "Recipe", "evaluate", "find_base"]

RUN_MESSAGE = (
    "RUN is not supported: ferry builds without executing anything; install dependencies with a buildpack "
    "(remove the Dockerfile and keep requirements.txt / pyproject.toml / package.json) or COPY artifacts built "
    "beforehand"
)
_ARCHIVE_RE = re.compile(r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst)$", re.IGNORECASE)
_PORT_RE = re.compile(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?", re.IGNORECASE)


@dataclass(frozen=True)
class CopyStep:
    """A COPY or ADD: context-relative sources (possibly with wildcards) to an absolute image path."""

    instr: Instruction
    sources: tuple[str, ...]
    dest: str
    uid: int = 0
    gid: int = 0
    chmod: int | None = None

    @property
    def dest_is_dir(self) -> bool:
        return self.dest.endswith("/")


@dataclass
class Recipe:
    """The outcome of evaluating a Dockerfile: history steps in order (a CopyStep where a layer is made)."""

    steps: list[tuple[Instruction, CopyStep | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    used_args: set[str] = field(default_factory=set)


def _word(instr: Instruction, text: str, env: Mapping[str, str]) -> str:
    try:
        return process_word(text, env)
    except WordError as exc:
        raise instr.error(str(exc)) from None


def _words(instr: Instruction, text: str, env: Mapping[str, str]) -> list[str]:
    try:
        return process_words(text, env)
    except WordError as exc:
        raise instr.error(str(exc)) from None


def _arg_decl(instr: Instruction, env: Mapping[str, str]) -> tuple[str, str | None]:
    words = split_words(instr.args)
    if len(words) != 1:
        raise instr.error("ARG takes one NAME or NAME=default")
    name, eq, default = words[0].partition("=")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise instr.error(f"ARG name {name!r} must be letters, digits and underscores")
    return name, (_word(instr, default, env) if eq else None)


def find_base(
    instructions: list[Instruction], build_args: Mapping[str, str]
) -> tuple[str, Instruction, dict[str, str], set[str]]:
    """The FROM image (after substitution), its instruction, the ARGs declared before it, and the used args."""
    meta: dict[str, str] = {}
    used: set[str] = set()
    for n, instr in enumerate(instructions):
        if instr.keyword == "ARG":
            name, default = _arg_decl(instr, meta)
            if name in build_args:
                meta[name] = build_args[name]
                used.add(name)
            elif default is not None:
                meta[name] = default
            continue
        if instr.keyword != "FROM":
            raise instr.error("the Dockerfile must start with FROM (only ARG may come before it)")
        for later in instructions[n + 1 :]:
            if later.keyword == "FROM":
                raise later.error(
                    "multi-stage builds are not supported: build artifacts beforehand and COPY them into one stage"
                )
        _flags, rest = split_flags(instr, frozenset({"platform"}))
        words = _words(instr, rest, meta)
        if len(words) == 3 and words[1].lower() == "as":
            words = words[:1]
        if len(words) != 1 or not words[0]:
            raise instr.error("FROM takes one image: FROM <image> [AS <name>]")
        return words[0], instr, meta, used
    raise BuildError("the Dockerfile has no FROM instruction", file=instructions[0].file)


def evaluate(
    instructions: list[Instruction],
    config: ImageConfig,
    *,
    build_args: Mapping[str, str],
    meta_args: Mapping[str, str],
) -> Recipe:
    """Apply every instruction after FROM to `config`; returns the steps that make layers and the warnings."""
    recipe = Recipe()
    args: dict[str, str] = {}
    cmd_set = False
    shell = ["/bin/sh", "-c"]
    start = next(n for n, i in enumerate(instructions) if i.keyword == "FROM") + 1
    for instr in instructions[start:]:
        env = {**args, **config.env_dict()}
        kw = instr.keyword
        step: CopyStep | None = None
        if kw == "RUN":
            raise instr.error(RUN_MESSAGE)
        if kw == "ONBUILD":
            raise instr.error(
                "ONBUILD is not supported: ferry images are not meant as bases for docker build"
            )
        if kw == "ARG":
            name, default = _arg_decl(instr, env)
            if name in build_args:
                args[name] = build_args[name]
                recipe.used_args.add(name)
            elif default is not None:
                args[name] = default
            elif name in meta_args:
                args[name] = meta_args[name]
        elif kw in ("ENV", "LABEL"):
            for key, value in _pairs(instr, env):
                if kw == "ENV":
                    config.set_env(key, value)
                else:
                    config.labels[key] = value
        elif kw in ("COPY", "ADD"):
            step = _copy_step(instr, env, config.working_dir)
        elif kw == "WORKDIR":
            path = _word(instr, instr.args, env)
            if not path:
                raise instr.error("WORKDIR needs a path")
            config.working_dir = posixpath.normpath(posixpath.join(config.working_dir or "/", path))
        elif kw == "EXPOSE":
            for port in _words(instr, instr.args, env):
                config.exposed_ports.update({p: {} for p in _ports(instr, port)})
        elif kw == "USER":
            user = _word(instr, instr.args, env)
            if not user:
                raise instr.error("USER needs a user name or uid")
            config.user = user
        elif kw in ("ENTRYPOINT", "CMD"):
            exec_form = json_form(instr.args)
            command = exec_form if exec_form is not None else [*shell, instr.args]
            if kw == "CMD":
                config.cmd, cmd_set = command, True
            else:
                config.entrypoint = command
                if not cmd_set:
                    config.cmd = None
        elif kw == "SHELL":
            form = json_form(instr.args)
            if not form:
                raise instr.error('SHELL must be a JSON array, e.g. SHELL ["/bin/bash", "-c"]')
            shell = form
        elif kw == "STOPSIGNAL":
            config.stop_signal = _word(instr, instr.args, env)
        elif kw == "VOLUME":
            form = json_form(instr.args)
            for vol in form if form is not None else _words(instr, instr.args, env):
                config.volumes[vol] = {}
        elif kw in ("HEALTHCHECK", "MAINTAINER"):
            why = (
                "ferry's runtime does not run image health checks; use readiness/liveness probes"
                if kw == "HEALTHCHECK"
                else "MAINTAINER is deprecated; use LABEL maintainer=..."
            )
            recipe.warnings.append(f"{instr.file}:{instr.line}: {kw} is ignored: {why}")
        recipe.steps.append((instr, step))
    return recipe


def _pairs(instr: Instruction, env: Mapping[str, str]) -> list[tuple[str, str]]:
    words = split_words(instr.args)
    if not words:
        raise instr.error(f"{instr.keyword} needs at least one key=value")
    if "=" not in words[0]:  # legacy form: ENV KEY value with spaces
        if len(words) < 2:
            raise instr.error(f"{instr.keyword} {words[0]} needs a value (KEY=value)")
        rest = instr.args[len(words[0]) :].strip()
        return [(_word(instr, words[0], env), _word(instr, rest, env))]
    out = []
    for word in words:
        key, eq, value = _word(instr, word, env).partition("=")
        if not eq or not key:
            raise instr.error(f"{instr.keyword} expects key=value pairs, got {word!r}")
        out.append((key, value))
    return out


def _ports(instr: Instruction, text: str) -> list[str]:
    m = _PORT_RE.fullmatch(text)
    if not m:
        raise instr.error(f"EXPOSE: invalid port {text!r} (expected PORT[/tcp|udp|sctp] or FROM-TO[/proto])")
    low = int(m.group(1))
    high = int(m.group(2) or low)
    proto = (m.group(3) or "tcp").lower()
    if not 1 <= low <= high <= 65535:
        raise instr.error(f"EXPOSE: invalid port {text!r} (ports are 1-65535)")
    return [f"{p}/{proto}" for p in range(low, high + 1)]


def _copy_step(instr: Instruction, env: Mapping[str, str], workdir: str) -> CopyStep:
    flags, rest = split_flags(instr, frozenset({"chown", "chmod", "from", "link"}))
    if "from" in flags:
        raise instr.error(
            f"{instr.keyword} --from is not supported: ferry builds a single stage from the context"
        )
    form = json_form(rest)
    words = [_word(instr, w, env) for w in form] if form is not None else _words(instr, rest, env)
    if len(words) < 2:
        raise instr.error(f"{instr.keyword} needs at least one source and a destination")
    *sources, dest = words
    if instr.keyword == "ADD":
        for src in sources:
            if "://" in src or src.startswith("git@"):
                raise instr.error(
                    f"ADD of a URL ({src}) is not supported: download it beforehand and COPY it"
                )
            if _ARCHIVE_RE.search(src):
                raise instr.error(
                    f"ADD of an archive ({src}) is not supported (docker would unpack it): "
                    "unpack it into the context and COPY the directory"
                )
    as_dir = dest.endswith("/") or posixpath.basename(dest) in (
        ".",
        "..",
    )  # "COPY a.py ." copies into WORKDIR
    dest = posixpath.normpath(posixpath.join(workdir or "/", dest))
    if as_dir and not dest.endswith("/"):
        dest += "/"
    if (len(sources) > 1 or any(c in s for s in sources for c in "*?[")) and not dest.endswith("/"):
        raise instr.error(
            f"{instr.keyword} with more than one source (or a wildcard) needs a directory destination ending in /"
        )
    uid, gid = _chown(instr, _word(instr, flags["chown"], env)) if "chown" in flags else (0, 0)
    chmod = None
    if "chmod" in flags:
        try:
            chmod = int(flags["chmod"], 8)
        except ValueError:
            raise instr.error(f"--chmod={flags['chmod']} must be an octal mode such as 0755") from None
        if not 0 <= chmod <= 0o7777:
            raise instr.error(f"--chmod={flags['chmod']} must be an octal mode such as 0755")
    return CopyStep(instr, tuple(sources), dest, uid, gid, chmod)


def _chown(instr: Instruction, text: str) -> tuple[int, int]:
    user, _, group = text.partition(":")
    ids = []
    for part in (user, group or user):
        if part == "root":
            ids.append(0)
        elif part.isdigit():
            ids.append(int(part))
        else:
            raise instr.error(
                f"--chown={text}: use numeric ids (e.g. --chown=1000:1000); "
                "ferry does not read user names from the base image's /etc/passwd"
            )
    return ids[0], ids[1]
