"""Builders shared by the LLM tests: posts, images and media rows inserted straight into a store."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from PIL import Image

from echo import pipeline
from echo.records import Media, Post, PostMedia, Relevance

T0 = dt.datetime(2025, 3, 26, 12, 0, tzinfo=dt.UTC)


def post(pid: str, text: str, author: str = "alice", *, root: str | None = None, parent: str | None = None,
         quoted: str | None = None, minutes: int = 0, platform: str = "x") -> Post:
    return Post(platform=platform, post_id=pid, author=author, text=text, root_id=root or pid, parent_id=parent,
                quoted_id=quoted, created_at=T0 + dt.timedelta(minutes=minutes))


def image(media_dir: Path, name: str, color: tuple[int, int, int], size=(64, 48)) -> tuple[str, Media]:
    """A real image file in the media store and its media row (status ok)."""
    media_dir.mkdir(parents=True, exist_ok=True)
    path = media_dir / f"{name}.png"
    Image.new("RGB", size, color).save(path)
    data = path.read_bytes()
    url = f"https://img.example/{name}.png"
    return url, Media(url=url, status="ok", sha256=hashlib.sha256(data).hexdigest(), path=path.name,
                      content_type="image/png", format="PNG", size_bytes=len(data), width=size[0], height=size[1])


def add(store, posts=(), media=(), links=(), cheap_pass=True) -> None:
    """Store posts, media rows and post_media links [(post_id, url, position, alt)]; cheap filter passes roots."""
    store.upsert("posts", list(posts))
    if media:
        store.upsert("media", list(media))
    if links:
        store.upsert("post_media", [PostMedia(platform="x", post_id=p, url=u, position=n, alt_text=alt)
                                    for p, u, n, alt in links])
    if cheap_pass:
        store.upsert("relevance", [Relevance(platform=p.platform, post_id=p.post_id, judge="cheap", passed=True,
                                             reason="keyword", model="rules:cheap.v1", prompt_version="cheap.v1")
                                   for p in posts])


def llm_ctx(config, store, base_url: str):
    config.llm.base_url = base_url
    config.llm.backoff_base_s = 0.05
    return pipeline.start_run(config, store)


# --- a whole corpus through the LLM path (the oracle's end-to-end test and bench/oracle_eval.py) -------------

ROOT = Path(__file__).resolve().parent.parent
LLM_PATH = ("crawl", "filter", "relevance", "media", "extract")


def corpus_config(corpus: Path, workdir: Path, base_url: str):
    """echo.toml with the import source reading `corpus`, its media URLs mapped to corpus/media, every output
    under workdir, and the LLM endpoint given as ECHO_LLM_BASE_URL (as a user would)."""
    import json

    from echo.config import load_config

    config = load_config(ROOT / "echo.toml", env={"ECHO_LLM_BASE_URL": base_url})
    config.base_dir = str(workdir)
    for name in ("db", "media_dir", "parquet_dir", "releases_dir", "exports_dir", "reports_dir", "analyst_dir"):
        setattr(config.paths, name, str(workdir / Path(getattr(config.paths, name)).relative_to("data")))
    config.paths.data_dir = str(workdir)
    config.paths.samples_dir = str(corpus)
    for s in config.sources:
        if s.kind == "import":
            s.paths = [str(corpus)]
    prefix = json.loads((corpus / "answers.json").read_text(encoding="utf-8")).get("media_url_prefix")
    config.media.url_map = {prefix: str(corpus / "media") + "/"} if prefix else {}
    config.llm.backoff_base_s = 0.05
    return config


def run_llm_path(config, store, stages=LLM_PATH):
    """crawl (import) .. extract over the configured corpus; returns the run context."""
    return pipeline.refresh(config, store, only=list(stages))
