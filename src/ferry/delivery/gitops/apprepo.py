"""The app repository from a git URL, for a reconciler that runs where no checkout exists (in a cluster).

``ferry reconcile --repo-url URL`` clones the app repository (``ferry.yaml`` and the charts) into ferry's cache,
``$FERRY_HOME/repos/app/<hash of the URL>``, with the config repo's git plumbing (an atomic clone, then
fetch + hard reset to the remote branch under a lock; ``GIT_TERMINAL_PROMPT=0`` so a missing credential fails
at once). The reconciler calls ``refresh`` before each tick, so a chart changed in the app repository is
re-rendered through the chart fingerprints like a chart edited on disk.

Limit: ``ferry.yaml`` is read once, at start. A changed platform model (a new service or environment, another
sync policy) takes effect when the reconciler restarts (in a cluster: a rollout of its Deployment). A
``configRepo`` given as a relative path resolves inside the clone; in a cluster it should be a git URL.
"""

from __future__ import annotations

from pathlib import Path

from ferry.delivery.configrepo import ConfigRepo, default_cache_root
from ferry.delivery.repoerrors import ConfigRepoError

__all__ = ["clone_app_repo"]


def clone_app_repo(url: str, *, cache_root: Path | None = None) -> ConfigRepo:
    """Clone (or catch up with) the app repository at ``url``; ``.path`` is the work tree, ``.refresh()``
    fetches. Raises ``ConfigRepoError`` naming the URL and what git said."""
    try:
        return ConfigRepo(url, cache_root=(cache_root or default_cache_root()) / "app")
    except ConfigRepoError as exc:
        raise ConfigRepoError(str(exc).replace("the config repo", "the app repo", 1)) from exc
