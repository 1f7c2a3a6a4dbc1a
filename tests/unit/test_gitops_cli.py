"""``ferry reconcile`` / ``ferry sync`` bad input: one line naming the cause, exit 1, nothing started."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ferry.cli import main
from tests.unit.gitops_support import world


def test_a_bad_webhook_address_is_refused_before_anything_runs(tmp_path: Path) -> None:
    w = world(tmp_path)
    result = CliRunner().invoke(main, ["reconcile", "--repo", str(w.root), "--webhook", "localhost"])
    assert result.exit_code == 1
    assert result.output == "error: --webhook 'localhost': expected HOST:PORT, e.g. 127.0.0.1:8089\n"


def test_unknown_environment_and_service_name_the_cause(tmp_path: Path) -> None:
    w = world(tmp_path)
    unknown_env = CliRunner().invoke(
        main, ["sync", "order-service", "--env", "staging", "--repo", str(w.root)]
    )
    assert unknown_env.exit_code == 1
    assert unknown_env.output == "error: ferry.yaml: unknown environment 'staging' (known: sit, qa, prod)\n"
    unknown_svc = CliRunner().invoke(main, ["sync", "orders", "--env", "sit", "--repo", str(w.root)])
    assert unknown_svc.exit_code == 1 and unknown_svc.output.startswith(
        "error: ferry.yaml: unknown service 'orders'"
    )


def test_no_ferry_yaml_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["reconcile", "--repo", str(tmp_path), "--once"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "ferry.yaml" in result.output
    assert result.output.count("\n") == 1
