"""Each environment is owned by one way of delivering: GitOps (the reconciler, promotions, a rollback that commits
the previous pin) or push (ferry deploy, history, rollback by release). The two never act on the same one."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ferry.cli import main
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.gitops.desired import DesiredStates
from ferry.delivery.platform import PlatformError, load_platform
from ferry.delivery.promotion import PromotionError, promote
from tests.unit.configrepo_support import pin, work_tree

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _app(tmp: Path, environments: list[dict[str, object]], *, config_repo: bool = True) -> Path:
    root = tmp / "app"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".ferry", "node_modules"))
    model = yaml.safe_load((root / "ferry.yaml").read_text())
    model["environments"] = environments
    if config_repo:
        work_tree(tmp / "deploy")
        model["configRepo"] = str(tmp / "deploy")
    else:
        model.pop("configRepo", None)
    (root / "ferry.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    return root


def test_the_default_follows_the_config_repo_and_an_explicit_choice_wins(tmp_path: Path) -> None:
    root = _app(tmp_path, [{"name": "sit"}, {"name": "qa", "delivery": "push"}])
    assert [e.delivery for e in load_platform(root).environments] == ["gitops", "push"]
    bare = _app(tmp_path / "b", [{"name": "sit"}], config_repo=False)
    assert load_platform(bare).environments[0].delivery == "push"


def test_bad_delivery_values_point_at_the_line(tmp_path: Path) -> None:
    root = _app(tmp_path, [{"name": "sit", "delivery": "helm"}])
    with pytest.raises(
        PlatformError, match=r"ferry\.yaml:\d+: environments\[0\]\.delivery: must be gitops or push"
    ):
        load_platform(root)
    bare = _app(tmp_path / "b", [{"name": "sit", "delivery": "gitops"}], config_repo=False)
    with pytest.raises(PlatformError, match=r"environments\[0\]\.delivery: gitops needs a configRepo"):
        load_platform(bare)


def test_the_reconciler_leaves_push_environments_alone(tmp_path: Path) -> None:
    root = _app(tmp_path, [{"name": "sit"}, {"name": "qa", "delivery": "push"}])
    platform = load_platform(root)
    keys = DesiredStates(platform, ConfigRepo.for_platform(platform)).all_keys()
    assert {env for env, _ in keys} == {"sit"}


def test_ferry_deploy_refuses_a_gitops_environment_and_promote_a_push_one(tmp_path: Path) -> None:
    root = _app(tmp_path, [{"name": "sit"}, {"name": "qa", "delivery": "push"}])
    result = CliRunner().invoke(
        main,
        [
            "deploy",
            "demo-api",
            "--env",
            "sit",
            "--tag",
            "1.0.0",
            "--digest",
            pin().digest,
            "--repo",
            str(root),
        ],
    )
    assert result.exit_code == 1
    assert "sit is delivered by GitOps (ferry.yaml line" in result.output and "--force" in result.output
    platform = load_platform(root)
    with pytest.raises(PromotionError, match=r"qa is delivered by push \(ferry\.yaml line \d+\)"):
        asyncio.run(
            promote(
                platform,
                ConfigRepo.for_platform(platform),
                ["demo-api"],
                target="qa",
                observer=None,  # type: ignore[arg-type]  # refused before anything is observed
                who="t",
                now=datetime.now(UTC),
            )
        )


def test_ferry_rollback_in_a_gitops_environment_commits_the_previous_pin(tmp_path: Path) -> None:
    root = _app(tmp_path, [{"name": "sit"}])
    repo = ConfigRepo(tmp_path / "deploy", env_dirs={"sit": "envs/sit"})
    good, bad = (
        pin("1.0.0-aaaaaaa", n=1, promoted_from="build"),
        pin("1.0.1-bbbbbbb", n=2, promoted_from="build"),
    )
    repo.write_pin("sit", "demo-api", good, "promote good", "t <t@example.invalid>")
    repo.write_pin("sit", "demo-api", bad, "promote bad", "t <t@example.invalid>")
    result = CliRunner().invoke(main, ["rollback", "demo-api", "--env", "sit", "--repo", str(root)])
    assert result.exit_code == 0, result.output
    now = repo.read_pin("sit", "demo-api")
    assert now is not None and now.digest == good.digest and bad.digest in now.rejected
    refused = CliRunner().invoke(
        main, ["rollback", "demo-api", "--env", "sit", "--to", "1", "--repo", str(root)]
    )
    assert refused.exit_code == 1 and "--to counts push releases" in refused.output
