"""The demo's workspace: a fresh data dir holding the cluster, the app repo and the config repo.

```
<data dir>/                 FERRY_HOME for every command the demo runs
  cluster/                  ferry cluster up --data-dir (kubeconfig, registry, reconciler.log, ...)
  work/shop/                the app repo: a copy of examples/ (five services, their charts, ferry.yaml)
  work/deploy/              the config repo ferry.yaml names (configRepo: ../deploy)
```

``FERRY_HOME`` is the data dir, so "the embedded cluster" of ``ferry.yaml`` (environments without
``cluster:``, which mean ``$FERRY_HOME/cluster/kubeconfig``) is the demo's own cluster, and the user's
``~/.ferry/cluster`` is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.demo.shell import Shell

__all__ = ["BuildRecord", "Workspace", "examples_dir"]

APP_NAMESPACE = "shop"  # ferry.yaml's app: namespaces are shop-sit, shop-qa, shop-prod
DEMO_SERVICE_CIDR = "10.96.0.0/16"  # inside the default range, outside the 10.100-10.190 ranges tests pick


def examples_dir() -> Path | None:
    """examples/ of the source checkout this ferry runs from (``make demo`` runs from one)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / "ferry.yaml"
        if candidate.is_file():
            return candidate.parent
    return None


@dataclass(frozen=True)
class BuildRecord:
    service: str
    tag: str
    digest: str
    path: Path

    @classmethod
    def read(cls, path: Path) -> BuildRecord:
        data: dict[str, Any] = json.loads(path.read_text())
        return cls(str(data["service"]), str(data["tag"]), str(data["digest"]), path)


