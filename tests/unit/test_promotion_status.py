"""ferry status rows: the pin, the observed sync and health, and the last change from git, per env and service."""

from __future__ import annotations

from pathlib import Path

from ferry.delivery.promotion import collect_status
from tests.unit.configrepo_support import digest
from tests.unit.promotion_support import FakeObserver, seed, setup


async def test_rows_for_every_environment_and_service(tmp_path: Path) -> None:
    platform, repo = setup(tmp_path)
    seed(repo, "sit", "order-service", 2)
    seed(repo, "qa", "order-service", 1)
    observer = FakeObserver(
        {
            ("qa", "order-service"): {
                "health": "Degraded",
                "reason": "Deployment shop-qa/order-service: CrashLoopBackOff",
            }
        }
    )
    rows = await collect_status(platform, repo, observer)
    assert [(r.env, r.service) for r in rows][:3] == [
        ("sit", "api-gateway"),
        ("sit", "payment-service"),
        ("sit", "order-service"),
    ]
    assert len(rows) == 9
    by = {(r.env, r.service): r for r in rows}
    sit = by[("sit", "order-service")]
    assert (sit.tag, sit.digest, sit.sync, sit.health) == ("1.0.2-abcdef2", digest(2), "Synced", "Healthy")
    assert sit.short_digest == "sha256:000000000000…"
    assert (
        sit.changed_by == "seed"
        and sit.change == "seed order-service 2 in sit"
        and sit.commit == repo.history("sit", "order-service")[0].sha
    )
    qa = by[("qa", "order-service")].to_dict()
    assert qa["health"] == "Degraded" and qa["reason"] == "Deployment shop-qa/order-service: CrashLoopBackOff"
    assert qa["lastChange"]["subject"] == "seed order-service 1 in qa"  # type: ignore[index]
    never = by[("prod", "order-service")].to_dict()
    assert (never["version"], never["digest"], never["sync"], never["health"], never["lastChange"]) == (
        None,
        None,
        "-",
        "-",
        None,
    )
    # Every pinned app was observed at its pin; unpinned ones with None.
    assert ("qa", "order-service", digest(1)) in observer.calls and (
        "prod",
        "order-service",
        None,
    ) in observer.calls
