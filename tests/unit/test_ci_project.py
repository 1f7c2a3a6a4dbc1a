"""ferry.yaml's services part: what parses, and every error, each naming its line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ferry.build.project import (
    ProjectError,
    Service,
    VersionSource,
    load_project,
    parse_project,
    read_version,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in ("services/order-service", "services/auth-service", "libs/common"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "services/order-service/VERSION").write_text("1.4.2\n")
    (tmp_path / "services/order-service/pyproject.toml").write_text(
        '[project]\nname = "o"\nversion = "1.5.0"\n'
    )
    (tmp_path / "services/auth-service/package.json").write_text(
        json.dumps({"name": "a", "version": "3.0.0"})
    )
    return tmp_path


GOOD = """\
registry: 127.0.0.1:5000
configRepo: git@example.com:shop/config.git
environments:
  sit: {cluster: sit}
services:
  order-service:
    path: services/order-service
    version: {file: services/order-service/VERSION}
    test: python -m pytest -q
    testTimeoutSeconds: 30
    dependsOn: [libs/common]
    image: 127.0.0.1:5000/shop/order-service
  auth-service:
    path: services/auth-service/
    version: {packageJson: services/auth-service/package.json}
"""


def test_a_full_file_parses_and_keeps_order(root: Path) -> None:
    project = parse_project(GOOD, root)
    assert project.registry == "127.0.0.1:5000"
    assert list(project.services) == ["order-service", "auth-service"]
    order = project.services["order-service"]
    assert order == Service(
        name="order-service",
        path="services/order-service",
        version=VersionSource("file", "services/order-service/VERSION"),
        test="python -m pytest -q",
        test_timeout_seconds=30.0,
        depends_on=("libs/common",),
        image="127.0.0.1:5000/shop/order-service",
    )
    assert order.line == 6
    assert project.services["auth-service"].path == "services/auth-service"
    assert project.repository(order) == ("127.0.0.1:5000", "shop/order-service")
    assert project.repository(project.services["auth-service"]) == ("127.0.0.1:5000", "auth-service")
    assert project.repository(order, registry_override="ghcr.io/acme") == ("ghcr.io", "shop/order-service")
    auth = project.services["auth-service"]
    assert project.repository(auth, registry_override="ghcr.io/acme/shop") == (
        "ghcr.io",
        "acme/shop/auth-service",
    )
    namespaced = parse_project(GOOD.replace("registry: 127.0.0.1:5000", "registry: ghcr.io/acme"), root)
    assert namespaced.repository(auth) == ("ghcr.io", "acme/auth-service")


def test_load_project_reads_ferry_yaml_from_the_root(root: Path) -> None:
    (root / "ferry.yaml").write_text(GOOD)
    assert list(load_project(root).services) == ["order-service", "auth-service"]


def test_versions_from_each_source(root: Path) -> None:
    project = parse_project(GOOD, root)
    assert read_version(project.services["order-service"], root) == "1.4.2"
    assert read_version(project.services["auth-service"], root) == "3.0.0"
    text = GOOD.replace(
        "{file: services/order-service/VERSION}", "{pyproject: services/order-service/pyproject.toml}"
    )
    assert read_version(parse_project(text, root).services["order-service"], root) == "1.5.0"
    # an unquoted 1.10 stays "1.10", not the float 1.1
    text = GOOD.replace("{file: services/order-service/VERSION}", "1.10")
    assert read_version(parse_project(text, root).services["order-service"], root) == "1.10"


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        (
            "path: services/order-service\n",
            "path: services/order-servic\n",
            "ferry.yaml:7: services.order-service.path: directory services/order-servic does not exist "
            "(did you mean 'services/order-service'?)",
        ),
        (
            "path: services/order-service\n",
            "path: ../elsewhere\n",
            "ferry.yaml:7: services.order-service.path: '../elsewhere' must be a relative path inside the repository",
        ),
        (
            "path: services/order-service\n",
            "path: /abs\n",
            "ferry.yaml:7: services.order-service.path: '/abs' must be",
        ),
        (
            "path: services/order-service\n",
            "path: services/order-service/VERSION\n",
            "ferry.yaml:7: services.order-service.path: services/order-service/VERSION is not a directory",
        ),
        (
            "    testTimeoutSeconds: 30\n",
            "    tests: pytest\n",
            "ferry.yaml:10: services.order-service.tests: unknown key (did you mean 'test'?)",
        ),
        (
            "    testTimeoutSeconds: 30\n",
            "    colour: blue\n",
            "ferry.yaml:10: services.order-service.colour: unknown key (known: path, version",
        ),
        (
            "    testTimeoutSeconds: 30\n",
            "    testTimeoutSeconds: -1\n",
            "ferry.yaml:10: services.order-service.testTimeoutSeconds: must be a positive number of seconds",
        ),
        (
            "dependsOn: [libs/common]",
            "dependsOn: libs/common",
            "ferry.yaml:11: services.order-service.dependsOn: must be a list of paths",
        ),
        (
            "dependsOn: [libs/common]",
            "dependsOn: [libs/commons]",
            "ferry.yaml:11: services.order-service.dependsOn[0]: path libs/commons does not exist (did you mean 'libs/common'?)",
        ),
        (
            "{file: services/order-service/VERSION}",
            "{file: services/order-service/VERSIONS}",
            "ferry.yaml:8: services.order-service.version.file: file services/order-service/VERSIONS does not exist",
        ),
        (
            "{file: services/order-service/VERSION}",
            "{git: tag}",
            "ferry.yaml:8: services.order-service.version: must be a string or exactly one of",
        ),
        (
            "image: 127.0.0.1:5000/shop/order-service",
            "image: 127.0.0.1:5000/shop/order-service:1.0",
            "ferry.yaml:12: services.order-service.image: must not carry a tag or digest",
        ),
        (
            "image: 127.0.0.1:5000/shop/order-service",
            "image: shop/order-service",
            "ferry.yaml:12: services.order-service.image: must name its registry",
        ),
        (
            "image: 127.0.0.1:5000/shop/order-service",
            "image: 127.0.0.1:5000/Shop",
            "ferry.yaml:12: services.order-service.image: invalid image reference",
        ),
        (
            "registry: 127.0.0.1:5000",
            "registry: http://x/y",
            "ferry.yaml:1: registry: 'http://x/y' must be host[:port] or host[:port]/namespace",
        ),
        (
            "  order-service:\n",
            "  Order_Service:\n",
            "ferry.yaml:6: services.Order_Service: a service name must be",
        ),
        (
            "    path: services/order-service\n",
            "",
            "ferry.yaml:7: services.order-service: `path` is required",
        ),
        (
            "    version: {file: services/order-service/VERSION}\n",
            "",
            "ferry.yaml:7: services.order-service: `version` is required",
        ),
        (
            "  auth-service:\n",
            "  order-service:\n",
            "ferry.yaml:13: services: duplicate key 'order-service' (first at line 6)",
        ),
        ("services:\n", "services: 3\nshop:\n", "ferry.yaml:5: services: must be a mapping"),
        (
            "test: python -m pytest -q",
            "test: [a]",
            "ferry.yaml:9: services.order-service.test: must be a string",
        ),
        ("environments:\n", "environments: {\n", "ferry.yaml:5: not valid YAML"),
    ],
)
def test_errors_name_the_line_and_the_field(root: Path, replace: str, by: str, message: str) -> None:
    assert replace in GOOD
    with pytest.raises(ProjectError) as info:
        parse_project(GOOD.replace(replace, by, 1), root)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_a_mapping(root: Path) -> None:
    with pytest.raises(ProjectError, match=r"^ferry.yaml:1: \(top level\): must be a mapping$"):
        parse_project("- a\n- b\n", root)


def test_missing_ferry_yaml(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"ferry\.yaml: not found"):
        load_project(tmp_path)


def test_without_registry_a_service_has_nowhere_to_go(root: Path) -> None:
    project = parse_project(GOOD.replace("registry: 127.0.0.1:5000\n", ""), root)
    assert project.repository(project.services["order-service"]) == ("127.0.0.1:5000", "shop/order-service")
    with pytest.raises(ProjectError, match=r"ferry.yaml:12: services.auth-service: no registry to push to"):
        project.repository(project.services["auth-service"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("latest\n", "the version must not be 'latest'"),
        ("\n", "the version is empty"),
        ("1.0.0+build.5\n", "version '1.0.0+build.5' cannot be part of an image tag"),
        ("1.0 beta\n", "cannot be part of an image tag"),
    ],
)
def test_bad_versions_are_refused(root: Path, content: str, message: str) -> None:
    project = parse_project(GOOD, root)
    (root / "services/order-service/VERSION").write_text(content)
    with pytest.raises(ProjectError, match=re.escape(message)):
        read_version(project.services["order-service"], root)


def test_version_files_that_say_nothing(root: Path) -> None:
    project = parse_project(GOOD, root)
    (root / "services/auth-service/package.json").write_text('{"name": "a"}')
    with pytest.raises(ProjectError, match=r'^services/auth-service/package.json: no "version" string$'):
        read_version(project.services["auth-service"], root)
    (root / "services/auth-service/package.json").write_text("{nope")
    with pytest.raises(ProjectError, match="not valid JSON"):
        read_version(project.services["auth-service"], root)


def test_an_empty_file_and_empty_services_give_no_services(root: Path) -> None:
    assert parse_project("", root).services == {}
    assert parse_project("services:\n", root).services == {}


def test_old_revisions_parse_without_touching_the_filesystem(tmp_path: Path) -> None:
    project = parse_project(GOOD, tmp_path, check_paths=False)
    assert project.services["order-service"].depends_on == ("libs/common",)
