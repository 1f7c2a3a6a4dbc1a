"""The Node.js buildpack: `npm ci` into a node_modules layer, the code in another, on the host base.

With production dependencies in package.json, a `package-lock.json` is required (a build without one would
resolve versions at build time and not be reproducible). The install runs in a temporary copy of the context
(minus node_modules, .git and .dockerignore'd paths, so `file:` dependencies inside the context resolve):

    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

`--ignore-scripts` because ferry executes nothing from the project while building: packages that need an install
script (native addons) must be prebuilt. The resulting `node_modules` becomes the layer `/app/node_modules`,
cached by the hash of package.json, package-lock.json, the node major version and the platform. The SBOM lists the
lock file's production packages. Without dependencies there is no dependency layer at all.

The entrypoint is declared (`entrypoint` in ferry.toml, or `"ferry": {"entrypoint": [...]}` in package.json) or
inferred: `scripts.start` when it is `node <file> ...`, else `main`, else index.js / server.js / app.js.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ferry.build.bases import HOST_PATH
from ferry.build.buildpacks import BuildpackResult, app_layer, declared_entrypoint, read_ferry_toml, run_tool
from ferry.build.cache import LayerCache, cache_key
from ferry.build.errors import BuildError
from ferry.build.ignore import Ignore
from ferry.build.layers import Layer, build_layer, collect_tree
from ferry.build.sbom import Component, components_from_package_lock

__all__ = ["build_node"]


def _json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BuildError(f"invalid JSON: {exc}", file=path.name) from None
    if not isinstance(doc, dict):
        raise BuildError("must be a JSON object", file=path.name)
    return doc


def _entrypoint(context: Path, package: dict[str, Any]) -> list[str]:
    declared = declared_entrypoint(read_ferry_toml(context).get("entrypoint"), file="ferry.toml")
    declared = declared or declared_entrypoint(
        (package.get("ferry") or {}).get("entrypoint"), file="package.json"
    )
    if declared:
        return declared
    start = (package.get("scripts") or {}).get("start")
    if isinstance(start, str):
        try:
            words = shlex.split(start)
        except ValueError:
            words = []
        if len(words) >= 2 and words[0] == "node" and not any(c in start for c in "&|;<>$`"):
            return words
    main = package.get("main")
    if isinstance(main, str) and main:
        return ["node", main]
    for name in ("index.js", "server.js", "app.js"):
        if (context / name).is_file():
            return ["node", name]
    raise BuildError(
        'cannot infer how to start the service: set "main" or a "start": "node <file>" script in package.json, '
        'or entrypoint = ["node", "server.js"] in ferry.toml'
    )


async def _node_major() -> str:
    out = await run_tool(["node", "--version"], cwd=Path.cwd(), env=None, what="node --version")
    return out.strip().lstrip("v").split(".")[0]


async def _deps_layer(
    context: Path, *, node: str, platform: str, cache_dir: Path | None
) -> tuple[Layer, list[Component]]:
    lock_path = context / "package-lock.json"
    key = cache_key(
        {
            "kind": "npm",
            "package": (context / "package.json").read_text(encoding="utf-8"),
            "lock": lock_path.read_text(encoding="utf-8"),
            "node": node,
            "platform": platform,
        }
    )
    components = components_from_package_lock(_json(lock_path))
    cache = LayerCache(cache_dir) if cache_dir is not None else None
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return hit[0], components
    with tempfile.TemporaryDirectory(prefix="ferry-npm-") as tmp:
        work = Path(tmp) / "app"
        ignore = Ignore.for_context(context, extra=("node_modules",))
        await asyncio.to_thread(_copy_context, context, work, ignore)
        env = {**os.environ, "npm_config_update_notifier": "false", "SOURCE_DATE_EPOCH": "0"}
        argv = ["npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        await run_tool(argv, cwd=work, env=env, what="npm ci")
        modules = work / "node_modules"
        modules.mkdir(exist_ok=True)
        entries = collect_tree(modules, "app/node_modules")
        layer = await asyncio.to_thread(build_layer, entries, created_by="npm ci --omit=dev # ferry")
    if cache is not None:
        layer = cache.put(key, layer, {})
    return layer, components


def _copy_context(context: Path, work: Path, ignore: Ignore) -> None:
    for entry in collect_tree(context, "", ignore=ignore):
        target = work / entry.path
        if entry.kind == "dir":
            target.mkdir(parents=True, exist_ok=True)
        elif entry.kind == "symlink":
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(entry.linkname, target)
        elif entry.source is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry.source, target)


async def build_node(context: Path, *, platform: str, cache_dir: Path | None) -> BuildpackResult:
    """The layers, env and entrypoint of a Node.js service."""
    package = _json(context / "package.json")
    entrypoint = _entrypoint(context, package)
    node = await _node_major()
    deps = package.get("dependencies") or {}
    layers: list[Layer] = []
    components: list[Component] = []
    if deps:
        if not (context / "package-lock.json").is_file():
            raise BuildError(
                "package.json has dependencies but no package-lock.json: run `npm install` and commit the lock "
                "file (ferry installs with `npm ci` for reproducible images)",
                file="package.json",
            )
        deps_layer, components = await _deps_layer(context, node=node, platform=platform, cache_dir=cache_dir)
        layers.append(deps_layer)
    layers.append(await asyncio.to_thread(app_layer, context, extra_excludes=("node_modules",)))
    env = {"PATH": f"/app/node_modules/.bin:{HOST_PATH}", "NODE_ENV": "production"}
    return BuildpackResult(
        runtime=f"node{node}", layers=layers, entrypoint=entrypoint, env=env, components=components
    )
