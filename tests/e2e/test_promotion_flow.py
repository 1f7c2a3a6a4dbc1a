"""GitOps promotion end to end: a sim cluster process, a git config repo in tmp, the promotion CLI as processes.

Story 4, way B, without the reconciler (another part of issue 6): the test plays the reconciler itself, rendering
each app from the config repo with ``render_app`` and applying it with the apply engine through the cluster's
kubeconfig. Then:

1. a build record enters sit; sit → qa passes the gates (health, sync, a real ``kubectl`` verify against sit);
2. qa → prod is refused until ``ferry approve``; then it goes through;
3. a never-ready digest in sit: sit → qa is refused naming the health gate;
4. a good digest travels to prod; ``ferry reject --to-previous`` commits the previous pin, the cluster goes back,
   and promoting the rejected digest again is refused naming the rejected gate;
5. ``ferry status`` (JSON and the plain table) shows the right cells.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from ferry.delivery.apply import LightkubeApi, apply, wait_healthy
from ferry.delivery.apps import client_config, render_app
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.platform import load_platform
from tests.e2e.conftest_sim import SimCluster
from tests.unit.configrepo_support import digest, git, work_tree

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FERRY = [sys.executable, "-m", "ferry"]  # the real CLI
VERIFY = 'kubectl --kubeconfig \\"$FERRY_KUBECONFIG\\" -n \\"$FERRY_NAMESPACE\\" get deployment demo-api'


class World:
    def __init__(self, tmp: Path, cluster: SimCluster) -> None:
        self.tmp, self.cluster = tmp, cluster
        self.app = tmp / "app"
        shutil.copytree(EXAMPLES, self.app, ignore=shutil.ignore_patterns(".ferry", "node_modules"))
        prefix = f"p{uuid.uuid4().hex[:6]}"
        self.ns = {env: f"{prefix}-{env}" for env in ("sit", "qa", "prod")}
        kubeconfig = str(cluster.kubeconfig)
        text = (self.app / "ferry.yaml").read_text()
        head = text[: text.index("environments:")]
        (self.app / "ferry.yaml").write_text(
            head
            + "environments:\n"
            + f"  - name: sit\n    namespace: {self.ns['sit']}\n    cluster: {{kubeconfig: {kubeconfig}}}\n"
            + f"  - name: qa\n    namespace: {self.ns['qa']}\n    cluster: {{kubeconfig: {kubeconfig}}}\n"
            + f'    promotion: {{verify: "{VERIFY}", verifyTimeoutSeconds: 60}}\n'
            + f"  - name: prod\n    namespace: {self.ns['prod']}\n    cluster: {{kubeconfig: {kubeconfig}}}\n"
            + "    promotion: {approval: true}\n"
        )
        work_tree(tmp / "deploy")  # configRepo: ../deploy
        for ns in self.ns.values():
            cluster.run("create", "namespace", ns, namespaced=False)

    def record(self, n: int, tag: str) -> Path:
        path = self.app / ".ferry" / "ci" / f"{n:07x}" / "demo-api.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "service": "demo-api",
            "tag": tag,
            "image": f"127.0.0.1:5000/demo-api:{tag}",
            "digest": digest(n),
            "gitSha": f"{n:07x}" + "0" * 33,
            "status": "ok",
        }
        path.write_text(json.dumps(body))
        return path

    def ferry(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, FERRY_USER="erin <erin@example.invalid>", FERRY_HOME=str(self.tmp / "home"))
        return subprocess.run(
            [*FERRY, *args],
            cwd=self.app,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )

    def ok(self, *args: str) -> str:
        proc = self.ferry(*args)
        assert proc.returncode == 0, f"ferry {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc.stdout

    def refused(self, *args: str) -> str:
        proc = self.ferry(*args)
        assert proc.returncode == 1, f"ferry {' '.join(args)} should fail: {proc.stdout}{proc.stderr}"
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        return lines[0]

    def pin_digest(self, env: str) -> str | None:
        pin = ConfigRepo.for_platform(load_platform(self.app)).read_pin(env, "demo-api")
        return pin.digest if pin else None

    def sync(self, env: str, *, never_ready: bool = False) -> str:
        """What the reconciler would do for demo-api in ``env``: render at the repo's pin, apply, wait."""
        platform = load_platform(self.app)
        app = render_app(platform, ConfigRepo.for_platform(platform), env, "demo-api")
        if never_ready:  # a broken build: the sim kubelet never marks its pods ready
            for obj in app.objects:
                if obj["kind"] == "Deployment":
                    meta = obj["spec"]["template"].setdefault("metadata", {})
                    meta.setdefault("annotations", {})["sim.ferry.dev/never-ready"] = "true"

        async def run() -> str:
            async with LightkubeApi.connect(client_config(app.env)) as api:
                result = await apply(api, app.objects, inventory=app.inventory)
                state = await wait_healthy(
                    api, result.applied, app=app.name, timeout_seconds=3 if never_ready else 60
                )
                return state.status.value

        return asyncio.run(run())

    def image(self, env: str) -> str:
        return self.cluster.run(
            "-n",
            self.ns[env],
            "get",
            "deployment",
            "demo-api",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
            namespaced=False,
        ).stdout


