"""The same inputs give the same digest on any machine; one changed file changes only its own layer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ferry.build import BuildRequest, build_image

from .build_support import make_wheel, request, touch_all, write_tree

SERVICE = {
    "requirements.txt": "tinypkg==1.0\n",
    "app.py": "import tinypkg\n\ntinypkg.hello()\n",
    "lib/util.py": "X = 1\n",
    "bin/run.sh": "#!/bin/sh\nexec python3 app.py\n",
}


@pytest.fixture
def wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local wheel index: pip runs with --no-index --find-links through its environment settings."""
    wheels = make_wheel(tmp_path / "wheels").parent
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    return wheels


def _checkout(root: Path, *, umask: int, mtime: int) -> Path:
    old = os.umask(umask)
    try:
        ctx = write_tree(root, dict(SERVICE))
        (ctx / "bin" / "run.sh").chmod(0o777 & ~umask)
        (ctx / "lib" / "__pycache__").mkdir()
        (ctx / "lib" / "__pycache__" / f"util.{mtime}.pyc").write_bytes(os.urandom(8))
    finally:
        os.umask(old)
    touch_all(ctx, mtime)
    return ctx


async def test_two_checkouts_in_different_places_build_the_same_digest(tmp_path: Path, wheels: Path) -> None:
    one = _checkout(tmp_path / "a" / "svc", umask=0o022, mtime=1_000_000)
    two = _checkout(tmp_path / "b" / "deeper" / "svc", umask=0o077, mtime=1_800_000_000)
    first = await build_image(request(one))
    second = await build_image(request(two, cache_dir=tmp_path / "cache"))  # a fresh pip install each time
    assert first.manifest.raw == second.manifest.raw
    assert first.config == second.config
    assert first.sbom is not None and second.sbom is not None
    assert first.sbom[0].raw == second.sbom[0].raw


async def test_the_cache_gives_the_same_digest_as_a_cold_build(tmp_path: Path, wheels: Path) -> None:
    ctx = _checkout(tmp_path / "svc", umask=0o022, mtime=1)
    cold = await build_image(request(ctx, cache_dir=tmp_path / "cache"))
    (wheels / "tinypkg-1.0-py3-none-any.whl").unlink()  # a warm build must not need pip at all
    warm = await build_image(request(ctx, cache_dir=tmp_path / "cache"))
    assert warm.digest == cold.digest
    deps = warm.manifest.layers[0].digest
    assert isinstance(warm.blobs[deps], Path)  # served from the cache


async def test_changing_one_file_changes_only_the_app_layer(tmp_path: Path, wheels: Path) -> None:
    ctx = _checkout(tmp_path / "svc", umask=0o022, mtime=1)
    before = await build_image(request(ctx, cache_dir=tmp_path / "cache"))
    (ctx / "lib" / "util.py").write_text("X = 2\n")
    after = await build_image(request(ctx, cache_dir=tmp_path / "cache"))
    assert before.digest != after.digest
    assert before.manifest.layers[0] == after.manifest.layers[0]  # dependencies
    assert before.manifest.layers[1].digest != after.manifest.layers[1].digest  # app code


async def test_changing_requirements_changes_the_dependency_layer(tmp_path: Path, wheels: Path) -> None:
    make_wheel(wheels, version="2.0")
    ctx = _checkout(tmp_path / "svc", umask=0o022, mtime=1)
    before = await build_image(request(ctx))
    (ctx / "requirements.txt").write_text("tinypkg==2.0\n")
    after = await build_image(request(ctx))
    assert before.manifest.layers[0].digest != after.manifest.layers[0].digest


@pytest.mark.parametrize(
    "change",
    [
        {"version": "1.2.4"},
        {"revision": "f" * 40},
        {"created": "2026-02-01T00:00:00Z"},
        {"labels": {"team": "x"}},
    ],
)
async def test_every_request_field_reaches_the_digest(tmp_path: Path, change: dict[str, object]) -> None:
    ctx = write_tree(tmp_path / "svc", {"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "1"})
    base = request(ctx)
    other = BuildRequest(**{**base.__dict__, **change})  # type: ignore[arg-type]
    assert (await build_image(base)).digest != (await build_image(other)).digest
