"""Buildpack-style builds: no Dockerfile, the context says what it is.

Detection (first match wins; `buildpack = "python"|"node"` in `ferry.toml` decides when both fit):
- **Python**: `requirements.txt`, `pyproject.toml`, `app.py` or `main.py`;
- **Node.js**: `package.json`.

Every buildpack makes the same shape of image on the host base (`ferry.build.bases.host_base`): a dependency
layer (pip's or npm's output, cached by the hash of the requirements/lock file, the runtime version and the
platform) and, separately, an app layer with the context's files under `/app`. Changing the code rebuilds only the
app layer; changing the lock file only the dependency layer.

The entrypoint is declared (`entrypoint = [...]` in `ferry.toml`, `[tool.ferry] entrypoint` in pyproject.toml,
`"ferry": {"entrypoint": [...]}` in package.json) or inferred by each buildpack.
"""

from __future__ import annotations

import asyncio
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.build.errors import BuildError
from ferry.build.ignore import Ignore
from ferry.build.layers import Layer, build_layer, collect_tree
from ferry.build.sbom import Component

__all__ = ["BuildpackResult", "app_layer", "declared_entrypoint", "detect", "read_ferry_toml", "run_tool"]

PYTHON_MARKERS = ("requirements.txt", "pyproject.toml", "app.py", "main.py")


@dataclass
class BuildpackResult:
    """What a buildpack adds on top of the host base."""

    runtime: str
    layers: list[Layer]
    entrypoint: list[str]
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str = "/app"
    components: list[Component] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_ferry_toml(context: Path) -> dict[str, Any]:
    path = context / "ferry.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"invalid TOML: {exc}", file="ferry.toml") from None


def detect(context: Path) -> str:
    """ "python" or "node"; BuildError when neither or both fit and ferry.toml does not say."""
    chosen = read_ferry_toml(context).get("buildpack")
    if chosen is not None:
        if chosen not in ("python", "node"):
            raise BuildError(f'buildpack = {chosen!r} is unknown (use "python" or "node")', file="ferry.toml")
        return str(chosen)
    python = [m for m in PYTHON_MARKERS if (context / m).is_file()]
    node = (context / "package.json").is_file()
    if python and node:
        raise BuildError(
            f"both {python[0]} and package.json found in {context.name}: "
            'say which to build with buildpack = "python" or "node" in ferry.toml'
        )
    if node:
        return "node"
    if python:
        return "python"
    raise BuildError(
        f"nothing to build in {context}: add a Dockerfile, or requirements.txt / pyproject.toml / app.py "
        "(Python) or package.json (Node.js)"
    )


def declared_entrypoint(value: Any, *, file: str) -> list[str] | None:
    """An entrypoint given as a list of strings, or a string split like a shell would."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return shlex.split(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise BuildError("entrypoint must be a non-empty string or list of strings", file=file)


def app_layer(context: Path, *, extra_excludes: tuple[str, ...] = ()) -> Layer:
    """The app code: the context (minus .dockerignore'd and installer-managed paths) under /app."""
    ignore = Ignore.for_context(context, extra=extra_excludes)
    entries = collect_tree(context, "app", ignore=ignore)
    return build_layer(entries, created_by="COPY . /app # ferry buildpack: app")


async def run_tool(argv: list[str], *, cwd: Path, env: dict[str, str] | None, what: str) -> str:
    """Run pip/npm; returns stdout. A failure is a BuildError quoting the tool's last error line."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise BuildError(f"{what}: {argv[0]} is not installed") from None
    out, err = await proc.communicate()
    if proc.returncode != 0:
        lines = [ln.strip() for ln in err.decode(errors="replace").splitlines() if ln.strip()]
        useful = [ln for ln in lines if "error" in ln.lower()] or lines or ["(no output)"]
        raise BuildError(f"{what} failed (exit {proc.returncode}): {useful[-1]}")
    return out.decode(errors="replace")
