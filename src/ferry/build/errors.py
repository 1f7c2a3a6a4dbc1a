"""The builder's one error type.

Every problem a user can cause (a broken Dockerfile line, a missing COPY source, an unknown base image, a pip or
npm failure, an entrypoint that cannot be inferred) ends as a `BuildError` whose `str()` is one readable line,
prefixed with `file:line:` when a line of a file is to blame. The CLI prints that line after `error: `.

    Exception
     └── BuildError          one line: "[file[:line]: ]problem[: what to do]"
"""

from __future__ import annotations

__all__ = ["BuildError"]


class BuildError(Exception):
    """A build that cannot go on; the message is one line naming the problem (and the file:line when known)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        super().__init__(f"{where}{message}")
        self.file = file
        self.line = line
