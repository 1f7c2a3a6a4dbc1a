"""COPY/ADD against a real context: what lands where, and the errors for bad sources."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ferry.build import BuildError, build_image

from .build_support import config_of, request, tar_file, tar_members, write_tree


async def _build(ctx: Path, dockerfile: str) -> dict[str, object]:
    (ctx / "Dockerfile").write_text(dockerfile)
    image = await build_image(request(ctx))
    members: dict[str, object] = {}
    for layer in image.manifest.layers:
        members.update(tar_members(image.blobs[layer.digest]))
    return members


async def test_file_directory_wildcard_and_rename_destinations(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"app.py": "", "lib/a.py": "", "lib/sub/b.py": "", "x.txt": "", "y.txt": "", "z.md": ""}
    )
    members = await _build(
        tmp_path,
        "FROM scratch\nWORKDIR /srv\nCOPY app.py .\nCOPY lib /srv/pkg\nCOPY *.txt docs/\nCOPY z.md /etc/renamed.md\n",
    )
    assert {
        "srv/app.py",
        "srv/pkg/a.py",
        "srv/pkg/sub/b.py",
        "srv/docs/x.txt",
        "srv/docs/y.txt",
        "etc/renamed.md",
    } <= set(members)
    assert "srv/lib" not in members  # a directory's contents are copied, not the directory


async def test_copy_dot_copies_the_context_minus_dockerignore_and_defaults(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a.py": "",
            ".dockerignore": "secret.env\n",
            "secret.env": "",
            ".git/HEAD": "",
            "p/__pycache__/a.pyc": "",
        },
    )
    members = await _build(tmp_path, "FROM scratch\nCOPY . /app/\n")
    assert {"app/a.py", "app/Dockerfile", "app/.dockerignore"} <= set(members)
    assert not {"app/secret.env", "app/.git", "app/p/__pycache__"} & set(members)


async def test_chown_and_chmod_apply_to_copied_entries(tmp_path: Path) -> None:
    write_tree(tmp_path, {"run.sh": "#!/bin/sh\n"})
    members = await _build(tmp_path, "FROM scratch\nCOPY --chown=1000:1001 --chmod=0750 run.sh /bin/run\n")
    member = members["bin/run"]
    assert (member.uid, member.gid, member.mode) == (1000, 1001, 0o750)  # type: ignore[attr-defined]


async def test_each_copy_is_one_layer_and_history_follows_instruction_order(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a": "1", "b": "2"})
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY a /a\nENV X=1\nCOPY b /b\n")
    image = await build_image(request(tmp_path))
    assert len(image.manifest.layers) == 2
    assert tar_file(image.blobs[image.manifest.layers[1].digest], "b") == b"2"
    history = [h["created_by"] for h in config_of(image)["history"]]
    assert history == ["COPY a /a", "ENV X=1", "COPY b /b"]


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        ("FROM scratch\nCOPY missing.txt /x\n", "Dockerfile:2: COPY source 'missing.txt' not found in the build context"),
        ("FROM scratch\nCOPY ../outside /x\n", "Dockerfile:2: COPY source '../outside' is outside the build context"),
        ("FROM scratch\nCOPY *.nothing /x/\n", "Dockerfile:2: COPY source '*.nothing' matches no file in the build context"),
        ("FROM scratch\nADD secret.env /x\n", "Dockerfile:2: ADD source 'secret.env' is excluded by .dockerignore"),
    ],
)  # fmt: skip
async def test_bad_sources_are_one_line_errors(tmp_path: Path, dockerfile: str, message: str) -> None:
    write_tree(tmp_path, {"secret.env": "", ".dockerignore": "*.env\n"})
    (tmp_path / "Dockerfile").write_text(dockerfile)
    with pytest.raises(BuildError) as exc:
        await build_image(request(tmp_path))
    assert str(exc.value) == message


async def test_symlinks_are_copied_as_symlinks_and_never_followed_out_of_the_context(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    ctx = write_tree(tmp_path / "ctx", {"real.txt": "r"})
    os.symlink(str(outside), ctx / "escape")
    members = await _build(ctx, "FROM scratch\nCOPY . /app/\n")
    assert members["app/escape"].issym()  # type: ignore[attr-defined]
