"""The Python buildpack: dependencies with pip into their own layer, the code in another, on the host base.

Dependencies come from `requirements.txt` (preferred: it is usually the pinned list) or from `[project]
dependencies` of `pyproject.toml`. They are installed with

    python -m pip install --target <tmp>/deps --no-compile --disable-pip-version-check --no-input \
        --no-warn-script-location -r <requirements>

run in the context directory (so `--find-links ./wheels` lines in requirements.txt work), *with* dependency
resolution (no `--no-deps`): a requirements.txt is rarely a complete lock, and a missing transitive dependency
would only show at run time. pip's own settings (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX) are honoured and
are part of the cache key.

The result lands in the image at `/app/.deps` (PYTHONPATH=/app[:/app/src]:/app/.deps, scripts on PATH through
`/app/.deps/bin`). To make two installs on different machines byte-identical, pip's output is normalised: no
bytecode (`--no-compile`, and any `__pycache__` removed), `direct_url.json` dropped (it records the local path
or URL a package came from), and script shebangs that name the build machine's interpreter rewritten to
`#!/usr/bin/env python3`, with their RECORD lines updated to the new hash and size.

The entrypoint is declared (`entrypoint` in ferry.toml or `[tool.ferry]` in pyproject.toml) or inferred: the first
`[project.scripts]` entry (`module:function` is called), else `app.py`, else `main.py`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from ferry.build.bases import HOST_PATH
from ferry.build.buildpacks import BuildpackResult, app_layer, declared_entrypoint, read_ferry_toml, run_tool
from ferry.build.cache import LayerCache, cache_key
from ferry.build.errors import BuildError
from ferry.build.layers import Layer, build_layer, collect_tree
from ferry.build.sbom import Component, components_from_dist_info, pypi_component

__all__ = ["build_python"]

DEPS_DIR = "app/.deps"
PIP_SETTINGS = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_ONLY_BINARY")


def _pyproject(context: Path) -> dict[str, Any]:
    path = context / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"invalid TOML: {exc}", file="pyproject.toml") from None


def _requirements(context: Path, pyproject: dict[str, Any]) -> str:
    req = context / "requirements.txt"
    if req.is_file():
        return req.read_text(encoding="utf-8")
    deps = (pyproject.get("project") or {}).get("dependencies") or []
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise BuildError("[project] dependencies must be a list of strings", file="pyproject.toml")
    return "".join(f"{d}\n" for d in deps)


def _has_requirements(text: str) -> bool:
    return any(ln.strip() and not ln.strip().startswith(("#", "-")) for ln in text.splitlines())


def _entrypoint(context: Path, pyproject: dict[str, Any]) -> list[str]:
    declared = declared_entrypoint(read_ferry_toml(context).get("entrypoint"), file="ferry.toml")
    tool = (pyproject.get("tool") or {}).get("ferry") or {}
    declared = declared or declared_entrypoint(tool.get("entrypoint"), file="pyproject.toml")
    if declared:
        return declared
    scripts = (pyproject.get("project") or {}).get("scripts") or {}
    for target in scripts.values():
        module, _, func = str(target).partition(":")
        if func:
            return ["python3", "-c", f"import sys; from {module} import {func}; sys.exit({func}())"]
        return ["python3", "-m", module]
    for name in ("app.py", "main.py"):
        if (context / name).is_file():
            return ["python3", name]
    raise BuildError(
        f"cannot infer how to start {context.name}: add app.py or main.py, a [project.scripts] entry, "
        'or entrypoint = ["python3", "-m", "mypkg"] in ferry.toml'
    )


def normalise_install(target: Path) -> None:
    """Remove what makes pip's output differ between machines (see the module docstring)."""
    for pycache in sorted(target.rglob("__pycache__"), reverse=True):
        shutil.rmtree(pycache, ignore_errors=True)
    for path in target.rglob("*.pyc"):
        path.unlink()
    for path in target.glob("*.dist-info/direct_url.json"):
        path.unlink()
    bin_dir = target / "bin"
    rewritten: dict[str, bytes] = {}
    if bin_dir.is_dir():
        for script in sorted(bin_dir.iterdir()):
            if not script.is_file() or script.is_symlink():
                continue
            data = script.read_bytes()
            first, nl, rest = data.partition(b"\n")
            if first.startswith(b"#!") and b"python" in first:
                data = b"#!/usr/bin/env python3\n" + rest if nl else b"#!/usr/bin/env python3\n"
                script.write_bytes(data)
                rewritten[script.name] = data
    if rewritten:
        for record in target.glob("*.dist-info/RECORD"):
            record.write_text(
                "".join(_fix_record_line(ln, rewritten) for ln in record.read_text().splitlines(True))
            )


