""".dockerignore rules: Docker's pattern syntax, last match wins, parents exclude children, ferry's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.build.ignore import Ignore


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.md"], "README.md", True),
        (["*.md"], "docs/README.md", False),
        (["**/*.md"], "docs/deep/README.md", True),
        (["**/*.md"], "README.md", True),
        (["docs"], "docs/a/b.txt", True),
        (["/docs/"], "docs/a.txt", True),
        (["./build"], "build", True),
        (["te?t"], "test", True),
        (["te?t"], "tet", False),
        (["[ab].txt"], "a.txt", True),
        (["[!ab].txt"], "a.txt", False),
        (["[!ab].txt"], "c.txt", True),
        (["*", "!keep.txt"], "keep.txt", False),
        (["*", "!keep.txt"], "drop.txt", True),
        (["!keep.txt", "*"], "keep.txt", True),
        (["docs", "!docs/keep.md"], "docs/keep.md", False),
        (["# comment", "", "  secret.env  "], "secret.env", True),
        (["a/../b"], "b", True),
        (["node_modules"], "node_modules/x/index.js", True),
    ],
)
def test_patterns(patterns: list[str], path: str, excluded: bool) -> None:
    assert Ignore(patterns).excluded(path) is excluded


def test_for_context_adds_defaults_before_the_dockerignore_so_it_can_take_them_back(tmp_path: Path) -> None:
    ignore = Ignore.for_context(tmp_path)
    assert ignore.excluded(".git/config")
    assert ignore.excluded("pkg/__pycache__/m.cpython-311.pyc")
    assert ignore.excluded("m.pyc")
    assert not ignore.excluded("app.py")
    (tmp_path / ".dockerignore").write_text("tests/\n!.git\n")
    ignore = Ignore.for_context(tmp_path, extra=("node_modules",))
    assert ignore.excluded("tests/test_a.py")
    assert not ignore.excluded(".git/config")
    assert ignore.excluded("node_modules/a")
    assert ignore.has_exceptions
