"""Applying OCI layers to a root filesystem: whiteouts, opaque directories, type changes, and untrusted input."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from ferry.cluster.kubelet.layers import LayerError, apply_layer

Entry = tuple[
    str, str, bytes | str
]  # (kind, name, data or link target); kind: file | dir | sym | link | fifo


def layer(tmp: Path, name: str, entries: list[Entry]) -> Path:
    path = tmp / f"{name}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for kind, member, data in entries:
            info = tarfile.TarInfo(member)
            info.mode = 0o755 if kind == "dir" else 0o644
            if kind == "file":
                assert isinstance(data, bytes)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "sym": tarfile.SYMTYPE,
                "link": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            if kind in ("sym", "link"):
                info.linkname = str(data)
            tar.addfile(info)
    return path


def tree(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_text()
    return out


def test_layers_stack_with_whiteouts_opaque_dirs_and_type_changes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    apply_layer(root, layer(tmp_path, "l1", [
        ("dir", "etc", b""), ("file", "etc/a", b"1"), ("file", "etc/b", b"2"),
        ("dir", "cache", b""), ("file", "cache/x", b"x"), ("file", "cache/y", b"y"),
        ("dir", "data", b""), ("file", "data/keep", b"k"), ("file", "swap", b"file"),
        ("sym", "bin/sh", "/bin/busybox"), ("file", "bin/busybox", b"bb"),
    ]))  # fmt: skip
    apply_layer(root, layer(tmp_path, "l2", [
        ("file", "etc/.wh.a", b""),            # delete etc/a
        ("file", "cache/.wh..wh..opq", b""),   # empty cache/ of the lower layer...
        ("file", "cache/z", b"z"),             # ...but keep this layer's own entry
        ("dir", "swap", b""), ("file", "swap/inside", b"now a dir"),  # a file becomes a directory
        ("file", "data", b"now a file"),       # a directory becomes a file
        ("file", "bin/sh", b"a real file"),    # a symlink is replaced, not written through
    ]))  # fmt: skip
    assert tree(root) == {
        "etc": "dir",
        "etc/b": "2",
        "cache": "dir",
        "cache/z": "z",
        "swap": "dir",
        "swap/inside": "now a dir",
        "data": "now a file",
        "bin": "dir",
        "bin/sh": "a real file",
        "bin/busybox": "bb",
    }
    assert (tmp_path / "l1.tar.gz").exists()  # the source layers are untouched


def test_absolute_symlinks_are_kept_for_the_container(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    apply_layer(root, layer(tmp_path, "l", [("sym", "usr/bin/python3", "/usr/local/bin/python3.11")]))
    assert os.readlink(root / "usr/bin/python3") == "/usr/local/bin/python3.11"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("file", "../escape", b"x")], "'..' in its path"),
        ([("file", "a/../../escape", b"x")], "'..' in its path"),
        ([("sym", "evil", "/tmp"), ("file", "evil/owned", b"x")], "refused member"),
        ([("sym", "etc", "/etc"), ("link", "hard", "etc/passwd")], "leaves the root filesystem"),
        ([("fifo", "pipe", b"")], "is a device or fifo"),
    ],
)
def test_members_that_would_escape_are_refused(tmp_path: Path, entries: list[Entry], message: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "escape"
    with pytest.raises(LayerError, match=message) as err:
        apply_layer(root, layer(tmp_path, "bad", entries), label="sha256:bad")
    assert str(err.value).startswith("layer sha256:bad: ")
    assert not outside.exists()
    assert not Path("/tmp/owned").exists()


def test_a_hard_link_never_reaches_a_host_file(tmp_path: Path) -> None:
    # An absolute hard-link target names a path in the image, not on the host: here there is none.
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(LayerError, match=r"hard link target linkname 'etc/passwd' not found"):
        apply_layer(root, layer(tmp_path, "l", [("link", "hard", "/etc/passwd")]))
    assert not (root / "hard").exists()
    apply_layer(
        root, layer(tmp_path, "m", [("file", "etc/passwd", b"image"), ("link", "hard2", "/etc/passwd")])
    )
    assert (root / "hard2").read_text() == "image"


def test_a_corrupt_layer_is_one_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(LayerError, match=r"^layer bad.tar.gz: cannot unpack"):
        apply_layer(tmp_path, bad)
