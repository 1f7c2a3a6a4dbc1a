"""A platform (a copy of examples/), a config repo (a git work tree) and a recording fake cluster for the
reconciler's unit tests."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.delivery.apply import ClientConfig, KubeApi
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.gitops import Clusters, Options, Reconciler
from ferry.delivery.pins import Pin
from ferry.delivery.platform import Platform, load_platform
from tests.unit.apply_support import FakeKubeApi
from tests.unit.configrepo_support import git, work_tree

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AUTHOR = "alice <alice@example.invalid>"
OPTIONS = Options(interval_seconds=1.0, concurrency=4, health_timeout_seconds=0.05)


def pin_for(platform: Platform, service: str, n: int = 1) -> Pin:
    return Pin(
        repository=platform.services[service].image,
        tag=f"1.0.{n}-abc1234",
        digest=f"sha256:{n:064x}",
        promoted_from="build",
    )


@dataclass
class World:
    root: Path
    platform: Platform
    repo: ConfigRepo
    api: FakeKubeApi

    def reconciler(self, options: Options = OPTIONS) -> Reconciler:
        def connect(_: ClientConfig) -> KubeApi:
            return self.api

        return Reconciler(self.platform, self.repo, clusters=Clusters(connect), options=options)

    def pin(self, env: str, service: str, n: int = 1, author: str = AUTHOR) -> str | None:
        return self.repo.write_pin(env, service, pin_for(self.platform, service, n), f"pin {service}", author)

    def commit(self, path: str, text: str) -> str:
        target = self.repo.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        git(self.repo.path, "add", "--all")
        git(self.repo.path, "commit", "--quiet", "-m", f"edit {path}")
        return git(self.repo.path, "rev-parse", "HEAD")

    def status(self, env: str, service: str) -> dict[str, Any] | None:
        ns = self.platform.environment(env).namespace
        found = self.api.store.get(("", "ConfigMap", ns, f"ferry-app-{env}-{service}"))
        return None if found is None else dict(found["data"])

    def deployment(self, env: str, service: str) -> dict[str, Any] | None:
        ns = self.platform.environment(env).namespace
        return self.api.store.get(("apps", "Deployment", ns, service))


def world(tmp: Path, *, sync: dict[str, str] | None = None) -> World:
    """examples/ copied into tmp; ``sync`` replaces an environment's sync policy (``{"qa": "manual"}``)."""
    root = tmp / "app"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".ferry", "node_modules"))
    text = (root / "ferry.yaml").read_text()
    for env, policy in (sync or {}).items():
        head = f"  - name: {env}\n    namespace: shop-{env}\n"
        text, n = re.subn(re.escape(head) + r"(    sync: .*\n)?", f"{head}    sync: {policy}\n", text)
        assert n == 1, env
    (root / "ferry.yaml").write_text(text)
    platform = load_platform(root)
    repo_dir = work_tree(tmp / "deploy")
    repo = ConfigRepo(repo_dir, env_dirs={e.name: e.values_dir for e in platform.environments})
    return World(root, platform, repo, FakeKubeApi())


async def one_pass(reconciler: Reconciler) -> None:
    await reconciler.tick()
    await reconciler.wait_idle()