def test_promotion_flow(tmp_path: Path, sim_cluster: SimCluster) -> None:
    w = World(tmp_path, sim_cluster)
    d1, d2, d3 = digest(0xA1), digest(0xB2), digest(0xC3)

    # 1. build → sit → qa
    out = w.ok("promote", "demo-api", "--to", "sit", "--build", str(w.record(0xA1, "1.0.0-00000a1")))
    assert "promoted demo-api 1.0.0-00000a1 (sha256:000000000000…) build → sit" in out
    assert w.sync("sit") == "Healthy"
    assert w.image("sit").endswith(f"@{d1}")
    out = w.ok("promote", "demo-api", "--from", "sit", "--to", "qa")
    assert "gate health: sit is Healthy" in out and "gate sync: sit is Synced at sha256:" in out
    assert "gate verify: `kubectl" in out and "against sit: passed" in out
    assert w.pin_digest("qa") == d1
    assert w.sync("qa") == "Healthy"

    # 2. prod needs an approval
    line = w.refused("promote", "demo-api", "--to", "prod")
    assert line == (
        f"error: promote demo-api qa → prod refused by gate approval: prod needs an approval: "
        f"ferry approve demo-api --env prod --digest {d1}"
    )
    assert w.pin_digest("prod") is None
    assert "approved demo-api 1.0.0-00000a1" in w.ok("approve", "demo-api", "--env", "prod", "--digest", d1)
    w.ok("promote", "demo-api", "--to", "prod")
    assert w.sync("prod") == "Healthy" and w.image("prod").endswith(f"@{d1}")

    # 3. a never-ready digest in sit is not promoted to qa
    w.ok("promote", "demo-api", "--to", "sit", "--build", str(w.record(0xB2, "1.0.1-00000b2")))
    assert w.sync("sit", never_ready=True) == "Progressing"
    line = w.refused("promote", "demo-api", "--from", "sit", "--to", "qa")
    assert line.startswith("error: promote demo-api sit → qa refused by gate health: sit is Progressing (")
    assert "Deployment " + w.ns["sit"] + "/demo-api" in line
    assert w.pin_digest("qa") == d1

    # 4. a good digest to prod, then rejected there
    w.ok("promote", "demo-api", "--to", "sit", "--build", str(w.record(0xC3, "1.0.2-00000c3")))
    assert w.sync("sit") == "Healthy"
    w.ok("promote", "demo-api", "--to", "qa")
    assert w.sync("qa") == "Healthy"
    w.ok("approve", "demo-api", "--env", "prod", "--digest", d3)
    w.ok("promote", "demo-api", "--to", "prod")
    assert w.sync("prod") == "Healthy" and w.image("prod").endswith(f"@{d3}")
    out = w.ok("reject", "demo-api", "--env", "prod", "--to-previous")
    assert "rejected demo-api sha256:000000000000… in prod; back to 1.0.0-00000a1" in out
    assert w.pin_digest("prod") == d1
    subject = git(tmp_path / "deploy", "log", "-1", "--format=%s|%an")
    assert subject.startswith("reject demo-api 1.0.2-00000c3") and subject.endswith("|erin")
    assert w.sync("prod") == "Healthy" and w.image("prod").endswith(f"@{d1}")
    line = w.refused("promote", "demo-api", "--to", "prod")
    assert "refused by gate rejected: sha256:000000000000… was rejected in prod" in line
    assert w.pin_digest("prod") == d1

    # 5. status
    rows: list[dict[str, Any]] = json.loads(w.ok("status", "--output", "json"))
    cells = {(r["environment"], r["service"]): r for r in rows}
    assert len(rows) == 3 * 5
    sit, qa, prod = (cells[(env, "demo-api")] for env in ("sit", "qa", "prod"))
    assert (sit["version"], sit["digest"], sit["sync"], sit["health"]) == (
        "1.0.2-00000c3",
        d3,
        "Synced",
        "Healthy",
    )
    assert (qa["version"], qa["digest"], qa["sync"], qa["health"]) == (
        "1.0.2-00000c3",
        d3,
        "Synced",
        "Healthy",
    )
    assert (prod["version"], prod["digest"], prod["sync"], prod["health"]) == (
        "1.0.0-00000a1",
        d1,
        "Synced",
        "Healthy",
    )
    assert (
        prod["lastChange"]["subject"].startswith("reject demo-api") and prod["lastChange"]["author"] == "erin"
    )
    other = cells[("qa", "order-service")]
    assert (other["version"], other["sync"], other["health"], other["lastChange"]) == (None, "-", "-", None)
    assert d2 not in json.dumps(rows)  # the never-ready digest never got past sit, and sit moved on
    table = w.ok("status").splitlines()
    assert table[0].split() == ["ENV", "SERVICE", "VERSION", "DIGEST", "SYNC", "HEALTH", "LAST", "CHANGE"]
    prod_row = next(line for line in table if line.startswith("prod") and " demo-api " in line)
    assert prod_row.split()[2:6] == ["1.0.0-00000a1", "sha256:000000000000…", "Synced", "Healthy"]
