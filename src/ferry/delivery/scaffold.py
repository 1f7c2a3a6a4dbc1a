"""`ferry init`: write a `ferry.yaml` for an existing repository and create its config repo.

What it looks at, and nothing else: `services/*` directories (each a service; its language from the files
it has, its version source from `VERSION`, `package.json` or `pyproject.toml`, a test command by language)
and `helm/*` directories with a `Chart.yaml` (a chart at `helm/<service>` is the default and needs no key).
It writes environments sit → qa → prod on the embedded cluster, namespaces `<app>-<env>`, approval before prod.

The result must load twice: by `ferry ci` (`ferry.build.project`) and by the delivery side
(`ferry.delivery.platform`); `plan()` checks both before anything is written.

Order of writes, so that a failure leaves nothing half-made: the config repo is built in a temporary sibling
directory (files, `git init`, a first commit) and renamed into place; `ferry.yaml` is written last, atomically.
An existing `ferry.yaml` is refused unless `force`; an existing config repo directory is kept as it is.

Errors: `ScaffoldError(Exception)`, one line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ferry.build.buildpacks import detect
from ferry.build.errors import BuildError
from ferry.build.project import CONFIG_NAME, ProjectError, parse_project
from ferry.delivery.platform import PlatformError, parse_platform

__all__ = ["DetectedService", "Scaffold", "ScaffoldError", "apply", "plan"]

ENVIRONMENTS = ("sit", "qa", "prod")
DEFAULT_REGISTRY = "127.0.0.1:5000"
_NAME = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?")
_README = """\
# Config repo

What each environment runs, written by ferry and read by its reconciler. Layout:

    envs/<env>/values.yaml              values every service gets in <env> (optional)
    envs/<env>/<service>/values.yaml    the service's values in <env>: replicas, resources, env vars
    envs/<env>/<service>/pin.yaml       the image <env> runs: repository, tag and digest, build record

Helm values layer in that order over the chart's defaults; the pin comes last (the image by digest).

Edit values by hand (a pull request is a deployment request). Change pins with `ferry promote` and
`ferry rollback`: each is one commit whose message says what moved, e.g.
`promote order-service 1.4.2-a8f3d21 (sha256:ab12…) sit → qa`.
"""


class ScaffoldError(Exception):
    """`ferry init` cannot do what was asked; nothing was written."""


@dataclass(frozen=True)
class DetectedService:
    name: str
    language: str  # python, node (ferry build's buildpacks), dockerfile, go, unknown
    version: str  # the YAML of the version source
    test: str | None
    chart: str | None  # helm/<name> if it exists


@dataclass
class Scaffold:
    root: Path
    app: str
    config_repo: Path
    services: list[DetectedService]
    orphan_charts: list[str]
    text: str  # ferry.yaml
    created: list[str] = field(default_factory=list)


def plan(root: Path, *, app: str | None, config_repo: str, registry: str, force: bool) -> Scaffold:
    """What `ferry init` would write; raises ScaffoldError (nothing written) when it must not."""
    root = root.resolve()
    if not root.is_dir():
        raise ScaffoldError(f"{root}: not a directory")
    target = root / CONFIG_NAME
    if target.exists() and not force:
        raise ScaffoldError(f"{target}: already exists (use --force to overwrite it)")
    app = app or re.sub(r"[^a-z0-9-]+", "-", root.name.lower()).strip("-")[:30].strip("-") or "app"
    services = [_detect(d, root) for d in sorted((root / "services").glob("*")) if d.is_dir()]
    bad = [s.name for s in services if not _NAME.fullmatch(s.name)]
    if bad:
        raise ScaffoldError(
            f"services/{bad[0]}: a service name must be lowercase letters, digits, '.', '_', '-'"
        )
    charts = sorted(p.parent.name for p in (root / "helm").glob("*/Chart.yaml"))
    orphans = [f"helm/{c}" for c in charts if c not in {s.name for s in services}]
    text = _ferry_yaml(app, registry, config_repo, services)
    try:
        parse_project(text, root)
        parse_platform(text, root)
    except (ProjectError, PlatformError) as exc:
        raise ScaffoldError(f"the generated {CONFIG_NAME} does not load: {exc}") from None
    repo = Path(config_repo)
    return Scaffold(root, app, repo if repo.is_absolute() else root / repo, services, orphans, text)


def apply(scaffold: Scaffold) -> Scaffold:
    """Create the config repo (unless it exists) and write ferry.yaml; `scaffold.created` lists what was made."""
    repo = scaffold.config_repo
    if not repo.exists():
        _create_config_repo(repo, [s.name for s in scaffold.services])
        scaffold.created.append(
            f"{_rel(repo, scaffold.root)}/ (git repository: README.md, envs/{{sit,qa,prod}})"
        )
    fd, tmp = tempfile.mkstemp(dir=scaffold.root, prefix=f".{CONFIG_NAME}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(scaffold.text)
    os.replace(tmp, scaffold.root / CONFIG_NAME)
    scaffold.created.insert(0, CONFIG_NAME)
    return scaffold


def _detect(directory: Path, root: Path) -> DetectedService:
    rel = directory.relative_to(root).as_posix()
    files = {p.name for p in directory.iterdir()}
    language = _language(directory, files)
    version = '"0.1.0"  # no VERSION, package.json or pyproject.toml version found'
    if "VERSION" in files:
        version = f"{{file: {rel}/VERSION}}"
    elif "package.json" in files and _json_version(directory / "package.json"):
        version = f"{{packageJson: {rel}/package.json}}"
    elif "pyproject.toml" in files and _toml_version(directory / "pyproject.toml"):
        version = f"{{pyproject: {rel}/pyproject.toml}}"
    test = {
        "node": "node --test",
        "python": "python3 -m unittest discover -s tests" if (directory / "tests").is_dir() else None,
        "go": "go test ./...",
    }.get(language)
    chart = f"helm/{directory.name}" if (root / "helm" / directory.name / "Chart.yaml").is_file() else None
    return DetectedService(directory.name, language, version, test, chart)


def _language(directory: Path, files: set[str]) -> str:
    """What `ferry build` would build it with: a Dockerfile, else the buildpack's own detection."""
    if "Dockerfile" in files:
        return "dockerfile"
    try:
        return detect(directory)
    except BuildError:
        return "go" if "go.mod" in files else "unknown"