def _fix_record_line(line: str, rewritten: dict[str, bytes]) -> str:
    """The RECORD line of a rewritten script, with its new hash and size (the old ones named the build's python)."""
    path = line.split(",", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if name not in rewritten or not (path == f"bin/{name}" or path.endswith(f"/bin/{name}")):
        return line
    data = rewritten[name]
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


async def _deps_layer(
    context: Path, requirements: str, *, runtime: str, platform: str, cache_dir: Path | None
) -> tuple[Layer, list[Component]]:
    settings = {k: os.environ[k] for k in PIP_SETTINGS if k in os.environ}
    key = cache_key(
        {
            "kind": "pip",
            "requirements": requirements,
            "runtime": runtime,
            "platform": platform,
            "pip": settings,
        }
    )
    cache = LayerCache(cache_dir) if cache_dir is not None else None
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        layer, extra = hit
        return layer, [pypi_component(n, v) for n, v in extra.get("packages", [])]
    with tempfile.TemporaryDirectory(prefix="ferry-pip-") as tmp:
        req_file = Path(tmp) / "requirements.txt"
        req_file.write_text(requirements, encoding="utf-8")
        target = Path(tmp) / "deps"
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "SOURCE_DATE_EPOCH": "0"}
        argv = [sys.executable, "-m", "pip", "install", "--target", str(target), "--no-compile"]
        argv += [
            "--disable-pip-version-check",
            "--no-input",
            "--no-warn-script-location",
            "-r",
            str(req_file),
        ]
        await run_tool(argv, cwd=context, env=env, what="pip install")
        target.mkdir(exist_ok=True)
        normalise_install(target)
        components = components_from_dist_info(target)
        entries = collect_tree(target, DEPS_DIR)
        layer = await asyncio.to_thread(
            build_layer, entries, created_by="pip install -r requirements.txt # ferry"
        )
    if cache is not None:
        layer = cache.put(key, layer, {"packages": [[c.name, c.version] for c in components]})
    return layer, components


async def build_python(context: Path, *, platform: str, cache_dir: Path | None) -> BuildpackResult:
    """The layers, env and entrypoint of a Python service."""
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    pyproject = _pyproject(context)
    entrypoint = _entrypoint(context, pyproject)
    requirements = _requirements(context, pyproject)
    layers: list[Layer] = []
    components: list[Component] = []
    if _has_requirements(requirements):
        deps, components = await _deps_layer(
            context, requirements, runtime=runtime, platform=platform, cache_dir=cache_dir
        )
        layers.append(deps)
    app = await asyncio.to_thread(app_layer, context, extra_excludes=(".venv", "venv", ".deps"))
    layers.append(app)
    python_path = ["/app", *(["/app/src"] if (context / "src").is_dir() else []), "/app/.deps"]
    env = {
        "PATH": f"/app/.deps/bin:{HOST_PATH}",
        "PYTHONPATH": ":".join(python_path),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return BuildpackResult(
        runtime=runtime, layers=layers, entrypoint=entrypoint, env=env, components=components
    )
