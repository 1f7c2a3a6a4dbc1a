"""Fakes for the promotion unit tests: a platform + local config repo in tmp, an observer, a verify recorder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.environments import Environment
from ferry.delivery.pins import Pin
from ferry.delivery.platform import Platform, load_platform
from ferry.delivery.promotion import AppState
from tests.unit.configrepo_support import digest, git, work_tree

NOW = datetime(2026, 11, 27, 6, 0, 0, tzinfo=UTC)
WHO = "alice <alice@example.invalid>"

FERRY_YAML = """\
app: shop
registry: 127.0.0.1:5000
configRepo: deploy
services:
  api-gateway: {{path: services/api-gateway, dependsOn: [order-service]}}
  payment-service: {{path: services/payment-service}}
  order-service: {{path: services/order-service, dependsOn: [payment-service]}}
environments:
  - name: sit
  - name: qa
    promotion: {qa}
  - name: prod
    promotion: {prod}
"""


def setup(
    tmp: Path, *, qa: str = "{soakSeconds: 0}", prod: str = "{approval: true}"
) -> tuple[Platform, ConfigRepo]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "ferry.yaml").write_text(FERRY_YAML.format(qa=qa, prod=prod))
    work_tree(tmp / "deploy")
    platform = load_platform(tmp)
    return platform, ConfigRepo.for_platform(platform)


def pin_of(service: str, n: int, **extra: Any) -> Pin:
    return Pin(repository=f"127.0.0.1:5000/{service}", tag=f"1.0.{n}-abcdef{n}", digest=digest(n), **extra)


def seed(repo: ConfigRepo, env: str, service: str, n: int, **extra: Any) -> Pin:
    """Commit a pin directly (as an earlier promotion would have)."""
    pin = pin_of(service, n, promoted_at="2026-11-27T05:00:00Z", **extra)
    repo.write_pin(env, service, pin, f"seed {service} {n} in {env}", "seed <seed@example.invalid>")
    return pin


def commits(repo: ConfigRepo) -> list[str]:
    return git(repo.path, "log", "--format=%s").splitlines()


@dataclass
class FakeObserver:
    """Healthy and Synced at whatever the pin says, unless ``states[(env, service)]`` overrides fields."""

    states: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)

    async def observe(self, env: Environment, service: str, pin: Pin | None) -> AppState:
        self.calls.append((env.name, service, pin.digest if pin else None))
        base = AppState(env.name, service, "Healthy", "Synced", (pin.digest,) if pin else ())
        return replace(base, **self.states.get((env.name, service), {}))


@dataclass
class VerifyRecorder:
    result: tuple[bool, str] = (True, "passed")
    calls: list[tuple[str, dict[str, str], float, Path]] = field(default_factory=list)

    def __call__(self, command: str, extra: Mapping[str, str], timeout: float, cwd: Path) -> tuple[bool, str]:
        self.calls.append((command, dict(extra), timeout, cwd))
        return self.result
