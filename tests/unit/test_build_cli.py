"""`ferry build`: options, output (text and JSON), git defaults, and one-line errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from ferry.cli import main

from .build_support import CREATED, REVISION, write_tree


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["build", *args])
    return result.exit_code, result.stdout, result.stderr


def _ctx(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "svc", {"Dockerfile": "FROM scratch\nCOPY a /a\nHEALTHCHECK CMD x\n", "a": "1"}
    )


def test_json_output_and_oci_layout(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    code, out, err = _run(
        str(ctx), "--version", "1.0.0", "--revision", REVISION, "--created", CREATED,
        "--output", f"oci:{tmp_path / 'layout'}", "--output-format", "json", "--no-cache",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["digest"].startswith("sha256:")
    assert report["base"] == "scratch"
    assert [layer["createdBy"] for layer in report["layers"]] == ["COPY a /a"]
    assert report["layers"][0]["size"] > 0
    assert report["output"] == {"layout": str(tmp_path / "layout"), "tag": "1.0.0-0123456"}
    assert report["warnings"][0].startswith("Dockerfile:3: HEALTHCHECK is ignored")
    index = json.loads((tmp_path / "layout" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == report["digest"]


def test_text_output_and_defaults_from_git(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    git = ["git", "-C", str(ctx), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(ctx)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    env = {"GIT_COMMITTER_DATE": "2026-01-02T03:04:05+02:00", "GIT_AUTHOR_DATE": "2026-01-02T03:04:05+02:00"}
    subprocess.run([*git, "commit", "-qm", "x"], check=True, env={**__import__("os").environ, **env})
    subprocess.run([*git, "remote", "add", "origin", "https://user:secret@example.com/shop.git"], check=True)
    sha = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    code, out, err = _run(
        str(ctx), "--version", "2.0.0", "--output-format", "json", "--cache-dir", str(tmp_path / "c")
    )
    assert code == 0, err
    code, text, _ = _run(str(ctx), "--version", "2.0.0", "--cache-dir", str(tmp_path / "c"))
    assert code == 0
    digest = json.loads(out)["digest"]
    assert text.splitlines()[0] == f"digest  {digest}"
    assert "COPY a /a" in text
    layout = tmp_path / "l"
    _run(str(ctx), "--version", "2.0.0", "--output", f"oci:{layout}", "--tag", "t1")
    manifest_hex = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_hex).read_text())
    config = json.loads(
        (layout / "blobs" / "sha256" / manifest["config"]["digest"].split(":")[1]).read_text()
    )
    labels = config["config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == sha
    assert labels["org.opencontainers.image.created"] == "2026-01-02T01:04:05Z"  # the commit time, in UTC
    assert labels["org.opencontainers.image.source"] == "https://example.com/shop.git"  # no credentials


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    ctx = write_tree(tmp_path / "svc", {"Dockerfile": "FROM scratch\nRUN make\n"})
    code, _, err = _run(
        str(ctx), "--version", "1", "--revision", REVISION, "--created", CREATED, "--no-cache"
    )
    assert code == 1
    assert err.startswith("error: Dockerfile:2: RUN is not supported")
    assert len(err.strip().splitlines()) == 1


def test_outside_git_without_revision_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = _run(str(_ctx(tmp_path)), "--version", "1")
    assert code == 2
    assert "not in a git repository: pass --revision SHA and --created TIME" in err


def test_bad_option_values(tmp_path: Path) -> None:
    ctx = str(_ctx(tmp_path))
    base = [ctx, "--version", "1", "--revision", REVISION, "--created", CREATED, "--no-cache"]
    code, _, err = _run(*base, "--output", "dir:/tmp/x")
    assert code == 2 and "must be oci:DIR" in err
    code, _, err = _run(*base, "--build-arg", "NOEQUALS")
    assert code == 2 and "'NOEQUALS' must be KEY=VALUE" in err
    code, _, err = _run(ctx, "--version", "1", "--revision", "abc", "--created", CREATED, "--no-cache")
    assert code == 1 and "revision 'abc' must be a full git commit SHA" in err
    code, _, err = _run(ctx, "--version", "1", "--revision", REVISION, "--created", "yesterday", "--no-cache")
    assert code == 1 and "created 'yesterday' must be an RFC 3339 time" in err