@dataclass
class Workspace:
    root: Path
    shell: Shell
    cluster_state: dict[str, Any] = field(default_factory=dict)

    @property
    def cluster(self) -> Path:
        return self.root / "cluster"

    @property
    def app(self) -> Path:
        return self.root / "work" / "shop"

    @property
    def deploy(self) -> Path:
        return self.root / "work" / "deploy"

    @staticmethod
    def namespace(env: str) -> str:
        return f"{APP_NAMESPACE}-{env}"

    @staticmethod
    def environ(root: Path) -> dict[str, str]:
        env = dict(os.environ, FERRY_HOME=str(root), KUBECONFIG=str(root / "cluster" / "kubeconfig"))
        env["FERRY_USER"] = "alice <alice@example.com>"
        env.pop("FERRY_DEBUG", None)
        return env

    # -- set-up --------------------------------------------------------------------------------------------
    def clean(self) -> None:
        """Stop a cluster a previous demo left running, and start from an empty data dir."""
        if (self.cluster / "cluster.pid").exists():
            self.shell.run(["ferry", "cluster", "down", "--data-dir", str(self.cluster)], cwd=self.root)
        shutil.rmtree(self.root / "work", ignore_errors=True)
        shutil.rmtree(self.cluster, ignore_errors=True)
        (self.root / "work").mkdir(parents=True, exist_ok=True)

    def create_repos(self, examples: Path) -> None:
        sh = self.shell
        work = self.root / "work"
        sh.run(["cp", "-r", str(examples), str(self.app)], cwd=work)
        shutil.rmtree(self.app / ".ferry", ignore_errors=True)
        shutil.rmtree(self.app / "services" / "demo-api" / "node_modules", ignore_errors=True)
        for repo, message in (
            (self.app, "shop: five services, their charts, ferry.yaml"),
            (self.deploy, None),
        ):
            repo.mkdir(exist_ok=True)
            sh.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=repo)
            sh.run(["git", "config", "user.name", "Alice"], cwd=repo)
            sh.run(["git", "config", "user.email", "alice@example.com"], cwd=repo)
            if message is None:
                (repo / "README.md").write_text(
                    "# shop: config repo\n\nWhat each environment runs: envs/<env>/<service>/pin.yaml, written by "
                    "`ferry promote`; values by hand.\n"
                )
                message = "config repo for shop"
            sh.run(["git", "add", "-A"], cwd=repo)
            sh.run(["git", "commit", "--quiet", "-m", message], cwd=repo)

    def start_cluster(self) -> None:
        sh = self.shell
        sh.run(
            ["ferry", "cluster", "up", "--detach", "--data-dir", str(self.cluster), "--listen", "127.0.0.1:0",
             "--runtime", "process", "--service-cidr", DEMO_SERVICE_CIDR, "--gitops", str(self.app)],
            timeout=120,
        )  # fmt: skip
        self.cluster_state = json.loads((self.cluster / "cluster.json").read_text())
        self._wait_node_ready()
        sh.run(["kubectl", "get", "nodes", "-o", "wide"])

    def _wait_node_ready(self, timeout: float = 60.0) -> None:
        """The kubelet registers its node a moment after the API answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.shell.quiet(["kubectl", "get", "nodes", "-o", "json"])
            items = json.loads(proc.stdout).get("items", []) if proc.returncode == 0 else []
            for node in items:
                conditions = node.get("status", {}).get("conditions", [])
                if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
                    return
            time.sleep(0.3)
        raise self.shell.fail(
            f"no node became Ready within {timeout:.0f} s; see {self.cluster / 'cluster.log'}"
        )

    def stop_cluster(self) -> None:
        self.shell.run(["ferry", "cluster", "down", "--data-dir", str(self.cluster)])

    def point_at_registry(self) -> None:
        """ferry.yaml's registry: the cluster's registry (its port is picked at start)."""
        registry = str(self.cluster_state.get("registry") or "")
        if not registry:
            raise self.shell.fail("the cluster reports no registry (cluster.json)")
        path = self.app / "ferry.yaml"
        lines = path.read_text().splitlines(keepends=True)
        path.write_text(
            "".join(f"registry: {registry}\n" if ln.startswith("registry:") else ln for ln in lines)
        )
        self.shell.run(["git", "diff", "--", "ferry.yaml"])
        self.shell.run(["git", "commit", "--quiet", "-am", "ferry.yaml: push to the cluster's registry"])

    def install_webhook_hook(self) -> None:
        """A post-commit hook in the config repo calls the reconciler's webhook: the push notification a git
        server sends from post-receive (GitHub, Gitea), for a config repo that is a local work tree."""
        webhook = str((self.cluster_state.get("gitops") or {}).get("webhook") or "")
        if not webhook:
            raise self.shell.fail("the cluster reports no GitOps reconciler (cluster.json)")
        hook = self.deploy / ".git" / "hooks" / "post-commit"
        if shutil.which("curl"):
            call = f"curl -fsS -o /dev/null -X POST {webhook}"
        else:
            call = f'python3 -c \'import urllib.request as u; u.urlopen(u.Request("{webhook}", data=b""))\''
        hook.write_text(
            f"#!/bin/sh\n# Tell the reconciler at once (it also polls every 10 s).\n{call} || true\n"
        )
        hook.chmod(0o755)
        self.shell.run(["cat", ".git/hooks/post-commit"], cwd=self.deploy)

    # -- builds --------------------------------------------------------------------------------------------
    def head(self) -> str:
        proc = self.shell.quiet(["git", "rev-parse", "HEAD"], cwd=self.app)
        return proc.stdout.strip()

    def records_dir(self) -> Path:
        return Path(".ferry") / "ci" / self.head()[:7]

    def record(self, service: str, records: Path | None = None) -> BuildRecord:
        """The build record ``ferry ci`` wrote for ``service`` (in ``records``, default: for HEAD)."""
        path = (records or self.records_dir()) / f"{service}.json"
        if not (self.app / path).is_file():
            raise self.shell.fail(f"ferry ci wrote no build record {path}")
        record = BuildRecord.read(self.app / path)
        return BuildRecord(record.service, record.tag, record.digest, path)

    def commit_change(self, path: str, old: str, new: str, message: str) -> None:
        """The "merged PR": one edit, shown as a diff, committed on main."""
        file = self.app / path
        text = file.read_text()
        if old not in text:
            raise self.shell.fail(f"{path} does not contain {old!r}")
        file.write_text(text.replace(old, new, 1))
        self.shell.run(["git", "diff", "--", path])
        self.shell.run(["git", "commit", "--quiet", "-am", message])
