"""Score the relevance (1-5) of every root that passed the cheap filters and that no judge has decided yet.

Reads: posts, post_media, relevance. Writes: relevance rows with judge 'llm', llm_usage, llm_failures,
llm_cache (LLM backend). Done: a root has an 'llm' row for this model and prompt version, or a 'prefilter' row.
Replies are judged with their root (the tree is what is kept or dropped), which saves a call per reply; the
root is shown with the post it quotes and the first replies and quotes of its thread (llm.relevance_thread_posts),
so a post that names no model is kept when what is around it is clearly about the target model.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

from echo import schema
from echo.llm.accounting import record_outcome
from echo.llm.backend import ImageView, PostView, RelevanceItem
from echo.progress import track
from echo.records import Post, Relevance, post_columns
from echo.run import RunContext, StageStats, batches

POSTS_PER_BATCH = 256  # posts per backend call batch: bounds memory, lets progress show, keeps work committed


def post_view(p: Post, image_ids: Sequence[str] = ()) -> PostView:
    return PostView(post_id=p.post_id, author=p.author, text=p.text or "", image_ids=tuple(image_ids),
                    parent_id=p.parent_id, quoted_id=p.quoted_id,
                    created_at=p.created_at.isoformat() if p.created_at else None)


def pending_relevance(ctx: RunContext, model: str, prompt_version: str) -> list[tuple[str, str]]:
    """(platform, post_id) of the roots whose cheap filter passed, with no prefilter decision and no llm row for
    this model+version. Keys only: a first run over a million posts reads the posts a batch at a time."""
    rows = ctx.store.query("""
        SELECT p.platform, p.post_id FROM posts p
        JOIN relevance c ON c.platform = p.platform AND c.post_id = p.post_id AND c.judge = 'cheap' AND c.passed
        WHERE (p.root_id IS NULL OR p.root_id = p.post_id)
          AND NOT EXISTS (SELECT 1 FROM relevance f WHERE f.platform = p.platform AND f.post_id = p.post_id
                          AND f.judge = 'prefilter')
          AND NOT EXISTS (SELECT 1 FROM relevance l WHERE l.platform = p.platform AND l.post_id = p.post_id
                          AND l.judge = 'llm' AND l.model = ? AND l.prompt_version = ?)
        ORDER BY p.platform, p.created_at, p.post_id""", [model, prompt_version])
    return [(r["platform"], r["post_id"]) for r in rows]


def load_posts(ctx: RunContext, keys: Sequence[tuple[str, str]]) -> list[Post]:
    """The posts of `keys`, in their order."""
    rows = ctx.store.query(f"""
        SELECT {post_columns("p")}, k.i FROM posts p
        JOIN (SELECT unnest(?::VARCHAR[]) AS platform, unnest(?::VARCHAR[]) AS post_id,
                     unnest(range(?)) AS i) k ON p.platform = k.platform AND p.post_id = k.post_id
        ORDER BY k.i""", [[k[0] for k in keys], [k[1] for k in keys], len(keys)])
    return [Post(**{c: v for c, v in r.items() if c != "i"}) for r in rows]


def _post_images(ctx: RunContext, posts: Sequence[Post]) -> dict[tuple[str, str], list[ImageView]]:
    if not posts:
        return {}
    rows = ctx.store.query("""
        SELECT m.platform, m.post_id, m.url, m.position, m.alt_text FROM post_media m
        JOIN (SELECT unnest(?::VARCHAR[]) AS platform, unnest(?::VARCHAR[]) AS post_id) k
          ON m.platform = k.platform AND m.post_id = k.post_id
        ORDER BY m.position""", [[p.platform for p in posts], [p.post_id for p in posts]])
    out: dict[tuple[str, str], list[ImageView]] = collections.defaultdict(list)
    for r in rows:
        out[(r["platform"], r["post_id"])].append(
            ImageView(image_id=r["url"], post_id=r["post_id"], position=r["position"], alt_text=r["alt_text"]))
    return out


def _thread_posts(ctx: RunContext, roots: Sequence[Post], limit: int) -> dict[tuple[str, str], list[PostView]]:
    """The first `limit` replies (any depth) and quotes of each root's thread, in time order."""
    if not roots or limit <= 0:
        return {}
    cols = post_columns("p")
    rows = ctx.store.query(f"""
        WITH roots AS (SELECT unnest(?::VARCHAR[]) AS platform, unnest(?::VARCHAR[]) AS root_id),
        around AS (
            SELECT r.root_id AS thread_of, {cols} FROM posts p JOIN roots r
              ON p.platform = r.platform AND p.root_id = r.root_id AND p.post_id <> r.root_id
            UNION ALL
            SELECT r.root_id AS thread_of, {cols} FROM posts p JOIN roots r
              ON p.platform = r.platform AND p.quoted_id = r.root_id
        )
        SELECT * FROM around
        QUALIFY row_number() OVER (PARTITION BY platform, thread_of ORDER BY created_at NULLS LAST, post_id) <= ?
        ORDER BY platform, thread_of, created_at NULLS LAST, post_id""",
        [[p.platform for p in roots], [p.post_id for p in roots], limit])
    out: dict[tuple[str, str], list[PostView]] = collections.defaultdict(list)
    for r in rows:
        thread_of = r.pop("thread_of")
        out[(r["platform"], thread_of)].append(post_view(Post(**r)))
    return out


