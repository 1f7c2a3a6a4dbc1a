"""The few git facts `ferry ci` needs, read with the `git` command (no library, no state changed).

Everything is asked of the real `git` binary in the repository, so what ferry sees is what the user's CI sees:
the HEAD commit, its commit time (the image's `created`, so a rebuild of the same commit is byte-identical),
the remote URL (the image's `source`, with any credentials stripped), whether the work tree is dirty, and
which files differ between two revisions.

Dirtiness ignores `.ferry/`: that is where ferry itself writes its CI records, inside the work tree.

Errors: `GitError` (one line: the git command and what git said).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "Commit",
    "GitError",
    "changed_files",
    "dirty_files",
    "head_commit",
    "read_file_at",
    "resolve",
    "toplevel",
]

STATE_DIR = ".ferry"


class GitError(Exception):
    """A git command failed (not a repository, unknown revision, ...)."""


@dataclass(frozen=True)
class Commit:
    sha: str  # 40 hex
    created: str  # RFC 3339, UTC, from the committer date
    source: str | None  # remote URL without credentials, or None

    @property
    def short(self) -> str:
        return self.sha[:7]


def _git(repo: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (ferry ci reads the commit range with git)") from None
    if proc.returncode != 0:
        said = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise GitError(f"git {' '.join(args)}: {said}")
    return proc.stdout


def toplevel(path: Path) -> Path:
    """The root of the git work tree that contains `path`."""
    if not path.is_dir():
        raise GitError(f"{path}: not a directory")
    try:
        return Path(_git(path, "rev-parse", "--show-toplevel").strip())
    except GitError:
        raise GitError(
            f"{path}: not inside a git repository (ferry ci tags images with the commit SHA)"
        ) from None


def resolve(repo: Path, rev: str) -> str:
    """The full SHA of a commit-ish; GitError if it does not name a commit."""
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except GitError:
        raise GitError(f"{rev!r} is not a commit in {repo}") from None


def head_commit(repo: Path) -> Commit:
    out = _git(repo, "show", "-s", "--format=%H%n%cI", "HEAD").split()
    sha, when = out[0], out[1]
    created = datetime.fromisoformat(when).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        url = _git(repo, "config", "--get", "remote.origin.url").strip() or None
    except GitError:
        url = None
    return Commit(sha=sha, created=created, source=_without_credentials(url) if url else None)


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def dirty_files(repo: Path) -> list[str]:
    """Modified, staged and untracked (not ignored) files, except ferry's own `.ferry/`."""
    out = _git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    files: list[str] = []
    entries = out.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        status, name = entry[:2], entry[3:]
        if status[0] in "RC":
            i += 1  # the rename's source path follows as its own entry
        if name == STATE_DIR or name.startswith(STATE_DIR + "/"):
            continue
        files.append(name)
    return files


def changed_files(repo: Path, since: str, until: str = "HEAD") -> list[str]:
    """Paths (repository-relative, POSIX) that differ between two commits; renames count at both ends."""
    out = _git(repo, "diff", "--name-only", "--no-renames", "-z", since, until, "--")
    return [p for p in out.split("\0") if p]


def read_file_at(repo: Path, rev: str, path: str) -> str | None:
    """A file's text at a revision, or None if it did not exist there."""
    try:
        return _git(repo, "show", f"{rev}:{path}")
    except GitError:
        return None
