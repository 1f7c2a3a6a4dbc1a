"""Reproducible layers: the tar and gzip bytes depend on the entries only, never on the machine or the checkout."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from ferry.build import BuildError
from ferry.build.ignore import Ignore
from ferry.build.layers import Entry, build_layer, collect_tree, gzip_bytes, tar_bytes

from .build_support import touch_all, write_tree


def _tree(root: Path, *, mode_bits: int) -> Path:
    write_tree(root, {"b.txt": "b", "a/run.sh": "#!/bin/sh\n", "a/z.txt": "z", "c/d/e.txt": "e"})
    (root / "a" / "run.sh").chmod(0o700 | mode_bits)
    (root / "b.txt").chmod(0o600 | (mode_bits & 0o066))
    os.symlink("a/z.txt", root / "link")
    return root


def test_same_files_with_other_mtimes_modes_and_umask_give_the_same_layer(tmp_path: Path) -> None:
    one = _tree(tmp_path / "one", mode_bits=0o000)
    touch_all(one, 1_000_000)
    old = os.umask(0o077)
    try:
        two = _tree(tmp_path / "elsewhere" / "two", mode_bits=0o055)
    finally:
        os.umask(old)
    touch_all(two, 1_700_000_000)
    l1 = build_layer(collect_tree(one, "app"), created_by="x")
    l2 = build_layer(collect_tree(two, "app"), created_by="x")
    assert l1.digest == l2.digest
    assert l1.diff_id == l2.diff_id


def test_tar_headers_are_normalised(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ctx", mode_bits=0)
    raw = tar_bytes(collect_tree(root, "app"))
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names[:3] == ["app", "app/a", "app/a/run.sh"]  # parents first, and added when missing
    by_name = {m.name: m for m in members}
    for m in members:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (0, 0, 0, "", "")
    assert by_name["app/a/run.sh"].mode == 0o755
    assert by_name["app/b.txt"].mode == 0o644
    assert by_name["app/c"].isdir() and by_name["app/c"].mode == 0o755
    assert by_name["app/link"].issym() and by_name["app/link"].linkname == "a/z.txt"
    assert raw[257:263] == b"ustar\x00"  # POSIX header; PAX records only when a field needs one


def test_gzip_has_no_timestamp_and_no_file_name() -> None:
    blob = gzip_bytes(b"hello")
    assert blob[4:8] == b"\x00\x00\x00\x00"  # MTIME
    assert blob[3] & 0x08 == 0  # no FNAME flag
    assert gzip.decompress(blob) == b"hello"


def test_digests_are_of_compressed_and_uncompressed_bytes() -> None:
    import hashlib

    layer = build_layer([Entry("x", "file", 0o644, data=b"1")], created_by="test")
    assert isinstance(layer.blob, bytes)
    assert layer.digest == "sha256:" + hashlib.sha256(layer.blob).hexdigest()
    assert layer.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(layer.blob)).hexdigest()
    assert layer.size == len(layer.blob)


def test_later_entry_for_a_path_wins_and_ownership_is_kept() -> None:
    raw = tar_bytes(
        [Entry("x", "file", 0o644, data=b"old"), Entry("x", "file", 0o600, data=b"new", uid=7, gid=8)]
    )
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        member = tar.getmember("x")
        data = tar.extractfile(member).read()  # type: ignore[union-attr]
    assert (data, member.mode, member.uid, member.gid) == (b"new", 0o600, 7, 8)


def test_a_file_used_as_a_directory_is_an_error() -> None:
    with pytest.raises(BuildError, match="'a' is both a file and a directory"):
        tar_bytes([Entry("a", "file", 0o644, data=b""), Entry("a/b", "file", 0o644, data=b"")])


def test_collect_tree_applies_ignore_relative_to_the_context(tmp_path: Path) -> None:
    write_tree(tmp_path, {"src/a.py": "", "src/secret.env": "", "src/__pycache__/a.pyc": "", "docs/x.md": ""})
    entries = collect_tree(
        tmp_path / "src", "app", ignore=Ignore(["**/*.env", "**/__pycache__"]), rel_prefix="src"
    )
    assert [e.path for e in entries] == ["app/a.py"]


def test_collect_tree_walks_into_excluded_directories_when_an_exception_may_apply(tmp_path: Path) -> None:
    write_tree(tmp_path, {"docs/keep.md": "", "docs/drop.md": ""})
    entries = collect_tree(tmp_path, "", ignore=Ignore(["docs", "!docs/keep.md"]))
    assert [e.path for e in entries] == ["docs/keep.md"]
