"""A forgotten post or author never comes back through an import or a crawl."""

from __future__ import annotations

from pathlib import Path

from echo.release.forget import forget
from echo.sources.importer import discover, import_files
from echo.takedowns import takedown_filter
from echo.store import Store

ROOT = Path(__file__).resolve().parent.parent


def _import(store, config, folder):
    files = discover([folder], None)
    return import_files(store, files, source="samples", taken_down=takedown_filter(store, config))


def test_reimport_skips_forgotten_post_and_author(config, sample_corpus_dir):
    folder = sample_corpus_dir / "bluesky"
    with Store(config.path("db")) as store:
        _import(store, config, folder)
        before = store.count("posts")
        victim = store.query("SELECT platform, post_id, author FROM posts WHERE parent_id IS NOT NULL "
                             "ORDER BY post_id LIMIT 1")[0]
        author_posts = store.scalar("SELECT count(*) FROM posts WHERE author = ?", [victim["author"]])
        forget(store, config, author=victim["author"])
        assert store.scalar("SELECT count(*) FROM posts WHERE author = ?", [victim["author"]]) == 0

        results = _import(store, config, folder)  # the same files again: the author must not come back
        assert sum(r.taken_down for r in results) == author_posts
        assert store.scalar("SELECT count(*) FROM posts WHERE author = ?", [victim["author"]]) == 0
        assert store.scalar("SELECT count(*) FROM posts WHERE post_id = ?", [victim["post_id"]]) == 0
        assert store.count("posts") == before - author_posts
