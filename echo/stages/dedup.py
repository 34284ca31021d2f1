"""Group duplicate samples: exact prompt hash, near-duplicate prompt embeddings, similar output images.

Reads: samples, posts (engagement, dates), media (pHashes), embeddings. Writes: duplicates (one row per
non-trash sample: its group, the canonical, and why it was dropped), and <data_dir>/dedup-knn.npz, the exact
k-NN graph of the prompts, which the next run updates instead of recomputing (echo.dedup.knn_cache). Done: every sample's row carries the
hash of this input and settings; an unchanged input skips the stage. See echo.dedup.duplicates for the rules.
"""

from __future__ import annotations

import hashlib
import json

from echo.config import DedupSettings
from echo.dedup.duplicates import DedupItem, find_duplicates
from echo.dedup.embed import SAMPLE_TEXT_SQL, cached_hashes, embed_texts, load_vectors
from echo.dedup.images import parse_phash
from echo.dedup.knn_cache import GraphFile, graph_path, row_key
from echo.dedup.normalize import embedding_key, prompt_hash
from echo.run import KnnHandoff, RunContext, StageStats


def load_items(store) -> list[DedupItem]:
    rows = store.query(f"""
        SELECT s.sample_id, {SAMPLE_TEXT_SQL} AS prompt, nullif(trim(s.prompt), '') IS NULL AS is_template,
               s.quality, s.task, s.input_media, s.output_media,
               coalesce(len(s.evidence_post_ids), 0) AS evidence_posts,
               coalesce(p.like_count, 0) + coalesce(p.repost_count, 0) AS engagement,
               coalesce(p.created_at, s.created_at) AS created_at
        FROM samples s
        LEFT JOIN posts p ON p.platform = s.platform AND p.post_id = s.anchor_post_id
        WHERE s.quality <> 'trash'
        ORDER BY s.sample_id""")
    phash = {r["url"]: parse_phash(r["phash"]) for r in store.query(
        "SELECT url, phash FROM media WHERE status = 'ok' AND phash IS NOT NULL")}
    items = []
    for r in rows:
        items.append(DedupItem(
            sample_id=r["sample_id"], prompt=r["prompt"], quality=r["quality"], task=r["task"],
            evidence_posts=int(r["evidence_posts"]), has_input=bool(r["input_media"]),
            has_output=bool(r["output_media"]), engagement=int(r["engagement"]), created_at=r["created_at"],
            output_phashes=[h for u in (r["output_media"] or []) if (h := phash.get(u)) is not None],
            input_phashes=[h for u in (r["input_media"] or []) if (h := phash.get(u)) is not None],
            is_template=bool(r["is_template"]),
        ))
    return items


def input_hash(items: list[DedupItem], text_hashes: list[str | None], cfg: DedupSettings, model: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"dedup": cfg.__dict__, "model": model, "v": 2}, sort_keys=True, default=str).encode())
    for it, th in zip(items, text_hashes):
        h.update(json.dumps([it.sample_id, prompt_hash(it.prompt), th, it.quality, it.task, it.evidence_posts,
                             it.has_input, it.has_output, it.engagement, str(it.created_at),
                             it.output_phashes, it.input_phashes, it.is_template], default=str).encode())
    return h.hexdigest()[:24]


def run(ctx: RunContext, stats: StageStats) -> None:
    store, cfg = ctx.store, ctx.config.dedup
    items = load_items(store)
    stats["samples"] += len(items)
    text_rows = [i for i, it in enumerate(items) if it.prompt and it.prompt.strip()]
    hashes: list[str | None] = [None] * len(items)
    for i in text_rows:
        hashes[i] = embedding_key(items[i].prompt)
    digest = input_hash(items, hashes, cfg, ctx.config.embed.cache_name)
    ids = [it.sample_id for it in items]
    current = store.scalar("SELECT count(*) FROM duplicates WHERE input_hash = ? "
                           "AND sample_id IN (SELECT unnest(?::VARCHAR[]))", [digest, ids])
    total = store.count("duplicates")
    if current == len(items) == total:
        stats["unchanged"] += 1
        return

    vectors = None
    if len(text_rows) >= 2:
        model = ctx.config.embed.cache_name
        need = [hashes[i] for i in text_rows]
        if len(cached_hashes(store, need, model)) < len(set(need)):  # embed stage skipped: embed now
            embed_texts(store, ctx.resources.embedder, [items[i].prompt for i in text_rows], stats=stats)
        vectors = load_vectors(store, need, model)
    graph_file = GraphFile(graph_path(ctx.config), [row_key(ids[i], hashes[i]) for i in text_rows],
                           ctx.config.embed.cache_name)
    result = find_duplicates(items, vectors, text_rows, cfg, random_state=ctx.config.cluster.random_state,
                             graph_file=graph_file)
    if result.knn:
        stats[f"knn_{result.knn}"] += 1
        stats["knn_rows_searched"] += result.knn_rows_searched
    if result.graph is not None:
        ctx.resources.knn = KnnHandoff(tuple(ids[i] for i in text_rows), result.graph)
    for m, n in result.pairs.items():
        stats[f"pairs_{m}"] += n
    for r in result.rows:
        r["run_id"] = ctx.run_id
        r["input_hash"] = digest
    with store.transaction():
        stale = (store.delete("duplicates", "sample_id NOT IN (SELECT unnest(?::VARCHAR[]))", [ids]) if ids
                 else store.delete("duplicates", "true"))
        store.upsert("duplicates", result.rows)
    stats["stale_removed"] += stale
    stats["groups"] += len({r["group_id"] for r in result.rows})
    stats["dropped"] += sum(1 for r in result.rows if not r["is_canonical"])
    stats["canonical"] += sum(1 for r in result.rows if r["is_canonical"])
