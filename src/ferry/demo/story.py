"""Stories 1 and 4 (SCENARIOS.md): demo-api from a commit to prod through sit → qa → prod, by GitOps.

``ferry ci`` builds and pushes; ``ferry promote`` commits pins into the config repo; the reconciler that
``ferry cluster up --gitops`` started syncs them (the config repo's post-commit hook calls its webhook).
Then "the merged PR" (demo-api 1.0.1) rolls out in prod while a load generator sends requests to prod's
Service, and a rollback (``ferry rollback``: a commit of the previous pin) brings 1.0.0 back under traffic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ferry.demo.observe import replicasets, service_address, wait_synced
from ferry.demo.shell import head_and_tail
from ferry.demo.traffic import Traffic, TrafficReport
from ferry.demo.workspace import BuildRecord, Workspace

__all__ = ["Story", "TrafficCheck"]

SERVICE = "demo-api"
BASELINE_SECONDS = 3.0  # traffic before the change, so the report starts at the old version
AFTER_SECONDS = 2.0  # and after the rollout, so it ends at the new one


@dataclass(frozen=True)
class TrafficCheck:
    what: str
    report: TrafficReport
    expected_versions: list[str]

    @property
    def ok(self) -> bool:
        return self.report.failed == 0 and self.report.versions() == self.expected_versions

    def verdict(self) -> str:
        seen = " → ".join(self.report.versions()) or "none"
        if self.ok:
            return f"{self.what}: {self.report.total} requests, 0 failed, versions {seen}"
        expected = " → ".join(self.expected_versions)
        return (
            f"{self.what}: {self.report.total} requests, {self.report.failed} FAILED, versions {seen} "
            f"(expected 0 failed and {expected})"
        )


@dataclass
class Story:
    ws: Workspace
    checks: list[TrafficCheck] = field(default_factory=list)

    # -- helpers -------------------------------------------------------------------------------------------
    def ci(self, why: str) -> None:
        self.ws.shell.say(why)
        self.ws.shell.run(["ferry", "ci"], show=head_and_tail(6, 6), timeout=900, stderr_first=True)

    def promote(self, env: str, record: BuildRecord, *, build: bool = False) -> None:
        sh = self.ws.shell
        cmd = ["ferry", "promote", SERVICE, "--to", env]
        sh.run([*cmd, "--build", str(record.path)] if build else cmd)
        wait_synced(sh, namespace=self.ws.namespace(env), env=env, service=SERVICE, digest=record.digest)

    def ask_version(self, env: str) -> str:
        """GET / on the environment's Service, as curl shows it."""
        sh = self.ws.shell
        host, port = service_address(sh, namespace=self.ws.namespace(env), name=SERVICE)
        proc = sh.run(["curl", "-sS", "--max-time", "5", f"http://{host}:{port}/"])
        return proc.stdout.strip()

    def expect_version(self, env: str, version: str) -> None:
        got = self.ask_version(env)
        if got != version:
            raise self.ws.shell.fail(f"{env}'s demo-api answered {got!r}, expected {version!r}")

    def under_traffic(self, what: str, expected: list[str], change: list[str], record: BuildRecord) -> None:
        """Run ``change`` (a ferry command) while requests flow to prod's Service; wait for the rollout."""
        sh = self.ws.shell
        host, port = service_address(sh, namespace=self.ws.namespace("prod"), name=SERVICE)
        sh.say(f"load generator: GET http://{host}:{port}/ at ~80 req/s, a new connection per request")
        traffic = Traffic(host, port).start()
        try:
            time.sleep(BASELINE_SECONDS)
            sh.spent("traffic before and after the change", BASELINE_SECONDS + AFTER_SECONDS)
            sh.run(change)
            wait_synced(
                sh, namespace=self.ws.namespace("prod"), env="prod", service=SERVICE, digest=record.digest
            )
            sh.run(["kubectl", "-n", self.ws.namespace("prod"), "rollout", "status", f"deployment/{SERVICE}"])
            time.sleep(AFTER_SECONDS)
        finally:
            report = traffic.stop()
        for line in report.lines():
            sh.console.print(line, markup=False, highlight=False)
        check = TrafficCheck(what, report, expected)
        self.checks.append(check)
        style = "bold green" if check.ok else "bold red"
        sh.console.print(f"[{style}]{check.verdict()}[/{style}]")

    # -- the story -----------------------------------------------------------------------------------------
    def first_release(self) -> BuildRecord:
        sh = self.ws.shell
        sh.step(
            "CI: test, build, tag and push every service",
            "a merge to main runs ferry ci: tests, a reproducible image tagged <version>-<sha7>, pushed by digest",
        )
        self.ci("the first run: no earlier successful run, so all five services are affected")
        sh.run(["ls", str(self.ws.records_dir())])
        record = self.ws.record(SERVICE)
        sh.run(["cat", str(record.path)], show=head_and_tail(12, 0))

        sh.step(
            f"Promote {SERVICE} {record.tag} into sit",
            "GitOps: ferry promote only commits the pin to the config repo; the reconciler syncs the cluster",
        )
        self.promote("sit", record, build=True)
        sh.run(
            ["kubectl", "-n", self.ws.namespace("sit"), "get", "deployments,replicasets,pods", "-o", "wide"]
        )
        self.expect_version("sit", "1.0.0")

        sh.step(
            "Promote sit → qa",
            "the same digest moves on, after the gates: sit Healthy, Synced, verify passes",
        )
        self.promote("qa", record)
        self.expect_version("qa", "1.0.0")

        sh.step(
            "Promote qa → prod: an approval first",
            "prod needs a human's yes, recorded in git (ferry approve)",
        )
        sh.run(["ferry", "promote", SERVICE, "--to", "prod"], expect_fail=True)
        sh.run(["ferry", "approve", SERVICE, "--env", "prod", "--digest", record.digest])
        self.promote("prod", record)
        self.expect_version("prod", "1.0.0")
        sh.run(["ferry", "status"])
        return record

    def merged_pr(self, previous: BuildRecord) -> BuildRecord:
        sh = self.ws.shell
        sh.step("The merged PR: demo-api 1.0.1", "a change lands on main; CI builds only what it touches")
        self.ws.commit_change(
            f"services/{SERVICE}/package.json", '"version": "1.0.0"', '"version": "1.0.1"', "demo-api: 1.0.1"
        )
        self.ci("only demo-api changed since the last successful run")
        record = self.ws.record(SERVICE)
        sh.step("1.0.1 through sit and qa", "each environment gets the same digest, each after its gates")
        self.promote("sit", record, build=True)
        self.expect_version("sit", "1.0.1")
        self.promote("qa", record)
        self.expect_version("qa", "1.0.1")
        sh.run(["ferry", "approve", SERVICE, "--env", "prod", "--digest", record.digest])

        sh.step(
            "Roll 1.0.1 out in prod while traffic flows",
            "a new ReplicaSet, a pod at a time: ready before an old one goes, so no request should fail",
        )
        before = {r.name for r in replicasets(sh, namespace=self.ws.namespace("prod"), service=SERVICE)}
        self.under_traffic(
            "rolling update 1.0.0 → 1.0.1 in prod", ["1.0.0", "1.0.1"], ["ferry", "promote", SERVICE, "--to", "prod"],
            record,
        )  # fmt: skip
        after = replicasets(sh, namespace=self.ws.namespace("prod"), service=SERVICE)
        for rs in after:
            sh.console.print(("new  " if rs.name not in before else "old  ") + rs.line(), markup=False)
        return record

    def rollback(self, good: BuildRecord) -> None:
        sh = self.ws.shell
        sh.step(
            "Roll back prod to 1.0.0",
            "GitOps rollback = a commit of the previous good pin, and 1.0.1's digest rejected for prod",
        )
        self.under_traffic(
            "rollback 1.0.1 → 1.0.0 in prod",
            ["1.0.1", "1.0.0"],
            ["ferry", "rollback", SERVICE, "--env", "prod"],
            good,
        )
        sh.run(["kubectl", "-n", self.ws.namespace("prod"), "get", "replicasets", "-o", "wide"])
        sh.run(["ferry", "status"])
        sh.run(["git", "log", "--format=%h %an: %s"], cwd=self.ws.deploy)
