"""Real git repositories in tmp dirs for the config repo tests: a seeded origin, clones, plain git calls."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ferry.delivery.pins import Pin

GIT_ENV = {
    "GIT_AUTHOR_NAME": "seed",
    "GIT_AUTHOR_EMAIL": "seed@example.invalid",
    "GIT_COMMITTER_NAME": "seed",
    "GIT_COMMITTER_EMAIL": "seed@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_ENV)
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return proc.stdout.strip()


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def pin(tag: str = "1.4.2-a8f3d21", n: int = 1, **extra: str) -> Pin:
    return Pin(repository="127.0.0.1:5000/order-service", tag=tag, digest=digest(n), **extra)  # type: ignore[arg-type]


def work_tree(path: Path, files: dict[str, str] | None = None) -> Path:
    """A non-bare repository with one commit holding `files` (default: a README)."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    for name, text in (files or {"README.md": "# config\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "seed")
    return path


def origin(tmp: Path, files: dict[str, str] | None = None) -> str:
    """A bare repository seeded with one commit on main; returns its file:// URL."""
    seed = work_tree(tmp / "seed", files)
    bare = tmp / "origin.git"
    git(tmp, "clone", "--quiet", "--bare", str(seed), str(bare))
    return f"file://{bare}"
