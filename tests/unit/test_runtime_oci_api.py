"""The runtime package's public surface: a curated ``__all__`` that exists, and the Protocol both runtimes meet."""

from __future__ import annotations

from pathlib import Path

import pytest

import ferry.cluster.kubelet.runtime as runtime
from ferry.cluster.kubelet.runtime import ContainerRuntime, ProcessRuntime, choose_runtime


def test_all_names_exist_and_are_sorted() -> None:
    assert runtime.__all__ == sorted(runtime.__all__)
    missing = [n for n in runtime.__all__ if not hasattr(runtime, n)]
    assert missing == []


def test_both_runtimes_have_the_protocol_methods(tmp_path: Path) -> None:
    methods = ["describe", "create", "start", "state", "kill", "wait", "delete", "exec_sync", "list"]
    for cls in (runtime.RuncRuntime, runtime.ProcessRuntime):
        assert [m for m in methods if not callable(getattr(cls, m, None))] == [], cls
    process: ContainerRuntime = ProcessRuntime(tmp_path / "p", use_cgroups=False)
    assert process.name == "process" and "NOT isolated" in process.describe()
    assert "no resource limits" in process.describe()


def test_choose_runtime_refuses_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown runtime 'docker'"):
        choose_runtime(tmp_path, prefer="docker")
