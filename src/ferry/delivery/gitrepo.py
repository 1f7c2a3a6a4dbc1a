"""The git plumbing under the config repo: run `git`, clone into a cache, refresh, push with rebase-and-retry.

Git is driven through the `git` command (see ../shared/reference/dependencies.md §5): it has every transport and
credential helper users already configured, and its 10 to 20 ms per call does not matter at promotion rates.
Every call runs with `GIT_TERMINAL_PROMPT=0` (a missing credential fails instead of hanging a reconciler) and
`LC_ALL=C` (we read git's English messages to tell a non-fast-forward from other push failures).

**The push race.** Two writers start from the same commit and both push; the second is rejected as
non-fast-forward. `push_with_rebase` then fetches, rebases its own commit onto the new remote head and pushes
again, a bounded number of times (`MAX_PUSH_ATTEMPTS`): changes to *different* files (two services, two
environments) compose. A rebase conflict means the other writer changed the *same* file since we read it:
that is a lost update in the making, so we abort the rebase, drop our commit (the cache clone is reset to the
remote head) and raise `PinConflict` naming the file and the commit that won. The caller re-reads and decides
again; nothing is ever force-pushed.

Errors: `ConfigRepoError` and `PinConflict` from `ferry.delivery.repoerrors`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ferry.delivery.repoerrors import ConfigRepoError, PinConflict

__all__ = ["MAX_PUSH_ATTEMPTS", "Git", "push_with_rebase"]

MAX_PUSH_ATTEMPTS = 5
_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


class Git:
    """`git -C <work tree>` with ferry's environment; `run` raises ConfigRepoError naming the command."""

    def __init__(self, work_tree: Path) -> None:
        self.work_tree = work_tree

    def run(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **_ENV, **(env or {})}
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.work_tree), *args],
                capture_output=True,
                text=True,
                check=False,
                env=full_env,
                input=stdin,
            )
        except FileNotFoundError:
            raise ConfigRepoError(
                "git is not installed (the config repo is read and written with git)"
            ) from None
        if check and proc.returncode != 0:
            raise ConfigRepoError(f"git {' '.join(args)}: {said(proc)}")
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def head(self) -> str | None:
        """The HEAD commit, or None in a repository without commits."""
        proc = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def branch(self) -> str:
        return self.out("symbolic-ref", "--short", "HEAD")

    def show(self, revision: str, path: str) -> str | None:
        """The file's text at `revision`, or None if it has no such file."""
        proc = self.run("cat-file", "blob", f"{revision}:{path}", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def remote_head(self, branch: str) -> str | None:
        proc = self.run("rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{branch}", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def sync_to_remote(self, branch: str) -> str | None:
        """Fetch and make the (ferry-owned) clone's branch equal the remote's; the new head, or None if empty."""
        self.run("fetch", "--quiet", "--prune", "origin")
        remote = self.remote_head(branch)
        if remote is not None:
            self.run("reset", "--quiet", "--hard", remote)
            self.run("clean", "--quiet", "-fd")
        return remote


def said(proc: subprocess.CompletedProcess[str]) -> str:
    """git's own reason, in one line: its first `fatal:`/`error:` line, else the last line it printed."""
    lines = [line.strip() for line in proc.stderr.strip().splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("hint:")]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return (lines or [f"exit status {proc.returncode}"])[-1]


def _rejected_non_fast_forward(stderr: str) -> bool:
    return "[rejected]" in stderr and ("non-fast-forward" in stderr or "fetch first" in stderr)


def push_with_rebase(git: Git, branch: str, *, attempts: int = MAX_PUSH_ATTEMPTS) -> str:
    """Push HEAD to origin's `branch`; on a non-fast-forward, fetch + rebase + retry. The pushed head's SHA.

    On any failure the clone is reset to the remote head (our commit dropped) before raising, so the
    ferry-owned clone never carries an unpushed commit into the next operation.
    """
    last = ""
    for _ in range(attempts):
        proc = git.run("push", "--porcelain", "origin", f"HEAD:refs/heads/{branch}", check=False)
        if proc.returncode == 0:
            head = git.head()
            assert head is not None
            return head
        stderr = proc.stderr + proc.stdout
        if not _rejected_non_fast_forward(stderr):
            _drop_local(git, branch)
            raise ConfigRepoError(f"git push to origin {branch}: {said(proc)}; nothing was pushed")
        last = "non-fast-forward"
        git.run("fetch", "--quiet", "origin")
        remote = git.remote_head(branch)
        assert remote is not None  # a rejected push means the branch exists there
        rebase = git.run("rebase", "--quiet", remote, check=False)
        if rebase.returncode != 0:
            conflicted = git.out("diff", "--name-only", "--diff-filter=U").splitlines()
            git.run("rebase", "--abort", check=False)
            path = conflicted[0] if conflicted else "(unknown file)"
            winner = git.out("log", "-1", "--format=%h by %an: %s", remote, "--", path) if conflicted else ""
            _drop_local(git, branch)
            raise PinConflict(
                f"{path} was changed concurrently ({winner or 'by another writer'}); "
                "nothing was pushed: read the pin again and retry",
                path=path,
            )
    _drop_local(git, branch)
    raise ConfigRepoError(
        f"git push to origin {branch}: still {last} after {attempts} attempts (a busy repo?); nothing was pushed"
    )


def _drop_local(git: Git, branch: str) -> None:
    remote = git.remote_head(branch)
    if remote is not None:
        git.run("reset", "--quiet", "--hard", remote, check=False)
    else:  # the remote branch does not exist yet: forget the unborn branch's commit
        git.run("update-ref", "-d", f"refs/heads/{branch}", check=False)
        git.run("read-tree", "--empty", check=False)
        git.run("clean", "--quiet", "-fd", check=False)
