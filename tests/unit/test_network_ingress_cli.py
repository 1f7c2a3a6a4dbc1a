"""``ferry cluster up --ingress`` and the ingress line of ``ferry cluster status``'s helpers."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ferry.cli import main
from ferry.cli.cluster import _ingress_port, _ingress_url


def test_the_ingress_port_option() -> None:
    assert _ingress_port("auto", 6443, "process") == 8080
    assert _ingress_port("auto", 0, "process") == 0  # --listen asks for any port: so does the ingress
    assert _ingress_port("9090", 0, "process") == 9090
    assert _ingress_port("off", 6443, "process") is None
    assert _ingress_port("auto", 6443, "sim") is None  # sim pods have no processes to route to
    for bad in ("80000", "http", "-1"):
        with pytest.raises(click.BadParameter):
            _ingress_port(bad, 6443, "process")


def test_an_explicit_ingress_port_needs_the_process_runtime(tmp_path: Path) -> None:
    args = ["cluster", "up", "--data-dir", str(tmp_path), "--runtime", "sim", "--ingress", "8081"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "the ingress routes to pods of --runtime process, not sim" in result.output
    assert not (tmp_path / "cluster.json").exists()


def test_the_ingress_url_comes_from_the_controllers_file(tmp_path: Path) -> None:
    assert _ingress_url(tmp_path) is None
    network = tmp_path / "kubelet" / "network"
    network.mkdir(parents=True)
    (network / "ingress.json").write_text("{broken")
    assert _ingress_url(tmp_path) is None
    (network / "ingress.json").write_text(
        json.dumps({"host": "127.0.0.1", "port": 8080, "url": "http://127.0.0.1:8080"})
    )
    assert _ingress_url(tmp_path) == "http://127.0.0.1:8080"
