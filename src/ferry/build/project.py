"""The project model: the `services:` part of `ferry.yaml`, parsed and checked against the repository.

`ferry.yaml` sits at the root of the monorepo. This module owns `registry:` and `services:`; every other
top-level key (`environments`, `configRepo`, ...) belongs to the delivery side and is accepted untouched.

    registry: 127.0.0.1:5000                             # or host/namespace, e.g. ghcr.io/acme
    services:
      order-service:
        path: services/order-service
        version: {file: services/order-service/VERSION}   # or {pyproject: ...}, {packageJson: ...}, or "1.4.2"
        test: python3 -m unittest                        # run in `path`; omitted = no tests
        testTimeoutSeconds: 600
        dependsOn: [libs/common]                         # extra paths whose changes affect the service
        image: 127.0.0.1:5000/shop/order-service         # default <registry>/<service name>

Design: the file is *composed* (PyYAML node graph), not loaded, so that every error can name the line it is
about, e.g. `ferry.yaml:7: services.order-service.path: directory services/order-servic does not exist`.
Composing also lets us refuse duplicate keys, which `yaml.safe_load` silently resolves to the last one.
Every path is checked at load time (relative, inside the repository, existing), so that a typo fails before
any test runs. The version itself is read later, per service (`read_version`), because a bad VERSION file
must fail that one service, not the whole run.

Errors: `ProjectError` (one line, `file:line: field: problem`) is the only exception raised here.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from ferry.registry.oci import InvalidReference, parse_reference, valid_repository, valid_tag

__all__ = [
    "CONFIG_NAME",
    "Project",
    "ProjectError",
    "Service",
    "VersionSource",
    "load_project",
    "parse_project",
    "read_version",
    "registry_problem",
]

CONFIG_NAME = "ferry.yaml"
DEFAULT_TEST_TIMEOUT_SECONDS = 600.0
_SERVICE_KEYS = ("path", "version", "test", "testTimeoutSeconds", "dependsOn", "image")
_DELIVERY_KEYS = ("chart", "configChecksums")  # ferry.delivery.platform reads and checks these
_VERSION_KINDS = ("file", "pyproject", "packageJson")
_HOST_RE = re.compile(r"([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:[0-9]{1,5})?")


def registry_problem(value: str) -> str | None:
    """Why `value` is not `host[:port][/namespace...]`, or None if it is fine."""
    host, _, prefix = value.partition("/")
    if not _HOST_RE.fullmatch(host):
        return f"{value!r} must be host[:port] or host[:port]/namespace, e.g. 127.0.0.1:5000 or ghcr.io/acme"
    if prefix and not valid_repository(prefix):
        return f"{value!r}: namespace {prefix!r} must be lowercase path components"
    return None


class ProjectError(Exception):
    """`ferry.yaml` (or a file it points at) is wrong; the message is `file:line: field: problem`."""


@dataclass(frozen=True)
class VersionSource:
    """Where a service's version comes from: `kind` is `literal`, `file`, `pyproject` or `packageJson`."""

    kind: str
    value: str  # the literal version, or a repository-relative path


@dataclass(frozen=True)
class Service:
    """One buildable service of the monorepo. Paths are POSIX, relative to the repository root."""

    name: str
    path: str
    version: VersionSource
    test: str | None = None
    test_timeout_seconds: float = DEFAULT_TEST_TIMEOUT_SECONDS
    depends_on: tuple[str, ...] = ()
    image: str | None = None  # registry/repository, no tag
    line: int = field(default=0, compare=False)

    @property
    def watched_paths(self) -> tuple[str, ...]:
        """Paths whose changes make this service affected: its directory, dependsOn and the version file."""
        out = [self.path, *self.depends_on]
        if self.version.kind != "literal":
            out.append(self.version.value)
        return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Project:
    root: Path
    registry: str | None
    services: dict[str, Service]

    def repository(self, service: Service, *, registry_override: str | None = None) -> tuple[str, str]:
        """(registry host, repository) the service's image is pushed to.

        The repository is `<namespace>/<service name>` for a `registry: host/namespace`, or `image:`'s path.
        `registry_override` (the CLI's `--registry`) replaces `registry:`; for a service with `image:`, it
        replaces only the host and keeps the image's path.
        """
        if service.image is not None:
            ref = parse_reference(service.image)
            host = registry_override.partition("/")[0] if registry_override else ref.registry
            return host, ref.repository
        registry = registry_override or self.registry
        if registry is None:
            raise ProjectError(
                f"{CONFIG_NAME}:{service.line}: services.{service.name}: no registry to push to: "
                "set top-level `registry:`, the service's `image:`, or pass --registry"
            )
        host, _, namespace = registry.partition("/")
        return host, f"{namespace}/{service.name}" if namespace else service.name


