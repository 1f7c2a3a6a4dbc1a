"""`ferry registry gc|serve|passwd` from the command line: reports, one-line errors, exit codes."""

from __future__ import annotations

import signal
from pathlib import Path

from click.testing import CliRunner

from ferry.cli import main
from ferry.registry.oci import digest_of
from ferry.registry.server.runner import data_lock
from ferry.registry.server.storage import Storage
from tests.integration.registry_support import Served


def _run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_gc_dry_run_then_real(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    storage.write_blob(digest_of(b"orphan"), b"orphan")
    code, out, _ = _run("registry", "gc", "--data-dir", str(tmp_path), "--dry-run")
    assert code == 0 and "would delete 0 manifests, 1 blobs (6 bytes)" in out
    assert storage.blob_size(digest_of(b"orphan")) == 6
    code, out, _ = _run("registry", "gc", "--data-dir", str(tmp_path))
    assert code == 0 and "deleted 0 manifests, 1 blobs (6 bytes)" in out
    assert storage.blob_size(digest_of(b"orphan")) is None


def test_gc_under_a_live_registry_is_one_error_line(tmp_path: Path) -> None:
    holder = data_lock(tmp_path, "start the registry")
    try:
        code, _, err = _run("registry", "gc", "--data-dir", str(tmp_path))
    finally:
        holder.close()
    assert code == 1
    assert err.startswith("error: cannot collect garbage:") and err.count("\n") == 1


def test_serve_with_a_bcrypt_htpasswd_names_the_line(tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("alice:$2y$05$0123456789012345678901\n")
    code, _, err = _run("registry", "serve", "--data-dir", str(tmp_path / "d"), "--htpasswd", str(htpasswd))
    assert code == 1
    assert (
        err == f"error: {htpasswd}:1: bcrypt hashes are not supported: use pbkdf2_sha256$... "
        "(ferry registry passwd), {SHA}... or plain\n"
    )
    assert not (tmp_path / "d").exists()


def test_serve_rejects_a_bad_listen_address(tmp_path: Path) -> None:
    code, _, err = _run("registry", "serve", "--data-dir", str(tmp_path), "--listen", "nowhere")
    assert code == 2 and "expected HOST:PORT" in err


def test_passwd_prints_a_line_the_server_accepts(tmp_path: Path) -> None:
    from ferry.registry.server.credentials import Users, load_htpasswd

    code, out, _ = _run("registry", "passwd", "alice", "--password-stdin", input="s3cret\n")
    assert code == 0 and out.startswith("alice:pbkdf2_sha256$")
    (tmp_path / "htpasswd").write_text(out)
    users = Users(load_htpasswd(tmp_path / "htpasswd"))
    assert users.check("alice", "s3cret") and not users.check("alice", "s3cret\n")


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    served = Served(tmp_path / "data")
    try:
        assert served.request("GET", "/v2/")[0] == 200
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=30) == 0
        assert served.proc.stdout is not None and "ferry registry stopped" in served.proc.stdout.read()
    finally:
        served.kill9()  # closes the pipes; a no-op signal-wise once it exited
    data_lock(tmp_path / "data", "check the lock").close()  # released
