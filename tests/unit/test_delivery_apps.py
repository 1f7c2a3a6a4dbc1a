"""render_app: one service in one environment, from the platform model, the config repo and an image pin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ferry.charts import ValuesError
from ferry.delivery.apps import AppError, render_app
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.platform import PlatformError, load_platform
from tests.unit.configrepo_support import digest, pin, work_tree

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _platform(tmp: Path):  # type: ignore[no-untyped-def]
    shutil.copytree(EXAMPLES, tmp / "app", ignore=shutil.ignore_patterns(".ferry", "node_modules"))
    return load_platform(tmp / "app")


def _deployment(objects: list[dict]) -> dict:  # type: ignore[type-arg]
    return next(o for o in objects if o["kind"] == "Deployment")


def test_the_pin_and_the_environment_values_from_the_config_repo(tmp_path: Path) -> None:
    platform = _platform(tmp_path)
    repo_dir = work_tree(tmp_path / "deploy", {"envs/qa/order-service/values.yaml": "replicaCount: 7\n"})
    repo = ConfigRepo(repo_dir, env_dirs={e.name: e.values_dir for e in platform.environments})
    repo.write_pin("qa", "order-service", pin(n=5), "promote order-service", "tester <t@example.invalid>")
    app = render_app(platform, repo, "qa", "order-service")
    dep = _deployment(app.objects)
    assert dep["metadata"]["namespace"] == "shop-qa"
    assert dep["spec"]["replicas"] == 7  # the environment's values beat the chart's default
    assert (
        dep["spec"]["template"]["spec"]["containers"][0]["image"]
        == f"127.0.0.1:5000/order-service:1.4.2-a8f3d21@{digest(5)}"
    )
    assert app.values_files == ("envs/qa/order-service/values.yaml",)
    assert app.revision == repo.head()
    assert app.inventory.app == "qa-order-service" and app.inventory.namespace == "shop-qa"
    # Config propagation: the ConfigMap the chart renders is referenced, so the template carries its checksum.
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert [c.annotation for c in app.checksums] == [
        a for a in annotations if a.startswith("checksum.ferry.dev/")
    ]
    # --set beats the environment's values; an explicit pin beats the repo's.
    again = render_app(platform, repo, "qa", "order-service", set_values=["replicaCount=2"], pin=pin(n=9))
    assert _deployment(again.objects)["spec"]["replicas"] == 2
    assert digest(9) in _deployment(again.objects)["spec"]["template"]["spec"]["containers"][0]["image"]


def test_no_pin_unknown_names_and_bad_values_are_one_line_errors(tmp_path: Path) -> None:
    platform = _platform(tmp_path)
    repo = ConfigRepo(
        work_tree(tmp_path / "deploy", {"envs/sit/order-service/values.yaml": "replicaCount: 0\n"})
    )
    with pytest.raises(AppError, match=r"no image is pinned for order-service in sit: promote a build first"):
        render_app(platform, repo, "sit", "order-service")
    with pytest.raises(PlatformError, match=r"unknown environment 'staging' \(known: sit, qa, prod\)"):
        render_app(platform, repo, "staging", "order-service", pin=pin())
    with pytest.raises(PlatformError, match=r"unknown service 'orders'"):
        render_app(platform, repo, "sit", "orders", pin=pin())
    with pytest.raises(ValuesError) as err:  # replicaCount 0 fails the chart's schema
        render_app(platform, repo, "sit", "order-service", pin=pin())
    assert "replicaCount" in str(err.value) and "\n" not in str(err.value)


def test_config_propagation_can_be_turned_off_per_service(tmp_path: Path) -> None:
    platform = _platform(tmp_path)
    text = (tmp_path / "app" / "ferry.yaml").read_text()
    text = text.replace("  order-service:\n", "  order-service:\n    configChecksums: false\n", 1)
    (tmp_path / "app" / "ferry.yaml").write_text(text)
    platform = load_platform(tmp_path / "app")
    app = render_app(platform, None, "sit", "order-service", pin=pin())
    assert app.checksums == []
    annotations = _deployment(app.objects)["spec"]["template"]["metadata"].get("annotations") or {}
    assert not any(a.startswith("checksum.ferry.dev/") for a in annotations)
