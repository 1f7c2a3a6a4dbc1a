"""Carrying out COPY/ADD against the build context: sources resolved, checked and turned into layer entries.

Rules (Docker's, except where noted):
- sources are relative to the context; a source that leaves it (`../x`, or an absolute path outside it after
  joining) is an error, as is a source that does not exist or that `.dockerignore` excludes;
- wildcards (`*`, `?`, `[...]`) match within one path component, like Go's `filepath.Match`; no match is an error;
- a directory source copies its *contents* into the destination; a file goes to `dest` itself, or to
  `dest/<name>` when `dest` ends with `/`;
- symlinks inside copied directories stay symlinks; a symlink given as a source is copied as a symlink too
  (Docker follows it; ferry does not, so nothing outside the context can leak into an image).
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from ferry.build.ignore import Ignore
from ferry.build.instructions import CopyStep
from ferry.build.layers import Entry, collect_tree, file_entry

__all__ = ["copy_entries"]


def _resolve(step: CopyStep, context: Path, src: str, ignore: Ignore) -> list[str]:
    """Context-relative posix paths this source names (sorted)."""
    clean = posixpath.normpath(src.lstrip("/")) if src.strip("/") else "."
    if clean == ".." or clean.startswith("../"):
        raise step.instr.error(f"{step.instr.keyword} source {src!r} is outside the build context")
    if any(c in clean for c in "*?["):
        matches = sorted(
            p.relative_to(context).as_posix()
            for p in context.glob(clean)
            if not ignore.excluded(p.relative_to(context).as_posix())
        )
        if not matches:
            raise step.instr.error(
                f"{step.instr.keyword} source {src!r} matches no file in the build context"
            )
        return matches
    path = context / clean
    if not (path.exists() or path.is_symlink()):
        raise step.instr.error(f"{step.instr.keyword} source {src!r} not found in the build context")
    if clean != "." and ignore.excluded(clean):
        raise step.instr.error(f"{step.instr.keyword} source {src!r} is excluded by .dockerignore")
    return [clean]


def copy_entries(step: CopyStep, context: Path, ignore: Ignore) -> list[Entry]:
    """The layer entries of one COPY/ADD step."""
    out: list[Entry] = []
    dest = step.dest
    for src in step.sources:
        for rel in _resolve(step, context, src, ignore):
            path = context / rel
            if path.is_dir() and not path.is_symlink():
                target = dest.rstrip("/")
                if target:
                    out.append(
                        Entry(target.lstrip("/"), "dir", step.chmod or 0o755, uid=step.uid, gid=step.gid)
                    )
                out += collect_tree(
                    path,
                    target,
                    ignore=ignore,
                    rel_prefix="" if rel == "." else rel,
                    uid=step.uid,
                    gid=step.gid,
                    chmod=step.chmod,
                )
                continue
            target = posixpath.join(dest, posixpath.basename(rel)) if step.dest_is_dir else dest
            entry = file_entry(target.lstrip("/"), path, uid=step.uid, gid=step.gid, chmod=step.chmod)
            if entry is None:
                raise step.instr.error(
                    f"{step.instr.keyword} source {rel!r} is not a regular file or directory"
                )
            out.append(entry)
    return out
