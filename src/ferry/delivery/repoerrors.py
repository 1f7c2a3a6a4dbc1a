"""The config repo's exceptions, one tree:

    ConfigRepoError                 a git command failed, the repo is missing, a push kept being rejected
    ├── PinError                    a pin file (or a Pin being written) is malformed; names file, line, field
    └── PinConflict                 someone else changed the same pin file since we read it: re-read, decide again

Each message is one line naming its cause (the file, the git command and what git said).
"""

from __future__ import annotations

__all__ = ["ConfigRepoError", "PinConflict", "PinError"]


class ConfigRepoError(Exception):
    """The config repo cannot be read or written."""


class PinError(ConfigRepoError):
    """A pin is malformed. `field` names the offending key when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PinConflict(ConfigRepoError):
    """A concurrent change to the same pin file won the push race; `path` is that file."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path
