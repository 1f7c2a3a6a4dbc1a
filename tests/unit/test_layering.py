"""The architecture's rule: nothing outside ``ferry.cluster`` imports it, except the CLI that starts it.

import-linter enforces the contract for the packages it lists; this test makes sure every top-level
package is listed there, and checks the rule itself over the source with ``ast`` so a new package cannot
slip past either.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "ferry"
ALLOWED = {"cluster", "cli"}


def _top_level_packages() -> set[str]:
    return {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_no_module_outside_cluster_and_cli_imports_the_cluster() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if rel.parts[0] in ALLOWED:
            continue
        bad = sorted(m for m in _imports(path) if m == "ferry.cluster" or m.startswith("ferry.cluster."))
        if bad:
            offenders.append(f"{rel}: {', '.join(bad)}")
    assert offenders == []


def test_import_linter_contract_lists_every_other_package() -> None:
    config = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())
    contract = config["tool"]["importlinter"]["contracts"][0]
    listed = {m.removeprefix("ferry.") for m in contract["source_modules"]}
    assert _top_level_packages() - ALLOWED == listed
