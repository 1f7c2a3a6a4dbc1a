"""The platform model: the whole `ferry.yaml` of an app repo, as the delivery side sees it.

    app: shop                                  # names the default namespaces (<app>-<env>); default: the
                                               # repository directory's name
    registry: 127.0.0.1:5000                   # ferry ci's; the default image is <registry>/<service>
    configRepo: ../deploy                      # a git URL, or a path relative to the app repo
    services:
      order-service:
        path: services/order-service           # ferry ci's keys: path, version, test, testTimeoutSeconds,
        version: {file: ...}                   # dependsOn, image (see docs/ci.md)
        chart: helm/order-service              # default helm/<name>
        image: 127.0.0.1:5000/shop/order-service
        dependsOn: [auth-service, libs/common] # a service name: deploy after it; a path: ferry ci's
        configChecksums: true                  # roll pods when a ConfigMap/Secret they use changes
    environments: [...]                        # see ferry.delivery.environments

One file, two readers. `ferry.build.project` reads what `ferry ci` needs and leaves the other top-level keys
alone; this module reads the delivery view of the same file. `dependsOn` is shared on purpose: an entry that
names another service of the file is a *deploy* dependency (a release set deploys it first); any other entry is a
path for ferry ci's affected-service detection and is ignored here. An entry that is neither a service nor an
existing path is an error, so a typo in a service name cannot silently become a path.

Everything is checked at load time, with the line: unknown keys (with a did-you-mean), types, unknown services
in `dependsOn`, dependency cycles, an explicit `chart:` that does not exist. A defaulted chart (`helm/<name>`)
is not required to exist: a build-only service has none, and rendering names the missing chart.
`Platform.deploy_order()` is the dependency order (dependencies first, ties in file order).

Errors: `PlatformError(Exception)`, one line `ferry.yaml:12: environments[1].sync: must be auto or manual`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from ferry.build.project import CONFIG_NAME, registry_problem
from ferry.delivery.environments import DNS_LABEL, Environment, parse_environments
from ferry.delivery.yamlnodes import Doc, is_null, line_of
from ferry.registry.oci import InvalidReference, parse_reference, valid_repository

__all__ = [
    "CONFIG_NAME",
    "ConfigRepoSource",
    "DeliveryService",
    "Platform",
    "PlatformError",
    "load_platform",
    "parse_platform",
]

_TOP_KEYS = ("app", "registry", "configRepo", "services", "environments")
_CI_KEYS = (  # ferry.build.project owns these; keep in step with its _SERVICE_KEYS
    "path",
    "version",
    "test",
    "testTimeoutSeconds",
    "dependsOn",
    "image",
)
_SERVICE_KEYS = (*_CI_KEYS, "chart", "configChecksums")
_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[^/@\s]+@[^/:\s]+:)")  # scheme://... or scp-like user@host:path


class PlatformError(Exception):
    """`ferry.yaml` is wrong for delivery; the message is `ferry.yaml:line: field: problem`."""


@dataclass(frozen=True)
class ConfigRepoSource:
    """Where the config repo is: a git URL (cloned into a cache) or a local directory."""

    location: str  # as written
    url: str | None = None
    path: Path | None = None  # absolute

    def __str__(self) -> str:
        return self.url or str(self.path)


@dataclass(frozen=True)
class DeliveryService:
    """One deployable service. `chart` is a POSIX path relative to the app repo; `image` has no tag."""

    name: str
    path: str
    chart: str
    image: str
    depends_on: tuple[str, ...] = ()  # service names only
    config_checksums: bool = True
    chart_explicit: bool = field(default=False, compare=False)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Platform:
    root: Path
    app: str
    services: dict[str, DeliveryService]
    environments: list[Environment]
    config_repo: ConfigRepoSource | None

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.environments) or "none declared"
        raise PlatformError(f"{CONFIG_NAME}: unknown environment {name!r} (known: {known})")

    def service(self, name: str) -> DeliveryService:
        if name not in self.services:
            known = ", ".join(self.services) or "none declared"
            raise PlatformError(f"{CONFIG_NAME}: unknown service {name!r} (known: {known})")
        return self.services[name]

    def next_environment(self, name: str) -> Environment | None:
        """The environment a digest in `name` is promoted to, or None after the last."""
        names = [e.name for e in self.environments]
        i = names.index(self.environment(name).name)
        return self.environments[i + 1] if i + 1 < len(names) else None

    def previous_environment(self, name: str) -> Environment | None:
        names = [e.name for e in self.environments]
        i = names.index(self.environment(name).name)
        return self.environments[i - 1] if i > 0 else None

    def chart_dir(self, service: str) -> Path:
        return self.root / self.service(service).chart

    def deploy_order(self, names: list[str] | None = None) -> list[str]:
        """`names` (default: every service) plus what they depend on, dependencies first, else file order."""
        wanted = list(self.services) if names is None else [self.service(n).name for n in names]
        out: list[str] = []

        def visit(name: str) -> None:
            if name in out:
                return
            for dep in self.services[name].depends_on:
                visit(dep)
            out.append(name)

        for name in wanted:
            visit(name)
        return out


def load_platform(root: Path) -> Platform:
    """Read and check `<root>/ferry.yaml`."""
    config = root / CONFIG_NAME
    try:
        text = config.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlatformError(f"{config}: not found (ferry init writes one)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlatformError(f"{config}: cannot read: {exc}") from None
    return parse_platform(text, root.resolve())


def parse_platform(text: str, root: Path, *, check_paths: bool = True) -> Platform:
    """Parse ferry.yaml's text; `check_paths=False` skips the filesystem checks (an old revision's file)."""
    doc = Doc.parse(text, CONFIG_NAME, PlatformError)
    top = doc.mapping(doc.root, "", known=_TOP_KEYS) if doc.root is not None else {}
    app = _app(doc, top["app"][1]) if "app" in top else _default_app(root)
    registry = None
    if "registry" in top:
        rnode = top["registry"][1]
        registry = doc.string(rnode, "registry")
        problem = registry_problem(registry)
        if problem:
            raise doc.error(rnode, "registry", problem)
    config_repo = _config_repo(doc, top["configRepo"][1], root) if "configRepo" in top else None
    services: dict[str, DeliveryService] = {}
    if "services" in top and not is_null(top["services"][1]):
        raw = doc.mapping(top["services"][1], "services")
        names = set(raw)
        for name, (key, body) in raw.items():
            services[name] = _service(doc, name, key, body, root, registry, names, check_paths)
        _check_cycles(doc, raw, services)
    environments = []
    if "environments" in top:
        environments = parse_environments(
            doc, top["environments"][1], app=app, root=root, has_config_repo=config_repo is not None
        )
    return Platform(root=root, app=app, services=services, environments=environments, config_repo=config_repo)


def _app(doc: Doc, node: yaml.Node) -> str:
    app = doc.string(node, "app")
    if not DNS_LABEL.fullmatch(app) or len(app) > 30:
        raise doc.error(
            node, "app", "must be lowercase letters, digits and '-' (at most 30): it prefixes namespaces"
        )
    return app


def _default_app(root: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", root.resolve().name.lower()).strip("-")[:30].strip("-")
    return name or "app"


def _config_repo(doc: Doc, node: yaml.Node, root: Path) -> ConfigRepoSource:
    raw = doc.string(node, "configRepo").strip()
    if _URL.match(raw):
        return ConfigRepoSource(location=raw, url=raw)
    path = Path(raw).expanduser()
    return ConfigRepoSource(location=raw, path=(path if path.is_absolute() else root / path).resolve())


def _service(
    doc: Doc,
    name: str,
    key: yaml.Node,
    body: yaml.Node,
    root: Path,
    registry: str | None,
    names: set[str],
    check_paths: bool,
) -> DeliveryService:
    where = f"services.{name}"
    if not valid_repository(name) or "/" in name:
        raise doc.error(key, where, "a service name must be lowercase letters, digits and '.', '_', '-'")
    fields = doc.mapping(body, where, known=_SERVICE_KEYS)
    if "path" not in fields:
        raise doc.error(body, where, "`path` is required (the service's directory)")
    path = _repo_path(doc, fields["path"][1], f"{where}.path")
    chart = f"helm/{name}"
    if "chart" in fields:
        cnode = fields["chart"][1]
        chart = _repo_path(doc, cnode, f"{where}.chart")
        if check_paths and not (root / chart).is_dir():
            raise doc.error(cnode, f"{where}.chart", f"directory {chart} does not exist")
    image = _image(doc, fields, where, registry, name, key)
    depends: list[str] = []
    if "dependsOn" in fields:
        dnode = fields["dependsOn"][1]
        for i, item in enumerate(doc.sequence(dnode, f"{where}.dependsOn", "service names or paths")):
            entry = doc.string(item, f"{where}.dependsOn[{i}]").strip().rstrip("/")
            if entry in names:
                if entry not in depends:
                    depends.append(entry)
            elif "/" not in entry and not (check_paths and (root / entry).exists()):
                close = difflib.get_close_matches(entry, sorted(names), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"services: {', '.join(sorted(names))}"
                raise doc.error(item, f"{where}.dependsOn[{i}]", f"unknown service {entry!r} ({hint})")
    checksums = True
    if "configChecksums" in fields:
        checksums = doc.boolean(fields["configChecksums"][1], f"{where}.configChecksums")
    return DeliveryService(
        name=name,
        path=path,
        chart=chart,
        image=image,
        depends_on=tuple(depends),
        config_checksums=checksums,
        chart_explicit="chart" in fields,
        line=line_of(key),
    )


def _image(
    doc: Doc,
    fields: dict[str, tuple[yaml.Node, yaml.Node]],
    where: str,
    registry: str | None,
    name: str,
    key: yaml.Node,
) -> str:
    if "image" not in fields:
        if registry is None:
            raise doc.error(
                key, where, "no image repository: set top-level `registry:` or the service's `image:`"
            )
        return f"{registry}/{name}"
    inode = fields["image"][1]
    image = doc.string(inode, f"{where}.image")
    try:
        ref = parse_reference(image)
    except InvalidReference as exc:
        raise doc.error(inode, f"{where}.image", str(exc)) from None
    if ref.tag or ref.digest:
        raise doc.error(inode, f"{where}.image", "must not carry a tag or digest: the config repo pins those")
    return image


def _repo_path(doc: Doc, node: yaml.Node, where: str) -> str:
    raw = doc.string(node, where).strip()
    pure = PurePosixPath(raw)
    if not raw or pure.is_absolute() or ".." in pure.parts or "\\" in raw or pure.as_posix() == ".":
        raise doc.error(node, where, f"{raw!r} must be a relative path inside the repository")
    return pure.as_posix()


def _check_cycles(
    doc: Doc, raw: dict[str, tuple[yaml.Node, yaml.Node]], services: dict[str, DeliveryService]
) -> None:
    """Depth-first search; a back edge is a cycle, reported at the dependsOn of the service that closes it."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for dep in services[name].depends_on:
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep) :], dep]
                body = raw[name][1]
                node = doc.mapping(body, f"services.{name}")["dependsOn"][1]
                raise doc.error(node, f"services.{name}.dependsOn", f"dependency cycle: {' → '.join(cycle)}")
            if state.get(dep) is None:
                visit(dep)
        stack.pop()
        state[name] = 2

    for name in services:
        if name not in state:
            visit(name)
