"""End to end: `ferry ci` (a real process) over a copy of examples/, pushing to the embedded registry.

The story of the issue's Done-means, in order, on one repository: the first run tests, builds and pushes every
service with `<version>-<sha7>` tags; a second run has nothing to do, and even a forced rebuild of the same
commit gives the same digests and pushes nothing; a change to one service rebuilds only it; a broken
order-service test fails the run naming it while the other affected services are still built. Tags are read
back with skopeo, a real registry peer.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry.registry.server import RegistrySettings, start_registry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVICES = ["demo-api", "auth-service", "order-service", "payment-service", "api-gateway"]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "e2e",
    "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
    "GIT_COMMITTER_NAME": "e2e",
    "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """The embedded registry on a free port, in a thread of its own; yields host:port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    settings = RegistrySettings(data_dir=tmp_path / "registry-data", port=0)
    running = asyncio.run_coroutine_threadsafe(start_registry(settings), loop).result(30)
    try:
        yield running.host_port
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_ENV)
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    shutil.copytree(EXAMPLES, repo, ignore=shutil.ignore_patterns("__pycache__", "node_modules", ".ferry"))
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "the example monorepo")
    return repo


def ferry_ci(repo: Path, registry: str, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferry",
            "ci",
            "--repo",
            str(repo),
            "--registry",
            registry,
            "--output",
            "json",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, **GIT_ENV),
    )
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def skopeo_tags(registry: str, repo: str) -> list[str]:
    out = subprocess.run(
        ["skopeo", "list-tags", "--tls-verify=false", f"docker://{registry}/{repo}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return sorted(json.loads(out)["Tags"])


def by_service(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["service"]: r for r in doc["records"]}


def test_ci_builds_once_rebuilds_only_what_changed_and_stops_on_failing_tests(
    monorepo: Path, registry: str
) -> None:
    first = git(monorepo, "rev-parse", "--short=7", "HEAD").strip()

    # 1. first run: every service tested, built, pushed as <version>-<sha7>
    code, doc, err = ferry_ci(monorepo, registry)
    assert code == 0, err
    records = by_service(doc)
    assert list(records) == SERVICES
    versions = {"demo-api": "1.0.0", "auth-service": "1.2.0", "order-service": "1.4.2",
                "payment-service": "2.0.1", "api-gateway": "0.9.0"}  # fmt: skip
    for name, record in records.items():
        assert record["status"] == "ok"
        assert record["tag"] == f"{versions[name]}-{first}"
        assert record["image"] == f"{registry}/{name}:{versions[name]}-{first}"
        assert record["pushed"]["manifest"] is True and record["pushed"]["blobs"] >= 2
        assert record["tests"]["failed"] == 0 and record["tests"]["passed"] >= 4
        on_disk = json.loads((monorepo / ".ferry/ci" / first / f"{name}.json").read_text())
        assert on_disk == record
        assert skopeo_tags(registry, name) == [record["tag"]]
    digests = {name: r["digest"] for name, r in records.items()}

    # 2. again: nothing affected; forced: same digests, nothing pushed
    code, doc, err = ferry_ci(monorepo, registry)
    assert code == 0 and doc["records"] == [], err
    assert "0 of 5 services affected" in err
    code, doc, err = ferry_ci(monorepo, registry, "--all")
    assert code == 0, err
    for name, record in by_service(doc).items():
        assert record["digest"] == digests[name]
        assert record["pushed"] == {"blobs": 0, "bytes": 0, "manifest": False}

    # 3. one service changed: only it is rebuilt
    app = monorepo / "services/payment-service/app.py"
    app.write_text(app.read_text().replace('"status": "captured"', '"status": "captured", "currency": "EUR"'))
    second = commit(monorepo, "payment-service: currency")[:7]
    code, doc, err = ferry_ci(monorepo, registry)
    assert code == 0, err
    assert [r["service"] for r in doc["records"]] == ["payment-service"]
    assert doc["records"][0]["tag"] == f"2.0.1-{second}"
    assert doc["records"][0]["digest"] != digests["payment-service"]
    assert skopeo_tags(registry, "payment-service") == sorted([f"2.0.1-{first}", f"2.0.1-{second}"])
    assert skopeo_tags(registry, "order-service") == [f"1.4.2-{first}"]

    # 4. a failing order-service test stops its build; auth-service, also changed, is still built
    test_file = monorepo / "services/order-service/tests/test_total.py"
    test_file.write_text(test_file.read_text().replace("1600)", "1700)"))
    (monorepo / "services/auth-service/VERSION").write_text("1.2.1\n")
    third = commit(monorepo, "break order-service, bump auth-service")[:7]
    code, doc, err = ferry_ci(monorepo, registry)
    assert code == 1
    assert "error: 1 service(s) failed: order-service" in err
    assert "test_total.OrderTotalTest.test_total_is_quantity_times_price" in err
    records = by_service(doc)
    assert (records["order-service"]["status"], records["order-service"]["failedStep"]) == ("failed", "test")
    assert records["auth-service"]["status"] == "ok"
    assert skopeo_tags(registry, "auth-service") == sorted([f"1.2.0-{first}", f"1.2.1-{third}"])
    assert skopeo_tags(registry, "order-service") == [f"1.4.2-{first}"]
    assert not any("latest" in skopeo_tags(registry, name) for name in SERVICES)
