"""``ferry cluster up``'s runtime options: process is the default, and only sim runs several nodes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ferry.cli import main


def test_more_than_one_node_needs_the_sim_runtime(tmp_path: Path) -> None:
    for runtime in ([], ["--runtime", "process"]):
        result = CliRunner().invoke(
            main, ["cluster", "up", "--data-dir", str(tmp_path / "c"), "--nodes", "3", *runtime]
        )
        assert result.exit_code == 1
        assert result.output == "Error: --nodes 3 needs --runtime sim (--runtime process runs one node)\n"
    assert not (tmp_path / "c").exists()  # refused before anything was created


def test_the_help_names_process_as_the_default_and_says_what_happens_without_root() -> None:
    out = " ".join(CliRunner().invoke(main, ["cluster", "up", "--help"]).output.split())
    assert "[default: process]" in out
    assert "NOT isolated" in out