def _quoted_posts(ctx: RunContext, posts: Sequence[Post]) -> dict[tuple[str, str], PostView]:
    """The post each of `posts` quotes (a quote-post often only says "this!" about the picture it quotes)."""
    quoting = [p for p in posts if p.quoted_id]
    if not quoting:
        return {}
    cols = post_columns("q")
    rows = ctx.store.query(f"""
        SELECT {cols} FROM posts q
        JOIN (SELECT unnest(?::VARCHAR[]) AS platform, unnest(?::VARCHAR[]) AS post_id) k
          ON q.platform = k.platform AND q.post_id = k.post_id""",
        [[p.platform for p in quoting], [p.quoted_id for p in quoting]])
    return {(r["platform"], r["post_id"]): post_view(Post(**r)) for r in rows}


def run(ctx: RunContext, stats: StageStats) -> None:
    backend = ctx.resources.backend
    backend.set_deadline(ctx.config.llm.stage_deadline_s)
    model, version = backend.model_for("relevance"), backend.versions()["relevance"]
    threshold = ctx.config.filter.relevance_threshold
    keys = pending_relevance(ctx, model, version)
    stats["pending"] += len(keys)
    for some_keys in track(list(batches(keys, POSTS_PER_BATCH)), "relevance", enabled=ctx.progress):
        chunk = load_posts(ctx, some_keys)
        images = _post_images(ctx, chunk)
        threads = _thread_posts(ctx, chunk, ctx.config.llm.relevance_thread_posts)
        quoted = _quoted_posts(ctx, chunk)
        items = [RelevanceItem(key=f"{p.platform}:{p.post_id}", platform=p.platform,
                               post=post_view(p, [im.image_id for im in images.get((p.platform, p.post_id), [])]),
                               images=tuple(images.get((p.platform, p.post_id), ())),
                               context=tuple(q for q in [quoted.get((p.platform, p.quoted_id or ""))] if q),
                               thread=tuple(threads.get((p.platform, p.post_id), ())))
                 for p in chunk]
        out = backend.relevance(items, target_model=ctx.config.filter.target_model)
        rows = []
        for it, p in zip(items, chunk):
            doc = out.results.get(it.key)
            if doc is None:
                continue  # a failure: recorded, and asked again next run
            schema.validate("llm/relevance", doc)
            passed = doc["score"] >= threshold
            stats["passed" if passed else "dropped"] += 1
            stats[f"score_{doc['score']}"] += 1
            rows.append(Relevance(platform=p.platform, post_id=p.post_id, judge="llm", score=doc["score"],
                                  passed=passed, reason=doc["reason"], model=model, prompt_version=version,
                                  run_id=ctx.run_id))
        ctx.store.upsert("relevance", rows)
        stats["scored"] += len(rows)
        for problem in record_outcome(ctx.store, ctx.run_id, ctx.resources.llm_usage, out, stats):
            ctx.degrade("relevance", problem)


