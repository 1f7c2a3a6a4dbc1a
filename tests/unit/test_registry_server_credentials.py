"""Password forms, htpasswd files and the HMAC-signed bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

import pytest

from ferry.registry.server.credentials import (
    Access,
    TokenSigner,
    Users,
    hash_password,
    load_htpasswd,
    verify_password,
)


def test_pbkdf2_form_round_trips_and_is_salted() -> None:
    one, two = hash_password("s3cret", iterations=1000), hash_password("s3cret", iterations=1000)
    assert one != two
    assert verify_password(one, "s3cret") and verify_password(two, "s3cret")
    assert not verify_password(one, "s3cret ")


def test_sha_form_and_plain() -> None:
    sha = "{SHA}" + base64.b64encode(hashlib.sha1(b"pw").digest()).decode()
    assert verify_password(sha, "pw") and not verify_password(sha, "other")
    assert verify_password("plain-pw", "plain-pw") and not verify_password("plain-pw", "plain")


def test_htpasswd_file(tmp_path: Path) -> None:
    f = tmp_path / "htpasswd"
    f.write_text(f"# users\n\nalice:{hash_password('a', iterations=1000)}\nbob:bobpw\n")
    users = Users(load_htpasswd(f))
    assert users.check("alice", "a") and users.check("alice", "a")  # second from the cache
    assert users.check("bob", "bobpw")
    assert not users.check("alice", "b") and not users.check("carol", "a")


def test_htpasswd_rejects_bcrypt_naming_the_line(tmp_path: Path) -> None:
    f = tmp_path / "htpasswd"
    f.write_text("alice:plain\nbob:$2y$05$abcdefghijklmnopqrstuv\n")
    with pytest.raises(ValueError, match=r"htpasswd:2: bcrypt hashes are not supported"):
        load_htpasswd(f)


def test_htpasswd_rejects_a_line_without_colon(tmp_path: Path) -> None:
    f = tmp_path / "htpasswd"
    f.write_text("alice\n")
    with pytest.raises(ValueError, match=r"htpasswd:1: expected user:password-hash"):
        load_htpasswd(f)


def test_scope_parsing() -> None:
    assert Access.parse("repository:shop/api:pull,push") == Access("repository", "shop/api", ("pull", "push"))
    assert Access.parse("registry:catalog:*") == Access("registry", "catalog", ("*",))
    assert Access.parse("garbage") is None
    assert Access("repository", "a", ("*",)).allows("repository", "a", "delete")
    assert not Access("repository", "a", ("pull",)).allows("repository", "a", "push")
    assert not Access("repository", "a", ("pull",)).allows("repository", "b", "pull")


def test_tokens_verify_survive_a_new_signer_and_reject_tampering(tmp_path: Path) -> None:
    signer = TokenSigner(tmp_path)
    token, _ = signer.issue("alice", [Access("repository", "shop/api", ("pull",))], 60)
    assert TokenSigner(tmp_path).verify(token) == [Access("repository", "shop/api", ("pull",))]
    header, claims, sig = token.split(".")
    forged_claims = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(claims + "==").replace(b"pull", b"push")
    ).rstrip(b"=")
    assert signer.verify(f"{header}.{forged_claims.decode()}.{sig}") is None
    assert TokenSigner(tmp_path / "other").verify(token) is None
    assert signer.verify("not-a-token") is None
    assert (tmp_path / "token.key").stat().st_mode & 0o777 == 0o600


def test_expired_token_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    signer = TokenSigner(tmp_path)
    token, _ = signer.issue("alice", [], 10)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 11)
    assert signer.verify(token) is None