def _json_version(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("version"), str)


def _toml_version(path: Path) -> bool:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc.get("project", {}).get("version"), str)


def _ferry_yaml(app: str, registry: str, config_repo: str, services: list[DetectedService]) -> str:
    lines = [
        "# ferry's platform model (written by `ferry init`; docs/ci.md and docs/delivery.md list every key).",
        "# `ferry ci` reads registry and services; delivery reads everything.",
        f"app: {app}",
        f"registry: {registry}",
        f"configRepo: {config_repo}  # a git URL or a path; ferry promote commits pins there",
        "",
    ]
    if services:
        lines.append("services:")
    else:
        lines.append("services: {}  # none found under services/*: add one per deployable directory")
    for s in services:
        lines += [
            "",
            f"  {s.name}:  # {s.language}",
            f"    path: services/{s.name}",
            f"    version: {s.version}",
        ]
        if s.test:
            lines.append(f"    test: {s.test}")
        chart = f"helm/{s.name} (found)" if s.chart else f"helm/{s.name}, not there yet"
        lines.append(f"    # chart: default {chart}; configChecksums: true; dependsOn: [other-service]")
    lines += [
        "",
        "# In promotion order. Omitted `cluster`: the embedded one (`ferry cluster up`).",
        "environments:",
        "  - name: sit",
        f"    namespace: {app}-sit",
        "    sync: {mode: auto, selfHeal: true, prune: true}",
        "  - name: qa",
        f"    namespace: {app}-qa",
        '    promotion: {soakSeconds: 0}  # add verify: "<smoke test command>"',
        "  - name: prod",
        f"    namespace: {app}-prod",
        "    promotion: {approval: true}  # ferry approve",
        "",
    ]
    return "\n".join(lines)


def _create_config_repo(repo: Path, services: list[str]) -> None:
    repo.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=repo.parent, prefix=f".{repo.name}."))
    try:
        (tmp / "README.md").write_text(_README, encoding="utf-8")
        for env in ENVIRONMENTS:
            env_dir = tmp / "envs" / env
            env_dir.mkdir(parents=True)
            (env_dir / "values.yaml").write_text(f"# values every service gets in {env}\n", encoding="utf-8")
            for name in services:
                (env_dir / name).mkdir()
                (env_dir / name / "values.yaml").write_text(f"# {name} in {env}\n", encoding="utf-8")
        _git(tmp, "init", "--quiet")
        _git(tmp, "add", "--all")
        ident = _git(tmp, "var", "GIT_COMMITTER_IDENT", check=False)
        extra = (
            []
            if ident.returncode == 0
            else ["-c", "user.name=ferry init", "-c", "user.email=ferry@localhost"]
        )
        _git(tmp, *extra, "commit", "--quiet", "-m", "ferry init: config repo layout")
        tmp.rename(repo)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ScaffoldError("git is not installed (the config repo is a git repository)") from None
    if check and proc.returncode != 0:
        said = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise ScaffoldError(f"git {' '.join(args)}: {said}")
    return proc


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
