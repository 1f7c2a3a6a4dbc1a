"""The config repo: per environment and service, the values and the image pin the cluster should run.

    README.md
    envs/
      sit/
        values.yaml                    # optional: values every service in sit gets
        order-service/
          values.yaml                  # this service's values in sit (replicas, resources, env vars)
          pin.yaml                     # the image: repository, tag, digest, build record (see ferry.delivery.pins)
      qa/ ...
      prod/ ...

An environment's directory is `envs/<env>` unless `ferry.yaml` says `valuesDir:` (`ConfigRepo.for_platform`).
Values layer in that order after the chart's defaults; the pin layer comes last.

**Two ways to open one.** A git URL, or a path to a bare repository, is cloned into a cache owned by ferry,
`$FERRY_HOME/repos/<hash of the URL>` (default ~/.ferry/repos), and every open fetches and resets that clone
to the remote branch: writes are commits pushed to origin. A path to a work tree (what `ferry init` creates) is
used in place: writes are commits on its current branch, nothing is pushed (the user's own remote, their push).

**What is read is what is committed.** `read_pin` and `values_files` read a revision (default HEAD), never the
work tree, so an uncommitted edit in a local config repo cannot reach a cluster, and the reconciler can name
the git SHA it synced.

**Writes are optimistic.** `write_pin` commits on top of the snapshot the caller read; if someone else pushed
meanwhile, the push is rebased and retried (`ferry.delivery.gitrepo`), and a concurrent change to the *same*
pin file raises `PinConflict` instead of overwriting it. Within one machine, an exclusive `flock` on
`<git dir>/ferry.lock` serialises ferry's own writers on one clone; git's `index.lock` covers the rest.
A write that changes no byte makes no commit. `changes(old, new)` names the (environment, service) apps a
range of commits touched, so a reconciler re-renders only those.

Errors: `ConfigRepoError` ├ `PinError` ├ `PinConflict` (ferry.delivery.repoerrors), one line each.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ferry.delivery.gitrepo import Git, push_with_rebase, said
from ferry.delivery.pins import Pin, parse_pin, render_pin
from ferry.delivery.platform import ConfigRepoSource, Platform
from ferry.delivery.repoerrors import ConfigRepoError

__all__ = ["ConfigRepo", "HistoryEntry", "ValuesFile", "default_cache_root"]

PIN_FILE = "pin.yaml"
VALUES_FILE = "values.yaml"


def default_cache_root() -> Path:
    return Path(os.environ.get("FERRY_HOME", "~/.ferry")).expanduser() / "repos"


@dataclass(frozen=True)
class ValuesFile:
    path: str  # POSIX, relative to the config repo
    values: dict[str, Any]


@dataclass(frozen=True)
class HistoryEntry:
    sha: str
    author: str
    email: str
    time: str  # RFC 3339, author date
    subject: str
    files: tuple[str, ...]  # what the commit changed under envs/<env>/<service>/


class ConfigRepo:
    """One config repo, opened (or cloned) at construction. See the module docstring for the two modes."""

    def __init__(
        self,
        source: str | Path | ConfigRepoSource,
        *,
        cache_root: Path | None = None,
        env_dirs: Mapping[str, str] | None = None,
    ) -> None:
        url, path = _classify(source)
        self.env_dirs = dict(env_dirs) if env_dirs is not None else None
        if url is None and path is not None and _is_work_tree(path):
            self.remote: str | None = None
            self.path = path
        else:
            self.remote = url or str(path)
            self.path = _cache_dir(cache_root or default_cache_root(), self.remote)
        self.git = Git(self.path)
        if self.remote is not None:
            self.branch = self._clone_or_refresh()
        else:
            self.branch = self.git.branch()

    @classmethod
    def for_platform(cls, platform: Platform, *, cache_root: Path | None = None) -> ConfigRepo:
        """The config repo `ferry.yaml` names, with its environments' `valuesDir`s."""
        if platform.config_repo is None:
            raise ConfigRepoError("ferry.yaml has no configRepo: set it to a git URL or a path")
        dirs = {env.name: env.values_dir for env in platform.environments}
        return cls(platform.config_repo, cache_root=cache_root, env_dirs=dirs)

    # --- reading ------------------------------------------------------------------------------------------

    def head(self) -> str | None:
        return self.git.head()

    def refresh(self) -> str | None:
        """Catch up with the remote (a cloned repo) or re-read HEAD (a local one); the head commit."""
        if self.remote is None:
            return self.git.head()
        with self._locked():
            return self.git.sync_to_remote(self.branch)

    def env_dir(self, env: str) -> str:
        if self.env_dirs is None:
            return f"envs/{env}"
        if env not in self.env_dirs:
            raise ConfigRepoError(
                f"unknown environment {env!r} (known: {', '.join(self.env_dirs) or 'none'})"
            )
        return self.env_dirs[env]

    def pin_path(self, env: str, service: str) -> str:
        return f"{self.env_dir(env)}/{service}/{PIN_FILE}"

    def read_pin(self, env: str, service: str, *, revision: str = "HEAD") -> Pin | None:
        """The pin at `revision`, or None if the environment has none for the service (never deployed)."""
        path = self.pin_path(env, service)
        text = self.git.show(revision, path) if self._has_commit(revision) else None
        return None if text is None else parse_pin(text, path)

    def values_files(self, env: str, service: str, *, revision: str = "HEAD") -> list[ValuesFile]:
        """The environment's value layers for the service, in order (env-wide first); missing files skipped."""
        if not self._has_commit(revision):
            return []
        out = []
        for path in (f"{self.env_dir(env)}/{VALUES_FILE}", f"{self.env_dir(env)}/{service}/{VALUES_FILE}"):
            text = self.git.show(revision, path)
            if text is not None:
                out.append(ValuesFile(path, _values(text, path)))
        return out

    def history(self, env: str, service: str, *, limit: int | None = None) -> list[HistoryEntry]:
        """Commits that changed the service's directory in the environment, newest first."""
        if self.git.head() is None:
            return []
        where = f"{self.env_dir(env)}/{service}/"
        args = ["log", "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s", "--name-only"]
        if limit is not None:
            args.append(f"--max-count={limit}")
        out = self.git.run(*args, "HEAD", "--", where).stdout
        entries = []
        for record in out.split("\x1e")[1:]:
            head, _, rest = record.partition("\n")
            sha, author, email, time, subject = head.split("\x1f", 4)
            files = tuple(f for f in rest.split("\n") if f.strip())
            entries.append(HistoryEntry(sha, author, email, time, subject, files))
        return entries

    def changes(self, old: str | None, new: str = "HEAD") -> set[tuple[str, str | None]]:
        """Which apps a move from commit `old` to `new` touches: (env, service), or (env, None) when an
        environment-wide file changed (every service there). `old=None` (nothing synced yet): everything."""
        if self.git.head() is None:
            return set()
        args = ["diff", "--name-only", old, new] if old else ["ls-tree", "-r", "--name-only", new]
        dirs = self.env_dirs or {}
        out: set[tuple[str, str | None]] = set()
        for path in self.git.out(*args).splitlines():
            for env, env_dir in dirs.items() if self.env_dirs is not None else _envs_dir_of(path):
                if path.startswith(env_dir + "/"):
                    rest = path[len(env_dir) + 1 :]
                    service, sep, _ = rest.partition("/")
                    out.add((env, service if sep else None))
        return out

    # --- writing ------------------------------------------------------------------------------------------

    def write_pin(self, env: str, service: str, pin: Pin, message: str, author: str) -> str | None:
        """Commit `pin` as the environment's pin for the service (and push it); the new commit's SHA.

        `message` is the subject (see `pins.move_message`); ferry adds trailers naming environment, service
        and digest. `author` is `Name <email>` or a bare name. None when the pin file already says exactly
        this (no commit). Raises PinConflict if the same pin changed concurrently (nothing written).
        """
        path = self.pin_path(env, service)
        text = render_pin(pin, where=f"{self.env_dir(env)}/{service}")

        def new_text() -> str | None:
            head = self.git.head()
            return None if head is not None and self.git.show(head, path) == text else text

        trailers = f"Ferry-Environment: {env}\nFerry-Service: {service}\nFerry-Digest: {pin.digest}"
        return self.commit_file(path, new_text, subject=message, trailers=trailers, author=author)

    def commit_file(
        self, path: str, new_text: Callable[[], str | None], *, subject: str, trailers: str, author: str
    ) -> str | None:
        """One commit changing one file, under the clone's lock, pushed (with fetch/rebase/retry) when cloned.

        ``new_text`` is called under the lock, so it may read the current file to decide; None means nothing
        to write (no commit, returns None). Raises ConfigRepoError when a local work tree has uncommitted
        changes to ``path``, PinConflict when a concurrent commit changed the same file.
        """
        with self._locked():
            if self.remote is None and self.git.out("status", "--porcelain", "--", path):
                raise ConfigRepoError(
                    f"{self.path / path}: has uncommitted changes; commit or discard them first"
                )
            text = new_text()
            if text is None:
                return None
            _write_atomically(self.path / path, text)
            name, email = _identity(author)
            ident = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email}
            ident |= {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
            self.git.run("add", "--", path)
            self.git.run("commit", "--quiet", "-m", subject, "-m", trailers, "--", path, env=ident)
            if self.remote is None:
                return self.git.head()
            return push_with_rebase(self.git, self.branch)

    # --- internals ----------------------------------------------------------------------------------------

    def _has_commit(self, revision: str) -> bool:
        return (
            self.git.run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False).returncode
            == 0
        )

    def _clone_or_refresh(self) -> str:
        assert self.remote is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not (self.path / ".git").is_dir():
            with tempfile.TemporaryDirectory(dir=self.path.parent, prefix=".clone-") as tmp:
                proc = Git(Path(tmp)).run("clone", "--quiet", "--", self.remote, "repo", check=False)
                if proc.returncode != 0:
                    raise ConfigRepoError(f"cannot clone the config repo {self.remote}: {said(proc)}")
                with contextlib.suppress(FileExistsError, OSError):
                    os.rename(Path(tmp) / "repo", self.path)  # atomic: a half clone is never seen
        branch = self.git.branch()
        with self._locked():
            self.git.sync_to_remote(branch)
        return branch

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        git_dir = Path(self.git.out("rev-parse", "--absolute-git-dir"))
        with open(git_dir / "ferry.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _classify(source: str | Path | ConfigRepoSource) -> tuple[str | None, Path | None]:
    if isinstance(source, ConfigRepoSource):
        return source.url, source.path
    if isinstance(source, Path):
        return None, source.resolve()
    if "://" in source or ("@" in source and ":" in source.split("@", 1)[1]):
        return source, None
    return None, Path(source).expanduser().resolve()


def _is_work_tree(path: Path) -> bool:
    """True for the root of a non-bare repository; a bare one is cloned like a URL; anything else fails."""
    if not path.is_dir():
        raise ConfigRepoError(f"config repo {path} does not exist (ferry init creates one)")
    git = Git(path)
    proc = git.run("rev-parse", "--is-bare-repository", check=False)
    if proc.returncode != 0:
        raise ConfigRepoError(f"config repo {path} is not a git repository (git init it, or ferry init)")
    if proc.stdout.strip() == "true":
        return False
    top = Path(git.out("rev-parse", "--show-toplevel")).resolve()
    if top != path:
        raise ConfigRepoError(
            f"config repo {path} is inside the git repository {top}, not the root of its own"
        )
    return True


def _envs_dir_of(path: str) -> list[tuple[str, str]]:
    """Without a platform: `envs/<env>/...` names its environment."""
    parts = path.split("/")
    return [(parts[1], f"envs/{parts[1]}")] if len(parts) > 2 and parts[0] == "envs" else []


def _cache_dir(root: Path, remote: str) -> Path:
    return root / hashlib.sha256(remote.encode()).hexdigest()[:16]


def _identity(author: str) -> tuple[str, str]:
    name, sep, rest = author.partition("<")
    if sep and rest.endswith(">"):
        return name.strip() or rest[:-1], rest[:-1].strip()
    return author.strip() or "ferry", ""


def _values(text: str, path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}:" if mark is not None else ""
        raise ConfigRepoError(
            f"{path}:{line} not valid YAML: {getattr(exc, 'problem', None) or exc}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigRepoError(f"{path}: must be a mapping of values")
    return data


def _write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
