"""`dependsOn`: service names are deploy dependencies (ordered, checked, acyclic); paths are ferry ci's."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.delivery.platform import PlatformError, parse_platform


def services(**deps: str) -> str:
    """ferry.yaml with one service per keyword, `dependsOn` given as the YAML flow list text."""
    lines = ["registry: 127.0.0.1:5000", "services:"]
    for name, dep in deps.items():
        lines += [f"  {name.replace('_', '-')}:", f"    path: services/{name}"]
        if dep:
            lines.append(f"    dependsOn: {dep}")
    return "\n".join(lines) + "\n"


def test_service_names_become_dependencies_and_paths_are_left_to_ci(tmp_path: Path) -> None:
    (tmp_path / "proto").mkdir()
    text = services(gateway="[auth, orders, libs/common, proto, auth]", auth="", orders="[auth]")
    platform = parse_platform(text, tmp_path)
    assert platform.services["gateway"].depends_on == ("auth", "orders")  # once each, file order
    assert platform.services["orders"].depends_on == ("auth",)


def test_deploy_order_puts_dependencies_first_and_otherwise_keeps_file_order(tmp_path: Path) -> None:
    text = services(
        gateway="[orders, payments]", orders="[auth, payments]", payments="[auth]", auth="", web=""
    )
    platform = parse_platform(text, tmp_path)
    assert platform.deploy_order() == ["auth", "payments", "orders", "gateway", "web"]
    assert platform.deploy_order(["orders"]) == ["auth", "payments", "orders"]
    assert platform.deploy_order(["web", "payments"]) == ["web", "auth", "payments"]


def test_an_unknown_service_name_is_an_error_with_a_hint(tmp_path: Path) -> None:
    text = services(orders="[auth-servce]", auth_service="")
    with pytest.raises(PlatformError) as caught:
        parse_platform(text, tmp_path)
    assert str(caught.value) == (
        "ferry.yaml:5: services.orders.dependsOn[0]: unknown service 'auth-servce' (did you mean 'auth-service'?)"
    )


def test_an_unknown_name_without_a_close_match_lists_the_services(tmp_path: Path) -> None:
    text = services(orders="[billing]", auth="")
    with pytest.raises(PlatformError) as caught:
        parse_platform(text, tmp_path)
    assert (
        str(caught.value)
        == "ferry.yaml:5: services.orders.dependsOn[0]: unknown service 'billing' (services: auth, orders)"
    )


def test_a_top_level_directory_is_a_path_not_an_unknown_service(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    assert parse_platform(services(orders="[common]"), tmp_path).services["orders"].depends_on == ()
    # without the filesystem (an old revision's file) it cannot tell, and refuses
    with pytest.raises(PlatformError, match="unknown service 'common'"):
        parse_platform(services(orders="[common]"), tmp_path, check_paths=False)


@pytest.mark.parametrize(
    ("deps", "expected"),
    [
        (
            {"orders": "[orders]"},
            "ferry.yaml:5: services.orders.dependsOn: dependency cycle: orders → orders",
        ),
        (
            {"orders": "[auth]", "auth": "[orders]"},
            "ferry.yaml:8: services.auth.dependsOn: dependency cycle: orders → auth → orders",
        ),
        (
            {"web": "", "a": "[b]", "b": "[c]", "c": "[a]"},
            "ferry.yaml:13: services.c.dependsOn: dependency cycle: a → b → c → a",
        ),
    ],
)
def test_cycles_are_refused_naming_the_whole_loop(
    tmp_path: Path, deps: dict[str, str], expected: str
) -> None:
    with pytest.raises(PlatformError) as caught:
        parse_platform(services(**deps), tmp_path)
    assert str(caught.value) == expected
