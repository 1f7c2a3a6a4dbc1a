"""`.dockerignore`-style exclusion of build-context paths.

The rules are Docker's (moby `patternmatcher`): one pattern a line, `#` comments, paths relative to the context
root (a leading `/` or `./` is dropped), `*` and `?` within one path component, `**` across any number of them,
`[...]` classes, `!` re-includes. The last pattern that matches decides, and a pattern that matches a directory
excludes everything under it.

ferry adds a few default patterns *before* the user's, so a `!` line can take any of them back: `.git`, `.ferry`,
and Python bytecode (`__pycache__`, `*.pyc`), which is machine- and time-dependent and would break reproducibility.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_EXCLUDES", "Ignore"]

DEFAULT_EXCLUDES = (".git", ".ferry", "**/__pycache__", "**/*.pyc")


def _translate(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # "**/" matches zero or more whole components
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("^"):
                    body = "!" + body[1:]
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def _clean(pattern: str) -> str:
    parts: list[str] = []
    for part in pattern.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    exclude: bool


class Ignore:
    """A compiled list of patterns; `excluded(rel)` says whether a context-relative path is left out."""

    def __init__(self, patterns: list[str] | tuple[str, ...]) -> None:
        rules: list[_Rule] = []
        for raw in patterns:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exclude = not line.startswith("!")
            body = _clean(line if exclude else line[1:].strip())
            if body:
                rules.append(_Rule(_translate(body), exclude))
        self._rules = tuple(rules)
        self.has_exceptions = any(not r.exclude for r in rules)

    @classmethod
    def for_context(cls, context: Path, *, extra: tuple[str, ...] = ()) -> Ignore:
        """The defaults, then `extra`, then the context's `.dockerignore`, if any (so its `!` lines win)."""
        patterns = [*DEFAULT_EXCLUDES, *extra]
        ignore_file = context / ".dockerignore"
        if ignore_file.is_file():
            patterns += ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
        return cls(patterns)

    def excluded(self, rel: str) -> bool:
        """True if `rel` (posix, relative to the context) or one of its parent directories is excluded."""
        parts = rel.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        verdict = False
        for rule in self._rules:
            if any(rule.regex.fullmatch(p) for p in prefixes):
                verdict = rule.exclude
        return verdict
