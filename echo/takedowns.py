"""Takedown keys: salted hashes of forgotten posts, URLs and authors, which no crawl or import stores again.

`echo-bench forget` (echo.release.forget) records the keys; the crawl stage and `echo-bench import` check
every post against them before storing it. Only salted hashes are kept, never the post or the handle.
"""

from __future__ import annotations

from echo.config import Config
from echo.privacy import keyed_hash, load_salt, normalize_handle
from echo.store import Store


def key(salt: bytes, kind: str, value: str) -> str:
    return keyed_hash(salt, "takedown", kind, value)


def post_key(salt: bytes, platform: str, post_id: str) -> str:
    return key(salt, "post", f"{platform}:{post_id}")


def candidate_keys(salt: bytes, platform: str | None, post_id: str | None, author: str | None = None,
                   url: str | None = None, author_id: str | None = None) -> list[str]:
    """Every key under which a post could have been forgotten: its id, its URL, its author's handle or id."""
    keys = []
    if platform and post_id:
        keys.append(post_key(salt, platform, str(post_id)))
    if url:
        keys.append(key(salt, "url", url.strip()))
    if author:
        keys.append(key(salt, "author", normalize_handle(author)))
    if author_id:
        keys.append(key(salt, "author_id", str(author_id)))
    return keys


def _has_table(store: Store) -> bool:
    return bool(store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'takedowns'"))


def is_taken_down(store: Store, platform: str | None, post_id: str | None, author: str | None = None, *,
                  url: str | None = None, author_id: str | None = None, config: Config | None = None,
                  salt: bytes | None = None) -> bool:
    """True when a post (platform + id, or its URL) or its author (handle or id) was forgotten.

    Pass `config` (or `salt`) so the salt can be found; without either, the default config is loaded.
    One indexed lookup per call; for many posts use TakedownFilter.
    """
    if salt is None:
        if config is None:
            from echo.config import load_config

            config = load_config()
        salt = load_salt(config)
    if not _has_table(store):
        return False
    keys = candidate_keys(salt, platform, post_id, author, url, author_id)
    if not keys:
        return False
    return bool(store.scalar("SELECT count(*) FROM takedowns WHERE key_hash IN (SELECT unnest(?))", [keys]))


class TakedownFilter:
    """is_taken_down for a whole crawl: the keys are read once, each check is a set lookup.

    `skip = takedown_filter(store, config)`, then `skip(platform, post_id, author, url=..., author_id=...)`.
    """

    def __init__(self, salt: bytes, keys: set[str]):
        self.salt = salt
        self.keys = keys

    def __call__(self, platform: str | None, post_id: str | None, author: str | None = None, *,
                 url: str | None = None, author_id: str | None = None) -> bool:
        return bool(self.keys) and any(
            k in self.keys for k in candidate_keys(self.salt, platform, post_id, author, url, author_id))


def takedown_filter(store: Store, config: Config) -> TakedownFilter:
    keys = {r["key_hash"] for r in store.query("SELECT key_hash FROM takedowns")} if _has_table(store) else set()
    return TakedownFilter(load_salt(config), keys)