def load_project(root: Path) -> Project:
    """Read and check `<root>/ferry.yaml`."""
    config = root / CONFIG_NAME
    try:
        text = config.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(
            f"{config}: not found: ferry ci needs a {CONFIG_NAME} at the repository root"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{config}: cannot read: {exc}") from None
    return parse_project(text, root)


def parse_project(text: str, root: Path, *, check_paths: bool = True) -> Project:
    """Parse ferry.yaml's text. `check_paths=False` skips the filesystem checks (an old revision's file)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProjectError(f"{CONFIG_NAME}:{line} not valid YAML: {problem}") from None
    if node is None:
        return Project(root=root, registry=None, services={})
    top = _mapping(node, "(top level)")
    registry = None
    if "registry" in top:
        key_node, value = top["registry"]
        registry = _string(value, "registry")
        problem = registry_problem(registry)
        if problem:
            raise _error(value, "registry", problem)
    services: dict[str, Service] = {}
    if "services" in top:
        _, services_node = top["services"]
        if not (isinstance(services_node, yaml.ScalarNode) and services_node.tag.endswith(":null")):
            raw = _mapping(services_node, "services")
            for name, (key_node, body) in raw.items():
                services[name] = _service(name, key_node, body, root, check_paths, set(raw))
    return Project(root=root, registry=registry, services=services)


def read_version(service: Service, root: Path) -> str:
    """The service's version string, read from its source now. Raises ProjectError naming the file."""
    source = service.version
    where = f"services.{service.name}.version"
    if source.kind == "literal":
        version = source.value
    else:
        path = root / source.value
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProjectError(f"{source.value}: cannot read the version of {service.name}: {exc}") from None
        version = _extract_version(source, text)
    version = version.strip()
    if not version:
        raise ProjectError(f"{CONFIG_NAME}:{service.line}: {where}: the version is empty")
    if version == "latest":
        raise ProjectError(
            f"{CONFIG_NAME}:{service.line}: {where}: the version must not be 'latest': tags must be immutable"
        )
    if not valid_tag(f"{version}-0000000"):
        raise ProjectError(
            f"{CONFIG_NAME}:{service.line}: {where}: version {version!r} cannot be part of an image tag "
            "(letters, digits, '.', '_', '-'; at most 119 characters; e.g. 1.4.2 or 1.4.2-rc.1)"
        )
    return version


def _extract_version(source: VersionSource, text: str) -> str:
    if source.kind == "file":
        return text
    if source.kind == "pyproject":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ProjectError(f"{source.value}: not valid TOML: {exc}") from None
        version = doc.get("project", {}).get("version") or doc.get("tool", {}).get("poetry", {}).get(
            "version"
        )
        if not isinstance(version, str):
            raise ProjectError(f'{source.value}: no [project] version (a static `version = "..."` is needed)')
        return version
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{source.value}: not valid JSON: {exc}") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str):
        raise ProjectError(f'{source.value}: no "version" string')
    return version


# --- node helpers -------------------------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _error(node: yaml.Node, where: str, problem: str) -> ProjectError:
    return ProjectError(f"{CONFIG_NAME}:{_line(node)}: {where}: {problem}")


def _mapping(node: yaml.Node, where: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise _error(node, where, "must be a mapping")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise _error(key, where, "keys must be strings")
        if key.value in out:
            first = _line(out[key.value][0])
            raise _error(key, where, f"duplicate key {key.value!r} (first at line {first})")
        out[key.value] = (key, value)
    return out


def _string(node: yaml.Node, where: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
        raise _error(node, where, "must be a string")
    return str(node.value)


def _service(
    name: str, key_node: yaml.Node, body: yaml.Node, root: Path, check_paths: bool, names: set[str]
) -> Service:
    where = f"services.{name}"
    if not valid_repository(name) or "/" in name:
        raise _error(key_node, where, "a service name must be lowercase letters, digits and '.', '_', '-'")
    fields = _mapping(body, where)
    for key, (knode, _) in fields.items():
        if key in _DELIVERY_KEYS:
            continue
        if key not in _SERVICE_KEYS:
            known = _SERVICE_KEYS + _DELIVERY_KEYS
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
            raise _error(knode, f"{where}.{key}", f"unknown key{hint}")
    if "path" not in fields:
        raise _error(body, where, "`path` is required (the service's directory)")
    path_node = fields["path"][1]
    path = _repo_path(path_node, f"{where}.path", root, check_paths, want_dir=True)
    if "version" not in fields:
        raise _error(body, where, "`version` is required: a string or {file|pyproject|packageJson: path}")
    version = _version(fields["version"][1], f"{where}.version", root, check_paths)
    test = None
    if "test" in fields:
        test = _string(fields["test"][1], f"{where}.test").strip() or None
    timeout = DEFAULT_TEST_TIMEOUT_SECONDS
    if "testTimeoutSeconds" in fields:
        tnode = fields["testTimeoutSeconds"][1]
        try:
            timeout = float(_string(tnode, f"{where}.testTimeoutSeconds"))
        except ValueError:
            timeout = -1.0
        if not timeout > 0:
            raise _error(tnode, f"{where}.testTimeoutSeconds", "must be a positive number of seconds")
    depends: list[str] = []
    if "dependsOn" in fields:
        dnode = fields["dependsOn"][1]
        if not isinstance(dnode, yaml.SequenceNode):
            raise _error(dnode, f"{where}.dependsOn", "must be a list of paths")
        for i, item in enumerate(dnode.value):
            if isinstance(item, yaml.ScalarNode) and str(item.value).strip().rstrip("/") in names:
                continue  # another service: a deploy-order dependency (ferry.delivery), not a watched path
            depends.append(_repo_path(item, f"{where}.dependsOn[{i}]", root, check_paths, want_dir=None))
    image = None
    if "image" in fields:
        inode = fields["image"][1]
        image = _string(inode, f"{where}.image")
        try:
            ref = parse_reference(image)
        except InvalidReference as exc:
            raise _error(inode, f"{where}.image", str(exc)) from None
        if ref.tag or ref.digest:
            raise _error(
                inode, f"{where}.image", "must not carry a tag or digest: ferry ci tags <version>-<sha7>"
            )
        if f"{ref.registry}/" not in image:
            raise _error(inode, f"{where}.image", "must name its registry, e.g. 127.0.0.1:5000/shop/" + name)
    return Service(
        name=name,
        path=path,
        version=version,
        test=test,
        test_timeout_seconds=timeout,
        depends_on=tuple(depends),
        image=image,
        line=_line(key_node),
    )


def _version(node: yaml.Node, where: str, root: Path, check_paths: bool) -> VersionSource:
    if isinstance(node, yaml.ScalarNode):
        return VersionSource("literal", _string(node, where))
    fields = _mapping(node, where)
    if len(fields) != 1 or next(iter(fields)) not in _VERSION_KINDS:
        raise _error(
            node,
            where,
            "must be a string or exactly one of {file: ...}, {pyproject: ...}, {packageJson: ...}",
        )
    kind, (_, value) = next(iter(fields.items()))
    return VersionSource(kind, _repo_path(value, f"{where}.{kind}", root, check_paths, want_dir=False))


def _repo_path(node: yaml.Node, where: str, root: Path, check_paths: bool, *, want_dir: bool | None) -> str:
    raw = _string(node, where).strip()
    pure = PurePosixPath(raw)
    if not raw or pure.is_absolute() or ".." in pure.parts or "\\" in raw:
        raise _error(node, where, f"{raw!r} must be a relative path inside the repository")
    text = pure.as_posix()
    if text == ".":
        raise _error(node, where, "must be a sub-directory, not the repository root")
    if not check_paths:
        return text
    target = root / text
    kind = {True: "directory", False: "file", None: "path"}[want_dir]
    ok = target.is_dir() if want_dir else target.is_file() if want_dir is False else target.exists()
    if not ok:
        problem = f"{kind} {text} does not exist"
        if target.exists():
            problem = f"{text} is not a {kind}"
        else:
            siblings = [p.name for p in target.parent.iterdir()] if target.parent.is_dir() else []
            close = difflib.get_close_matches(target.name, siblings, n=1)
            if close:
                problem += f" (did you mean {str(PurePosixPath(text).parent / close[0])!r}?)"
        raise _error(node, where, problem)
    return text
