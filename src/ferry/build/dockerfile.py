"""Reading a Dockerfile: lines into instructions, with line continuations, comments and the line numbers kept.

This module only *parses*; `ferry.build.instructions` gives each instruction its meaning. The grammar is Docker's:
one instruction a line, the keyword case-insensitive, a trailing `\\` continues the line (comment lines and blank
lines inside a continued instruction are skipped, as Docker does), `#` starts a comment only at the beginning of
a line. Parser directives (`# syntax=...`, `# escape=...`) are read as comments: ferry always uses `\\` as the
escape character.

Every instruction keeps the number of the line it starts on, so that errors read `Dockerfile:7: ...`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ferry.build.errors import BuildError

__all__ = ["KNOWN_INSTRUCTIONS", "Instruction", "json_form", "parse_dockerfile", "split_flags"]

KNOWN_INSTRUCTIONS = frozenset(
    {
        "FROM", "COPY", "ADD", "ENV", "ARG", "WORKDIR", "EXPOSE", "USER", "LABEL", "ENTRYPOINT", "CMD",
        "HEALTHCHECK", "STOPSIGNAL", "VOLUME", "SHELL", "MAINTAINER", "RUN", "ONBUILD",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case), its argument text, and the line it starts on."""

    keyword: str
    args: str
    line: int
    file: str = "Dockerfile"

    @property
    def text(self) -> str:
        """How the instruction reads, for history entries and messages."""
        return f"{self.keyword} {self.args}".strip()

    def error(self, message: str) -> BuildError:
        return BuildError(message, file=self.file, line=self.line)


def parse_dockerfile(text: str, *, file: str = "Dockerfile") -> list[Instruction]:
    """Split a Dockerfile into instructions. Unknown keywords are a BuildError naming the line."""
    out: list[Instruction] = []
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        raw = lines[n]
        n += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        start = n
        parts = [raw]
        while parts[-1].rstrip().endswith("\\"):
            parts[-1] = parts[-1].rstrip()[:-1]
            while n < len(lines) and (not lines[n].strip() or lines[n].strip().startswith("#")):
                n += 1  # comments and blank lines inside a continuation are dropped
            if n >= len(lines):
                break
            parts.append(lines[n])
            n += 1
        joined = "".join(parts).strip()
        keyword, _, args = joined.partition(" ")
        if "\t" in keyword:
            keyword, _, rest = keyword.partition("\t")
            args = f"{rest} {args}"
        upper = keyword.upper()
        if upper not in KNOWN_INSTRUCTIONS:
            raise BuildError(f"unknown instruction {keyword!r}", file=file, line=start)
        out.append(Instruction(upper, args.strip(), start, file))
    if not out:
        raise BuildError("the Dockerfile has no instructions (it must start with FROM)", file=file)
    return out


def json_form(args: str) -> list[str] | None:
    """The exec (JSON array) form of an argument, or None when it is not a JSON array of strings."""
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def split_flags(instr: Instruction, allowed: frozenset[str]) -> tuple[dict[str, str], str]:
    """Leading `--name=value` flags of an instruction and the rest of its arguments."""
    flags: dict[str, str] = {}
    rest = instr.args
    while rest.startswith("--"):
        word, _, after = rest.partition(" ")
        name, eq, value = word[2:].partition("=")
        if name not in allowed:
            known = ", ".join(f"--{a}" for a in sorted(allowed)) or "none"
            raise instr.error(f"{instr.keyword} does not support the flag --{name} (supported: {known})")
        flags[name] = value if eq else "true"
        rest = after.lstrip()
    return flags, rest
