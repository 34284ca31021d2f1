"""Pseudonyms for authors and salted hashes for takedowns.

The salt comes from $ECHO_PSEUDONYM_SALT; when unset, a random salt is generated once and kept in
<data_dir>/.pseudonym_salt (mode 0600). That file is never copied into a release or an export. Keep it:
with a new salt, every pseudonym changes (so the next release differs) and older takedowns no longer match.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from echo.config import Config

SALT_ENV = "ECHO_PSEUDONYM_SALT"
SALT_FILE = ".pseudonym_salt"


def salt_path(config: Config) -> Path:
    return config.path("data_dir") / SALT_FILE


def load_salt(config: Config) -> bytes:
    env = os.environ.get(SALT_ENV)
    if env:
        return env.encode("utf-8")
    p = salt_path(config)
    if p.exists():
        value = p.read_text(encoding="utf-8").strip()
        if not value:
            raise RuntimeError(f"{p} is empty: restore it from a backup or set {SALT_ENV}")
        return value.encode("utf-8")
    p.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: two processes starting at once must not write two different salts.
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_salt(config)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return value.encode("utf-8")


def keyed_hash(salt: bytes, *parts: object) -> str:
    msg = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return hmac.new(salt, msg, hashlib.sha256).hexdigest()


def normalize_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


class Pseudonymizer:
    """Maps (platform, handle) to a stable pseudonym like 'u_3fa1c2...'; the same salt gives the same name."""

    def __init__(self, salt: bytes):
        self.salt = salt
        self._names: dict[tuple[str | None, str], str] = {}  # a release names each author many times

    def __call__(self, platform: str | None, handle: str | None) -> str | None:
        if not handle:
            return None
        name = self._names.get((platform, handle))
        if name is None:
            name = self._names[(platform, handle)] = (
                "u_" + keyed_hash(self.salt, "author", platform or "", normalize_handle(handle))[:16])
        return name

    def sample_hash(self, sample_id: str) -> str:
        return keyed_hash(self.salt, "sample", sample_id)
