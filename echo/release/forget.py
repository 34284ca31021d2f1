"""Takedowns: remove a post or an author from the database and the media store, and keep a salted hash
so later crawls and imports do not bring it back (echo.takedowns).

Frozen release folders are immutable and are not rewritten; the next release drops the data and its
changelog counts the removal ("1 sample removed by takedown") without naming it.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from echo.config import Config
from echo.privacy import Pseudonymizer, load_salt, normalize_handle
from echo import takedowns
from echo.store import Store

log = logging.getLogger("echo.release")


class ForgetError(ValueError):
    pass


def _table_exists(store: Store, name: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]))


def taken_down_checker(store: Store, pseudonymize: Pseudonymizer) -> Callable[[str], bool]:
    """sample_id -> was it removed by a takedown (matched by salted hash, the id itself is not stored)."""
    hashes = set()
    if _table_exists(store, "takedowns"):
        for r in store.query("SELECT unnest(removed_samples) AS h FROM takedowns"):
            hashes.add(r["h"])
    return lambda sid: pseudonymize.sample_hash(sid) in hashes


@dataclass
class ForgetResult:
    posts: list[tuple[str, str]] = field(default_factory=list)
    counts: collections.Counter = field(default_factory=collections.Counter)
    keys_recorded: int = 0
    # what identifies the removed data in files derived from the database (reports): texts, prompts, URLs,
    # ids and handles; kept in memory only
    traces: set[str] = field(default_factory=set)


def _text_hashes(texts: list[str]) -> list[str]:
    """Keys under which the embeddings cache may hold these texts: the dedup area's key
    (text_hash of normalize_for_embedding, and of exact_dedup_text), plus plain sha256 forms as a fallback."""
    from echo.dedup.normalize import exact_dedup_text, normalize_for_embedding, text_hash

    out: set[str] = set()
    for t in texts:
        if not t:
            continue
        for v in {t, t.strip(), normalize_for_embedding(t), exact_dedup_text(t)}:
            if v:
                full = hashlib.sha256(v.encode("utf-8")).hexdigest()
                out.update((full, full[:32], text_hash(v)))
    return sorted(out)


def _find_posts(store: Store, post: str | None, platform: str | None, author: str | None) -> list[dict]:
    where, params = [], []
    if post:
        where.append("(url = ? OR post_id = ?)")
        params += [post.strip(), post.strip()]
    if author:
        where.append("(lower(ltrim(author, '@')) = ? OR author_id = ?)")
        params += [normalize_handle(author), author.strip()]
    sql = "SELECT platform, post_id, url, author, author_id, text FROM posts WHERE (" + " OR ".join(where) + ")"
    if platform:
        sql += " AND platform = ?"
        params.append(platform)
    return store.query(sql, params)


def forget(store: Store, config: Config, *, post: str | None = None, author: str | None = None,
           platform: str | None = None, reason: str | None = None, delete_files: bool = True) -> ForgetResult:
    """Remove a post (URL or id) and/or every post of an author, with everything derived from them.

    delete_files=False leaves the media store alone (for copies of the database, such as analyst snapshots).
    """
    if not post and not author:
        raise ForgetError("forget needs --post URL|ID and/or --author HANDLE")
    salt = load_salt(config)
    pseudo = Pseudonymizer(salt)
    res = ForgetResult()
    posts = _find_posts(store, post, platform, author)
    res.posts = sorted((p["platform"], p["post_id"]) for p in posts)
    keys = [(p, "post") for p in (takedowns.post_key(salt, pl, pid) for pl, pid in res.posts)]
    if post:
        keys.append((takedowns.key(salt, "url", post.strip()), "url"))
    if author:
        keys.append((takedowns.key(salt, "author", normalize_handle(author)), "author"))
        for aid in sorted({p["author_id"] for p in posts if p["author_id"]}):
            keys.append((takedowns.key(salt, "author_id", aid), "author_id"))
        for handle in sorted({p["author"] for p in posts if p["author"]}):
            keys.append((takedowns.key(salt, "author", normalize_handle(handle)), "author"))

    media_dir = config.path("media_dir")
    with store.transaction():
        pkeys = [f"{pl}\x1f{pid}" for pl, pid in res.posts]
        store.execute("CREATE OR REPLACE TEMP TABLE _forget_posts AS SELECT split_part(k, chr(31), 1) AS platform, "
                      "split_part(k, chr(31), 2) AS post_id FROM (SELECT unnest(?::VARCHAR[]) AS k)", [pkeys])
        sample_rows = store.query(
            "SELECT DISTINCT s.sample_id, s.prompt FROM samples s, _forget_posts f WHERE s.platform = f.platform AND "
            "(list_contains(s.evidence_post_ids, f.post_id) OR s.anchor_post_id = f.post_id)")
        sids = sorted(r["sample_id"] for r in sample_rows)
        urls = sorted(r["url"] for r in store.query(
            "SELECT DISTINCT m.url FROM post_media m JOIN _forget_posts f USING (platform, post_id)"))
        texts = [p["text"] for p in posts] + [r["prompt"] for r in sample_rows]
        res.traces.update(t for t in texts if t)
        res.traces.update(v for p in posts for v in (p["url"], p["post_id"], p["author"], p["author_id"]) if v)
        res.traces.update(sids)

        c = res.counts
        in_posts = "(platform, post_id) IN (SELECT platform, post_id FROM _forget_posts)"
        c["post_media"] += store.delete("post_media", in_posts)
        c["relevance"] += store.delete("relevance", in_posts)
        c["feedback"] += store.delete("feedback", in_posts)
        # Media still used by a remaining post or sample stays.
        still_used = {r["url"] for r in store.query(
            "SELECT url FROM post_media WHERE url IN (SELECT unnest(?::VARCHAR[])) UNION "
            "SELECT unnest(input_media) FROM samples WHERE sample_id NOT IN (SELECT unnest(?::VARCHAR[])) UNION "
            "SELECT unnest(output_media) FROM samples WHERE sample_id NOT IN (SELECT unnest(?::VARCHAR[]))",
            [urls, sids, sids])}
        drop_urls = [u for u in urls if u not in still_used]
        # crops cut from a dropped screenshot go with it
        drop_urls += [r["url"] for r in store.query(
            "SELECT url FROM media WHERE parent_url IN (SELECT unnest(?::VARCHAR[]))", [drop_urls])]
        if sids:
            sid_list = "(SELECT unnest(?::VARCHAR[]))"
            c["feedback"] += store.delete("feedback", f"sample_id IN {sid_list}", [sids])
            c["image_roles"] += store.delete("image_roles", f"sample_id IN {sid_list}", [sids])
            c["clusters"] += store.delete("clusters", f"sample_id IN {sid_list}", [sids])
            _repair_duplicate_groups(store, sids, c)
            c["samples"] += store.delete("samples", f"sample_id IN {sid_list}", [sids])
        text_keys = _text_hashes(texts)
        if text_keys:
            c["embeddings"] += store.delete("embeddings", "text_hash IN (SELECT unnest(?::VARCHAR[]))", [text_keys])
        files = store.query("SELECT DISTINCT path, thumb_path FROM media WHERE url IN (SELECT unnest(?::VARCHAR[]))",
                            [drop_urls])
        c["media"] += store.delete("media", "url IN (SELECT unnest(?::VARCHAR[]))", [drop_urls])
        c["posts"] += store.delete("posts", in_posts)
        # Replies and quotes by others keep their tree shape, but every link names a salted stand-in, not the post.
        for pl, pid in res.posts:
            _replace_links(store, pl, pid, "removed:" + takedowns.post_key(salt, pl, pid)[:16], c)
        # Tables of other areas keyed by a post or a sample (review decisions, extraction logs ...).
        _sweep_other_tables(store, sids, c)
        c.update(_scrub_logs(store, posts))
        if author:
            handles = {normalize_handle(author)} | {normalize_handle(p["author"]) for p in posts if p["author"]}
            c.update(_scrub_mentions(store, sorted(h for h in handles if len(h) >= 2)))
        kept_paths = {r["p"] for r in store.query(
            "SELECT path AS p FROM media WHERE path IS NOT NULL UNION SELECT thumb_path FROM media WHERE thumb_path IS NOT NULL")}
        store.upsert("takedowns", [{
            "key_hash": k, "kind": kind, "removed_samples": [pseudo.sample_hash(s) for s in sids],
            "removed_counts": {t: n for t, n in sorted(c.items())}, "reason": reason,
            "requested_at": dt.datetime.now(dt.UTC)} for k, kind in keys],
            update=["removed_samples", "removed_counts", "reason"])
        store.execute("DROP TABLE IF EXISTS _forget_posts")
    res.keys_recorded = len(keys)
    # Files go after the commit: a failed transaction must not leave rows pointing at deleted files.
    for f in files if delete_files else []:
        for rel in (f["path"], f["thumb_path"]):
            if rel and rel not in kept_paths:
                p = media_dir / rel
                if p.is_file():
                    p.unlink()
                    c["media_files"] += 1
    return res


LINK_COLUMNS = ("parent_id", "root_id", "quoted_id", "anchor_post_id")
# handled explicitly above, or must survive (the takedown record itself)
_SWEEP_SKIP = {"posts", "post_media", "relevance", "feedback", "samples", "image_roles", "clusters", "duplicates",
               "media", "embeddings", "takedowns", "llm_cache", "llm_failures", "crawl_errors"}


def _columns(store: Store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in store.query(
            "SELECT c.table_name, c.column_name FROM duckdb_columns() c JOIN duckdb_tables() t "
            "ON t.database_name = c.database_name AND t.schema_name = c.schema_name AND t.table_name = c.table_name "
            "WHERE c.database_name = current_database() AND c.schema_name = 'main'"):  # base tables, not views
        out.setdefault(r["table_name"], set()).add(r["column_name"])
    return out


def _replace_links(store: Store, platform: str, post_id: str, stand_in: str, c: collections.Counter) -> None:
    """Point every reference to a forgotten post (link columns, and the id inside other posts' raw JSON)
    at a salted stand-in, so trees keep their shape and nothing names the post."""
    for table, cols in _columns(store).items():
        if table == "takedowns" or "platform" not in cols:
            continue
        for col in LINK_COLUMNS:
            if col in cols:
                n = int(store.scalar(f'SELECT count(*) FROM "{table}" WHERE platform = ? AND "{col}" = ?',
                                     [platform, post_id]) or 0)
                if n:
                    store.execute(f'UPDATE "{table}" SET "{col}" = ? WHERE platform = ? AND "{col}" = ?',
                                  [stand_in, platform, post_id])
                    c["links_replaced"] += n
    if len(post_id) >= 6:  # short ids would match unrelated numbers
        n = int(store.scalar("SELECT count(*) FROM posts WHERE platform = ? AND contains(raw::VARCHAR, ?)",
                             [platform, post_id]) or 0)
        if n:
            store.execute("UPDATE posts SET raw = replace(raw::VARCHAR, ?, ?)::JSON "
                          "WHERE platform = ? AND contains(raw::VARCHAR, ?)", [post_id, stand_in, platform, post_id])
            c["raw_ids_replaced"] += n


def _sweep_other_tables(store: Store, sids: list[str], c: collections.Counter) -> None:
    for table, cols in _columns(store).items():
        if table in _SWEEP_SKIP or table.startswith("_"):
            continue
        if {"platform", "post_id"} <= cols:
            c[table] += store.delete(table, "(platform, post_id) IN (SELECT platform, post_id FROM _forget_posts)")
        if "sample_id" in cols and sids:
            c[table] += store.delete(table, "sample_id IN (SELECT unnest(?::VARCHAR[]))", [sids])


MENTION_STAND_IN = "@removed"


def _scrub_mentions(store: Store, handles: list[str]) -> collections.Counter:
    """Other people's posts and prompts that @-mention a forgotten author name a stand-in instead; their raw payload
    (mention entities carry the handle) is dropped, as for posts that quote a forgotten one."""
    c: collections.Counter = collections.Counter()
    for h in handles:
        # RE2 has no look-ahead: the character after the handle is captured and put back
        pattern = "@" + re.escape(h) + r"([^A-Za-z0-9_.@\-]|$)"
        for table, col in (("posts", "text"), ("samples", "prompt"), ("samples", "prompt_fill_blank")):
            where = f"regexp_matches({col}, ?, 'i')"
            n = int(store.scalar(f"SELECT count(*) FROM {table} WHERE {where}", [pattern]) or 0)
            if n:
                store.execute(f"UPDATE {table} SET {col} = regexp_replace({col}, ?, ?, 'gi') WHERE {where}",
                              [pattern, MENTION_STAND_IN + r"\1", pattern])
                c[f"{table}_mentions_replaced"] += n
        needles = [f'"{h}"', f"@{h}"]
        where = ("EXISTS (SELECT 1 FROM (SELECT unnest(?::VARCHAR[]) AS n) "
                 "WHERE contains(lower(coalesce(raw::VARCHAR, '')), n))")
        c["posts_raw_scrubbed"] += int(store.scalar(f"SELECT count(*) FROM posts WHERE {where}", [needles]) or 0)
        store.execute(f"UPDATE posts SET raw = NULL WHERE {where}", [needles])
    return c


def _repair_duplicate_groups(store: Store, sids: list[str], counts: collections.Counter) -> None:
    """Drop the removed samples from their groups; a group that lost its canonical gets the smallest remaining id."""
    groups = store.query(
        "SELECT DISTINCT group_id FROM duplicates WHERE is_canonical AND sample_id IN (SELECT unnest(?::VARCHAR[]))",
        [sids])
    counts["duplicates"] += store.delete("duplicates", "sample_id IN (SELECT unnest(?::VARCHAR[]))", [sids])
    for g in groups:
        new = store.scalar("SELECT min(sample_id) FROM duplicates WHERE group_id = ?", [g["group_id"]])
        if new is not None:
            store.execute("UPDATE duplicates SET canonical_sample_id = ?, is_canonical = (sample_id = ?), "
                          "method = CASE WHEN sample_id = ? THEN NULL ELSE method END WHERE group_id = ?",
                          [new, new, new, g["group_id"]])


def _scrub_logs(store: Store, posts: list[dict]) -> collections.Counter:
    """Cached LLM answers, failures and crawl errors that quote the post's text or URL, or carry its id."""
    c: collections.Counter = collections.Counter()
    content, ids = [], []
    for p in posts:
        if p["text"] and len(p["text"].strip()) >= 20:
            content.append(p["text"].strip()[:200])
        if p["url"]:
            content.append(p["url"])
        if p["post_id"] and len(p["post_id"]) >= 6:  # short ids would match unrelated numbers
            ids.append(p["post_id"])
    # also as they appear quoted inside JSON text
    content = sorted({v for n in content for v in (n, json.dumps(n, ensure_ascii=False)[1:-1], json.dumps(n)[1:-1])})
    needles = content + ids
    if not needles:
        return c
    if content:
        # Other people's posts that quote it (a quote's raw payload embeds the quoted post) lose their raw copy;
        # bare ids (a reply's parent id) are kept.
        match = ("EXISTS (SELECT 1 FROM (SELECT unnest(?::VARCHAR[]) AS n) "
                 "WHERE contains(coalesce(raw::VARCHAR, ''), n))")
        c["posts_raw_scrubbed"] += int(store.scalar(f"SELECT count(*) FROM posts WHERE {match}", [content]) or 0)
        store.execute(f"UPDATE posts SET raw = NULL WHERE {match}", [content])
    for table, cols in (("llm_cache", ["response::VARCHAR"]), ("llm_failures", ["item_key", "raw_answer", "error"]),
                        ("crawl_errors", ["raw", "message"])):
        if not _table_exists(store, table):
            continue
        cond = " OR ".join(f"contains(coalesce({col}, ''), n)" for col in cols)
        where = f"EXISTS (SELECT 1 FROM (SELECT unnest(?::VARCHAR[]) AS n) WHERE {cond})"
        c[table] += store.delete(table, where, [needles])
    return c
