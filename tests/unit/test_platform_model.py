"""ferry.yaml's delivery view: what a full file gives, the defaults, the order of environments."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.build.project import load_project
from ferry.delivery.environments import ClusterRef, PromotionGates, SyncPolicy
from ferry.delivery.platform import (
    ConfigRepoSource,
    DeliveryService,
    PlatformError,
    load_platform,
    parse_platform,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FULL = """\
app: shop
registry: 127.0.0.1:5000/acme
configRepo: git@example.com:shop/config.git
services:
  order-service:
    path: services/order-service
    version: "1.4.2"
    chart: deploy/charts/orders
    image: 127.0.0.1:5000/shop/orders
    dependsOn: [auth-service, libs/common]
    configChecksums: false
  auth-service:
    path: services/auth-service
    version: {file: services/auth-service/VERSION}
environments:
  - name: sit
    cluster: {kubeconfig: clusters/sit.yaml, context: kind-sit}
    sync: manual
  - name: qa
    cluster: kind-qa
    namespace: orders-qa
    sync: {mode: auto, selfHeal: false, prune: false}
    promotion: {soakSeconds: 300, verify: "make smoke", verifyTimeoutSeconds: 90}
    valuesDir: environments/qa
  - name: prod
    cluster: {kubeconfig: /etc/ferry/prod.kubeconfig}
    promotion: {approval: false}
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    (tmp_path / "deploy/charts/orders").mkdir(parents=True)
    (tmp_path / "libs/common").mkdir(parents=True)
    return tmp_path


def test_a_full_file_gives_every_field(root: Path) -> None:
    platform = parse_platform(FULL, root)
    assert platform.app == "shop"
    assert platform.config_repo == ConfigRepoSource(
        location="git@example.com:shop/config.git", url="git@example.com:shop/config.git"
    )
    assert platform.services["order-service"] == DeliveryService(
        name="order-service",
        path="services/order-service",
        chart="deploy/charts/orders",
        image="127.0.0.1:5000/shop/orders",
        depends_on=("auth-service",),
        config_checksums=False,
    )
    sit, qa, prod = platform.environments
    assert (sit.name, sit.namespace, sit.values_dir) == ("sit", "shop-sit", "envs/sit")
    assert sit.cluster == ClusterRef(kubeconfig=root / "clusters/sit.yaml", context="kind-sit")
    assert sit.sync == SyncPolicy(mode="manual", self_heal=True, prune=True)
    assert sit.promotion == PromotionGates()
    assert qa.cluster == ClusterRef(kubeconfig=None, context="kind-qa")
    assert (qa.namespace, qa.values_dir) == ("orders-qa", "environments/qa")
    assert qa.sync == SyncPolicy(mode="auto", self_heal=False, prune=False)
    assert qa.promotion == PromotionGates(
        soak_seconds=300.0, verify="make smoke", verify_timeout_seconds=90.0, approval=False
    )
    assert prod.cluster == ClusterRef(kubeconfig=Path("/etc/ferry/prod.kubeconfig"), context=None)
    assert prod.promotion.approval is False  # explicitly turned off for the last environment


def test_defaults_fill_everything_left_out(root: Path) -> None:
    text = (
        "registry: 127.0.0.1:5000\n"
        "services:\n  orders:\n    path: services/orders\n"
        "environments:\n  - name: sit\n  - name: qa\n  - name: prod\n"
    )
    platform = parse_platform(text, root / "My_Shop")
    orders = platform.services["orders"]
    assert (orders.chart, orders.image, orders.depends_on, orders.config_checksums) == (
        "helm/orders",
        "127.0.0.1:5000/orders",
        (),
        True,
    )
    assert platform.app == "my-shop"  # the directory's name, made a DNS label
    assert platform.config_repo is None
    embedded = ClusterRef(kubeconfig=root / "home/cluster/kubeconfig", context=None)
    for env in platform.environments:
        assert env.cluster == embedded and env.cluster.embedded
        assert env.namespace == f"my-shop-{env.name}"
        assert env.values_dir == f"envs/{env.name}"
        assert env.sync == SyncPolicy(mode="auto", self_heal=True, prune=True)
    # approval defaults to true for the last environment only
    assert [e.promotion.approval for e in platform.environments] == [False, False, True]


def test_a_registry_namespace_prefixes_the_default_image(root: Path) -> None:
    text = "registry: ghcr.io/acme\nservices:\n  orders:\n    path: services/orders\n"
    assert parse_platform(text, root).services["orders"].image == "ghcr.io/acme/orders"


def test_environments_keep_file_order_and_know_their_neighbours(root: Path) -> None:
    text = "app: a\nenvironments:\n  - name: dev\n  - name: staging\n  - name: live\n  - name: dr\n"
    platform = parse_platform(text, root)
    assert [e.name for e in platform.environments] == ["dev", "staging", "live", "dr"]
    assert platform.next_environment("staging").name == "live"  # type: ignore[union-attr]
    assert platform.next_environment("dr") is None
    assert platform.previous_environment("dev") is None
    assert platform.previous_environment("live").name == "staging"  # type: ignore[union-attr]
    assert [e.promotion.approval for e in platform.environments] == [False, False, False, True]


def test_unknown_environment_and_service_name_the_known_ones(root: Path) -> None:
    platform = parse_platform(FULL, root)
    with pytest.raises(PlatformError, match=r"unknown environment 'staging' \(known: sit, qa, prod\)"):
        platform.environment("staging")
    with pytest.raises(
        PlatformError, match=r"unknown service 'orders' \(known: order-service, auth-service\)"
    ):
        platform.service("orders")


def test_a_config_repo_path_is_relative_to_the_app_repo(root: Path) -> None:
    platform = parse_platform("configRepo: ../deploy\n", root / "app")
    assert platform.config_repo == ConfigRepoSource(location="../deploy", path=(root / "deploy").resolve())
    for url in ("https://git.example.com/shop/config.git", "ssh://git@host/config", "file:///srv/config.git"):
        assert parse_platform(f"configRepo: {url}\n", root).config_repo == ConfigRepoSource(
            location=url, url=url
        )


def test_an_empty_file_is_an_empty_platform(root: Path) -> None:
    platform = parse_platform("", root)
    assert (platform.services, platform.environments, platform.config_repo) == ({}, [], None)


def test_the_example_repository_loads_for_delivery_and_for_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRY_HOME", "/nonexistent/ferry-home")
    platform = load_platform(EXAMPLES)
    assert platform.app == "shop"
    assert [(e.name, e.namespace) for e in platform.environments] == [
        ("sit", "shop-sit"),
        ("qa", "shop-qa"),
        ("prod", "shop-prod"),
    ]
    assert all(e.cluster.embedded for e in platform.environments)
    qa, prod = platform.environments[1:]
    assert (qa.promotion.soak_seconds, qa.promotion.verify, qa.promotion.approval) == (0.0, "true", False)
    assert prod.promotion.approval is True
    assert (
        platform.config_repo is not None
        and platform.config_repo.path == (EXAMPLES.parent / "deploy").resolve()
    )
    for name, service in platform.services.items():
        assert service.chart == f"helm/{name}"
        assert service.image == f"127.0.0.1:5000/{name}"
    # ferry ci reads the same file and still sees every service
    assert list(load_project(EXAMPLES).services) == list(platform.services)
