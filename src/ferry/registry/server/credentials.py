"""Who may use the registry: password checks (htpasswd-style) and the HMAC-signed bearer tokens.

Password forms accepted in `RegistrySettings.users` values and in `--htpasswd FILE` lines (`user:<form>`):

- `pbkdf2_sha256$<iterations>$<salt>$<hash>`: PBKDF2-HMAC-SHA256, salt and hash base64 (what
  `hash_password` writes and `ferry registry passwd` prints; the recommended form);
- `{SHA}<base64 sha1>`: Apache's `htpasswd -s` form (unsalted: only for compatibility);
- anything else: the password in plain text.

bcrypt (`$2y$`, Distribution's only htpasswd form) needs a dependency ferry does not take: such a line is
rejected with a message saying which forms work. A successful check is cached in memory under a keyed hash
of the credentials, so Basic auth on every request does not pay PBKDF2 on every request.

Tokens are JWT-shaped (`header.claims.signature`, HS256) and signed with a 32-byte key kept in
`<data_dir>/token.key` (created on first start, mode 0600), so they stay valid across restarts. Claims:
`sub` (user), `exp` (unix seconds) and `access` (`[{type, name, actions}]`, Docker's token format). The
registry is the only party that reads them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.registry.server.durable import atomic_write

__all__ = ["Access", "TokenSigner", "Users", "hash_password", "load_htpasswd", "verify_password"]

_PBKDF2 = "pbkdf2_sha256"


def hash_password(password: str, *, iterations: int = 200_000, salt: bytes | None = None) -> str:
    """The salted form to put in a htpasswd file or in `RegistrySettings.users`."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{_PBKDF2}${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _check_form(stored: str) -> str | None:
    """None if `stored` is a usable form; else what is wrong with it."""
    if stored.startswith(("$2a$", "$2b$", "$2y$")):
        return "bcrypt hashes are not supported: use pbkdf2_sha256$... (ferry registry passwd), {SHA}... or plain"
    if stored.startswith(f"{_PBKDF2}$"):
        parts = stored.split("$")
        if len(parts) != 4 or not parts[1].isdigit():
            return f"malformed {_PBKDF2} hash: expected {_PBKDF2}$<iterations>$<salt>$<hash>"
    return None


def verify_password(stored: str, password: str) -> bool:
    """True if `password` matches the stored form (constant-time comparisons)."""
    if stored.startswith("{SHA}"):
        expected = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
        return hmac.compare_digest(stored[5:], expected)
    if stored.startswith(f"{_PBKDF2}$"):
        try:
            _, iterations, salt, digest = stored.split("$")
            actual = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
            return hmac.compare_digest(actual, base64.b64decode(digest))
        except ValueError:
            return False
    if _check_form(stored) is not None:
        return False
    return hmac.compare_digest(stored.encode(), password.encode())


def load_htpasswd(path: Path) -> dict[str, str]:
    """`user:<form>` lines (blank lines and `#` comments skipped). Raises ValueError naming file and line."""
    users: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not user or not stored:
            raise ValueError(f"{path}:{number}: expected user:password-hash")
        problem = _check_form(stored)
        if problem:
            raise ValueError(f"{path}:{number}: {problem}")
        users[user] = stored
    if not users:
        raise ValueError(f"{path}: no users (expected user:password-hash lines)")
    return users


class Users:
    """The configured users, with a cache of credentials already verified."""

    def __init__(self, users: dict[str, str]) -> None:
        for user, stored in users.items():
            problem = _check_form(stored)
            if problem:
                raise ValueError(f"user {user}: {problem}")
        self._users = dict(users)
        self._cache_key = secrets.token_bytes(32)
        self._verified: set[bytes] = set()

    def check(self, user: str, password: str) -> bool:
        stored = self._users.get(user)
        if stored is None:
            return False
        key = hmac.new(self._cache_key, f"{user}\0{password}\0{stored}".encode(), "sha256").digest()
        if key in self._verified:
            return True
        if not verify_password(stored, password):
            return False
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified.add(key)
        return True


@dataclass(frozen=True)
class Access:
    """One grant: `repository:shop/api:pull,push` → Access("repository", "shop/api", ("pull", "push"))."""

    type: str
    name: str
    actions: tuple[str, ...]

    @classmethod
    def parse(cls, scope: str) -> Access | None:
        # The name may hold a port-less registry path but never a colon, so split from both ends.
        kind, sep, rest = scope.partition(":")
        name, sep2, actions = rest.rpartition(":")
        if not sep or not sep2 or not kind or not name:
            return None
        return cls(kind, name, tuple(a for a in actions.split(",") if a))

    def allows(self, kind: str, name: str, action: str) -> bool:
        return self.type == kind and self.name == name and (action in self.actions or "*" in self.actions)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and verifies the registry's bearer tokens with the key in `<data_dir>/token.key`."""

    def __init__(self, data_dir: Path) -> None:
        path = data_dir / "token.key"
        if not path.exists():
            atomic_write(path, secrets.token_bytes(32), mode=0o600)
        self._key = path.read_bytes()

    def issue(self, subject: str, access: list[Access], ttl_seconds: int) -> tuple[str, int]:
        """A token and its issue time (unix seconds)."""
        now = int(time.time())
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "iss": "ferry-registry",
            "sub": subject,
            "iat": now,
            "exp": now + ttl_seconds,
            "access": [{"type": a.type, "name": a.name, "actions": list(a.actions)} for a in access],
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._key, signing_input.encode(), "sha256").digest()
        return f"{signing_input}.{_b64(signature)}", now

    def verify(self, token: str) -> list[Access] | None:
        """The token's grants, or None if it is forged, malformed or expired."""
        try:
            header, claims_b64, signature = token.split(".")
            expected = hmac.new(self._key, f"{header}.{claims_b64}".encode(), "sha256").digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                return None
            claims: dict[str, Any] = json.loads(_unb64(claims_b64))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
            return None
        return [
            Access(str(a.get("type")), str(a.get("name")), tuple(str(x) for x in a.get("actions", [])))
            for a in claims.get("access", [])
            if isinstance(a, dict)
        ]
